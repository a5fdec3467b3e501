import Foundation
@testable import NSAuditCore
import Testing

/// One finding per problem, said the short way, with an id that says what it is (issue 11,
/// items 2 and 3): grouping by (netns, address, ingress, kind), `sources_except`, and ids
/// that survive changes of sources, ifindexes and order but not of egress or gateway.
@Suite struct FindingIdentityTests {
    static func management(_ r: Report) throws -> Finding {
        let all = Lab.findings(r, address: "10.99.0.40", kinds: [.asymmetricReply]).filter { $0.ingress == "ens19" }
        #expect(all.count == 1, "one finding for the management address on ens19")
        return try #require(all.first)
    }

    @Test func oneFindingWithItsRoutesAsParts() throws {
        let f = try Self.management(Lab.report(try Lab.snapshot("mgmt-broken"), source: "t"))
        let parts = try #require(f.parts)
        #expect(parts.count == 2)
        #expect(parts[0].gateway == IPAddress("10.20.30.1") && parts[0].route == "default" && parts[0].severity == .warning)
        #expect(parts[0].sourcesExcept == [IPPrefix("10.20.30.0/24")!, IPPrefix("10.99.0.0/24")!])
        #expect(parts[1].gateway == nil && parts[1].route == "connected" && parts[1].severity == .info)
        #expect(parts.allSatisfy { $0.egress == "ens18" })
        #expect(f.sourcesExcept == [IPPrefix("10.99.0.0/24")!])
        #expect(f.sourcesTotal == f.sources.count && f.sources.count > 40)
        #expect(f.summary.contains("from every source except 10.99.0.0/24"))
        #expect(f.summary.contains("through ens18, not ens19: directly for 10.20.30.0/24, via 10.20.30.1 for the rest (table main, rule 32766)."))
    }

    /// A short set is listed, folded over addresses that are no one's client.
    @Test func shortSetsAreListed() throws {
        let r = Lab.report(try Lab.snapshot("mgmt-broken"), source: "t")
        let f = try #require(Lab.findings(r, address: "10.20.30.40", kinds: [.asymmetricReply]).first)
        #expect(f.sourcesExcept == nil)
        // The exact blocks in JSON (10.99.0.40 and the broadcast address are cut out) ...
        #expect(f.sources.count > 1 && f.sources.allSatisfy { IPPrefix("10.99.0.0/24")!.contains($0.address) })
        #expect(!f.sources.contains { $0.contains(IPAddress("10.99.0.40")!) })
        // ... and the sentence says the subnet.
        #expect(f.summary.contains("from 10.99.0.0/24 get"))
    }

    @Test func idsAreUniqueAndIgnoreSourceListsAndOrder() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        let r = Lab.report(snap, source: "t")
        #expect(Set(r.findings.map(\.id)).count == r.findings.count)
        let cut = Lab.report(snap, source: "t", options: .init(maxSources: 1))
        #expect(Set(cut.findings.map(\.id)) == Set(r.findings.map(\.id)))
        // A route back through ens19 for one network changes the sources, not the finding.
        var editor = SnapshotEditor(snap)
        try editor.apply(script: "ip -n nsarec-server route add 203.0.113.0/24 via 10.99.0.1 dev ens19")
        let more = Lab.report(editor.snapshot, source: "t")
        let before = try Self.management(r), after = try Self.management(more)
        #expect(after.id == before.id)
        #expect(after.sources != before.sources)
        #expect(after.sourceRanges?.contains(IPAddress("203.0.113.7")!) == false)
    }

    @Test func idsIgnoreIfindexes() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        var renumbered = snap
        let k = try #require(renumbered.namespaces.firstIndex { $0.id == "nsarec-server" })
        var ns = renumbered.namespaces[k]
        func move(_ i: Int32) -> Int32 { i == 1 ? 1 : i + 40 }
        for i in ns.links.indices {
            ns.links[i].index = move(ns.links[i].index)
            ns.links[i].master = ns.links[i].master.map(move)
        }
        for i in ns.addresses.indices { ns.addresses[i].index = move(ns.addresses[i].index) }
        for i in ns.routes.indices { ns.routes[i].oif = ns.routes[i].oif.map(move) }
        renumbered.namespaces[k] = ns
        let a = Lab.report(snap, source: "t").findings.filter { $0.netns == "nsarec-server" }
        let b = Lab.report(renumbered, source: "t").findings.filter { $0.netns == "nsarec-server" }
        #expect(!a.isEmpty)
        #expect(Set(a.map(\.id)) == Set(b.map(\.id)))
    }

    @Test func anotherGatewayIsAnotherFinding() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        var editor = SnapshotEditor(snap)
        try editor.apply(script: """
            ip -n nsarec-server route del default
            ip -n nsarec-server route add default via 10.20.30.2 dev ens18
            """)
        let before = try Self.management(Lab.report(snap, source: "t"))
        let after = try Self.management(Lab.report(editor.snapshot, source: "t"))
        #expect(after.gateway == IPAddress("10.20.30.2"))
        #expect(after.id != before.id)
    }
}

import Foundation
import Testing
@_spi(Testing) @testable import NSAuditCore

/// Addresses whose lookups never leave a few tables are analysed on a copy of the namespace
/// with only those tables (`tablesReached`): forced on every lab and on the 100 route-get
/// corpus namespaces (every rule kind, throw and reject routes, VRF-less and VRF), the
/// results are the ones of the analysis over every table.
@Suite struct ReducedTablesTests {
    static func compare(_ ns: NamespaceSnapshot, anyIngress: Bool, _ label: String) -> (compared: Int, reduced: Int) {
        let model = RoutingModel(ns)
        var forced = ReturnPathAnalysis.Options(anyIngress: anyIngress)
        forced.reduceAbove = 0
        var never = ReturnPathAnalysis.Options(anyIngress: anyIngress)
        never.reduceAbove = nil
        let analysis = ReturnPathAnalysis(ns, model: model, options: forced)
        let reduced = analysis.reducedAnalyses(analysis.auditedAddresses).done.count
        let a = analysis.run()
        let b = ReturnPathAnalysis(ns, model: model, options: never).run()
        func key(_ r: ReturnPathAnalysis.Result) -> String { "\(r.address.index)|\(r.address.local)|\(r.ingress)" }
        let byKey = Dictionary(b.map { (key($0), $0) }, uniquingKeysWith: { x, _ in x })
        #expect(a.count == b.count, "\(label)")
        for x in a {
            guard let y = byKey[key(x)] else { Issue.record("\(label): \(key(x)) only when reduced"); continue }
            #expect(x.symmetric == y.symmetric, "\(label) \(key(x))")
            #expect(Set(x.byVerdict.map(\.0)) == Set(y.byVerdict.map(\.0)), "\(label) \(key(x))")
            for (v, r) in y.byVerdict { #expect(x.byVerdict.first { $0.0 == v }?.1 == r, "\(label) \(key(x)) \(v)") }
        }
        return (a.count, reduced)
    }

    @Test(arguments: ReportGoldenTests.labs)
    func reducedTablesChangeNothingOnLabs(_ lab: String) throws {
        for ns in try Lab.snapshot(lab).namespaces where ns.status == .ok {
            for any in [false, true] { _ = Self.compare(ns, anyIngress: any, "\(lab) \(ns.id) any=\(any)") }
        }
    }

    @Test func reducedTablesChangeNothingOnTheRouteGetCorpus() throws {
        var compared = 0, reduced = 0
        for url in Repo.files(in: "fixtures/routeget/generated", ext: "json") where url.lastPathComponent.hasSuffix(".snapshot.json") {
            let snap = try SnapshotReader.decode(try Data(contentsOf: url), name: url.lastPathComponent)
            for ns in snap.namespaces where ns.status == .ok {
                let (c, r) = Self.compare(ns, anyIngress: false, url.lastPathComponent)
                compared += c; reduced += r
            }
        }
        // Not vacuous: the corpus has addresses caught by source rules into small tables.
        #expect(compared > 100)
        #expect(reduced > 10, "\(reduced) addresses analysed on reduced tables")
    }

    /// The source-routed management lab: the management address's lookups stop at its
    /// source rule, in table 100, and the local table before it.
    @Test func sourceRoutedManagementStopsAtItsRule() throws {
        let snap = try Lab.snapshot("mgmt-srcroute")
        var found = false
        for ns in snap.namespaces where ns.status == .ok {
            let facts = RouteFacts(ns.routes)
            for a in ns.addresses where a.family == .v4 && a.local.description == "10.99.0.40" {
                #expect(ns.tablesReached(by: a, facts: facts) == [Table.local, 100])
                found = true
            }
        }
        #expect(found)
    }
}

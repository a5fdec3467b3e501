import Foundation
import Testing
@_spi(Testing) @testable import NSAuditCore

/// Addresses that route alike share one classification (ReturnPathAnalysis.ResultKey): on
/// every recorded lab, with and without --any-ingress, sharing gives exactly what
/// classifying every address on its own gives.
@Suite struct AnalysisSharingTests {
    @Test(arguments: ReportGoldenTests.labs)
    func sharingChangesNothing(_ lab: String) throws {
        let snap = try Lab.snapshot(lab)
        var compared = 0
        for ns in snap.namespaces where ns.status == .ok {
            let model = RoutingModel(ns)
            for any in [false, true] {
                let shared = ReturnPathAnalysis(ns, model: model, options: .init(anyIngress: any)).run()
                var unshared = ReturnPathAnalysis.Options(anyIngress: any)
                unshared.shareResults = false
                let alone = ReturnPathAnalysis(ns, model: model, options: unshared).run()
                #expect(shared.count == alone.count)
                for (x, y) in zip(shared, alone) {
                    #expect(x.address == y.address && x.ingress == y.ingress)
                    #expect(x.symmetric == y.symmetric, "\(lab) \(ns.id) \(x.address.local) \(x.ingress)")
                    #expect(x.byVerdict.count == y.byVerdict.count)
                    for (a, b) in zip(x.byVerdict, y.byVerdict) {
                        #expect(a.0 == b.0 && a.1 == b.1, "\(lab) \(ns.id) \(x.address.local) \(x.ingress)")
                    }
                    compared += 1
                }
            }
        }
        #expect(compared > 0 || snap.namespaces.allSatisfy { $0.addresses.isEmpty })
    }

    /// The same on the 100 recorded route-get corpus namespaces (multipath, nexthop objects,
    /// every route type, rp_filter modes, policy rules of every kind), where reply verdicts
    /// are also reused per lookup decision: every range's verdict as one-by-one gives it.
    @Test func sharingChangesNothingOnTheRouteGetCorpus() throws {
        var compared = 0
        for url in Repo.files(in: "fixtures/routeget/generated", ext: "json") where url.lastPathComponent.hasSuffix(".snapshot.json") {
            let snap = try SnapshotReader.decode(try Data(contentsOf: url), name: url.lastPathComponent)
            for ns in snap.namespaces where ns.status == .ok {
                let model = RoutingModel(ns)
                let shared = ReturnPathAnalysis(ns, model: model).run()
                var unshared = ReturnPathAnalysis.Options()
                unshared.shareResults = false
                let alone = ReturnPathAnalysis(ns, model: model, options: unshared).run()
                #expect(shared.count == alone.count)
                for (x, y) in zip(shared, alone) {
                    #expect(x.address == y.address && x.ingress == y.ingress && x.symmetric == y.symmetric, "\(url.lastPathComponent) \(x.address.local)")
                    #expect(x.byVerdict.count == y.byVerdict.count, "\(url.lastPathComponent) \(x.address.local)")
                    for (a, b) in zip(x.byVerdict, y.byVerdict) { #expect(a.0 == b.0 && a.1 == b.1, "\(url.lastPathComponent) \(x.address.local) \(a.0)") }
                    compared += 1
                }
            }
        }
        #expect(compared > 100)
    }

    /// A big source space is analysed in chunks on every core: joined, the chunks give what
    /// one pass gives (forced here on the labs' small spaces, with chunk edges everywhere).
    @Test(arguments: ReportGoldenTests.labs)
    func chunksJoinToOnePass(_ lab: String) throws {
        let snap = try Lab.snapshot(lab)
        for ns in snap.namespaces where ns.status == .ok {
            let model = RoutingModel(ns)
            let one = ReturnPathAnalysis(ns, model: model).run()
            for n in [2, 3, 7] {
                var o = ReturnPathAnalysis.Options()
                o.chunks = n
                let split = ReturnPathAnalysis(ns, model: model, options: o).run()
                #expect(split.count == one.count)
                for (x, y) in zip(split, one) {
                    #expect(x.address == y.address && x.ingress == y.ingress && x.symmetric == y.symmetric)
                    #expect(Set(x.byVerdict.map(\.0)) == Set(y.byVerdict.map(\.0)), "\(lab) \(ns.id) \(n)")
                    for (v, r) in y.byVerdict { #expect(x.byVerdict.first { $0.0 == v }?.1 == r, "\(lab) \(ns.id) \(n) \(v)") }
                }
            }
        }
    }
}

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

/// Default-route coverage gathered per table as packed IPv4 spans is the one of the plain
/// union of each table's prefixes, on every lab and corpus namespace.
@Test func packedCoverageIsThePlainUnion() throws {
    var snaps = try ReportGoldenTests.labs.map { try Lab.snapshot($0) }
    for url in Repo.files(in: "fixtures/routeget/generated", ext: "json") where url.lastPathComponent.hasSuffix(".snapshot.json") {
        snaps.append(try SnapshotReader.decode(try Data(contentsOf: url), name: url.lastPathComponent))
    }
    var tables = 0
    for snap in snaps {
        for ns in snap.namespaces where ns.status == .ok {
            let a = ReturnPathAnalysis.Coverage(ns, .v4), b = ReturnPathAnalysis.Coverage(ns, .v4, packed: false)
            #expect(a.byTable == b.byTable, "\(ns.id)")
            tables += a.byTable.count
        }
    }
    #expect(tables > 100)
}

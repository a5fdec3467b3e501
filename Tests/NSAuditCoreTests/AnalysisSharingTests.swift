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

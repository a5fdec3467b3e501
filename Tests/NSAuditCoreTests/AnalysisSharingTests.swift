import Foundation
import Testing
@testable import NSAuditCore

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
                let alone = ReturnPathAnalysis(ns, model: model, options: .init(anyIngress: any, shareResults: false)).run()
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
}

import Foundation
@_spi(Testing) import NSAuditCore
import NSAuditLinux
import Testing

extension Live {
    /// Whether the kernel has the vrf driver (probed in a throwaway namespace of our own).
    static let hasVRF: Bool = {
        guard isRoot else { return false }
        let probe = LabNamespaces("vrf")
        guard let ns = try? probe.add("probe") else { return false }
        return (try? sh("ip -n \(ns) link add nsatvrf type vrf table 10")) != nil
    }()
}

/// The kernel self-check finds misses: on each lab, built live, the audit's samples (every
/// verdict class of every audited address and ingress, symmetric ones included) are asked of
/// the kernel and of the model. The honest model agrees everywhere; a model with a deliberate
/// fault is caught in every namespace that has an audited address, also in the namespaces
/// without any finding, where re-asking the findings alone cannot see it.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct SelfCheckLiveTests {
    static let returnPathKinds: Set<FindingKind> = [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit]

    @Test(arguments: ReportLiveTests.labs)
    func faultyModelIsCaught(_ lab: String) throws {
        try check(lab)
    }

    @Test(.enabled(if: Live.hasVRF, "the kernel has no vrf driver: fixtures/labs/mgmt-vrf.sh cannot be built"))
    func faultyModelIsCaughtOnTheVRFLab() throws {
        try check("mgmt-vrf")
    }

    func check(_ lab: String) throws {
        let built = try LabScript(lab)
        let snap = try Collector.collect(CollectOptions(netns: built.namespaces, includeRoot: false))
        let out = Audit(snap, options: .init(remediate: false)).run()
        let audited = Set(out.namespaces.filter { $0.addressesAudited > 0 }.map(\.name))
        let withFindings = Set(out.findings.filter { Self.returnPathKinds.contains($0.kind) }.map(\.netns))
        #expect(!audited.isEmpty)
        #expect(Set(out.samples.compactMap { s in snap.namespace(s.netns).map { $0.names.first ?? $0.id } }) == audited)

        // (a) The honest model: no mismatch, every return-path finding checked.
        let honest = SelfCheck.run(out.findings, samples: out.samples, snapshot: snap, models: out.models, ask: KernelRouteLookup.ask)
        let wrong = honest.filter { $0.kind == .modelMismatch }
        #expect(wrong.isEmpty, "\(lab): \(wrong.map { "\($0.netns): \($0.summary)" })")
        #expect(honest.filter { Self.returnPathKinds.contains($0.kind) }.allSatisfy { $0.kernelChecked })

        // (b) A faulty model: caught in every namespace with an audited address.
        for fault in SelfCheck.Fault.allCases {
            let found = SelfCheck.run(out.findings, samples: out.samples, snapshot: snap, models: out.models, fault: fault,
                                      ask: KernelRouteLookup.ask).filter { $0.kind == .modelMismatch }
            let caughtIn = Set(found.map(\.netns))
            #expect(caughtIn == audited, "\(lab) \(fault): missed in \(audited.subtracting(caughtIn).map(built.role).sorted())")
            #expect(found.allSatisfy { $0.severity == .error && $0.details?["check"] == (fault == .wrongReplyEgress ? "reply" : "request") },
                    "\(found.map(\.summary))")
            let keys = found.map { [$0.netns, $0.localAddress?.description ?? "", $0.ingress ?? "", $0.details?["check"] ?? ""] }
            #expect(Set(keys).count == keys.count, "\(lab) \(fault): one mismatch per namespace, address, ingress and check")

            // Re-asking only the findings' own flows (the check before the samples) misses the
            // fault wherever there is no finding; every lab has such namespaces.
            let findingsOnly = SelfCheck.run(out.findings, samples: [], snapshot: snap, models: out.models, fault: fault,
                                             ask: KernelRouteLookup.ask).filter { $0.kind == .modelMismatch }
            #expect(Set(findingsOnly.map(\.netns)).isSubset(of: withFindings))
        }
        #expect(!audited.subtracting(withFindings).isEmpty, "\(lab): every audited namespace has findings")
    }
}

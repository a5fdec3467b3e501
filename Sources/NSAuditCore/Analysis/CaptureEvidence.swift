/// Joins packet evidence with the report: every observed request/reply pair gets the model's
/// verdict (confirmed, model-mismatch, no-reply), every return-path finding learns whether
/// what it predicts was seen on the wire, and every disagreement becomes a `model-mismatch`
/// finding (nsaudit is wrong there, which the report must show prominently).
public enum CaptureEvidence {

    /// Updates `findings` in place and returns the per-flow verdicts for `observed_flows`.
    public static func apply(_ flows: [ObservedFlow], snapshot: Snapshot, to findings: inout [Finding]) -> [FlowConfirmation] {
        let verdicts = CaptureConfirmation.confirm(flows, snapshot: snapshot)
        for i in findings.indices where FindingKind.returnPath.contains(findings[i].kind) {
            let f = findings[i]
            guard let ing = f.ingress, let a = f.localAddress else { continue }
            let nsID = snapshot.namespace(f.netns)?.id ?? f.netns
            // The complete source set when the audit ran in this process (`sources` may list
            // only its first blocks), else the listed blocks.
            let ranges = f.sourceRanges
            let sources = ranges == nil ? f.sources : []
            let c = CaptureConfirmation.forFinding(verdicts, netns: nsID, ingress: ing, server: a) { client in
                ranges?.contains(client) ?? sources.contains { $0.contains(client) }
            }
            guard c.verdict != .unobserved else { continue }  // confirmed stays nil
            // An asymmetric reply is confirmed when the reply was seen leaving through the
            // predicted egress; a drop when its requests got no reply.
            let isDrop = f.kind == .rpFilterDrop || f.kind == .replyUnroutable
            findings[i].confirmed = c.confirmed ?? (isDrop ? c.flows.allSatisfy { $0.verdict == .noReply } : nil)
            findings[i].observed = c.observed
            if findings[i].confirmed == true, !findings[i].evidence.contains("capture") { findings[i].evidence.append("capture") }
        }
        for v in verdicts where v.verdict == .modelMismatch {
            var m = Finding(kind: .modelMismatch, severity: .error, netns: snapshot.namespace(v.netns)?.names.first ?? v.netns,
                            summary: "Seen on the wire, not predicted: \(v.detail). nsaudit's model is wrong here; please report it with the snapshot and capture.")
            m.localAddress = v.flow.server
            m.ingress = v.ingress
            m.egress = v.observedEgress.joined(separator: ",")
            m.sources = [IPPrefix(v.flow.client, v.flow.client.family.bitWidth)]
            m.evidence = ["capture", "model"]
            m.confirmed = false
            m.observed = ObservedSummary([v.flow])
            m.details = ["key": "\(v.flow.client)>\(v.flow.server)/\(v.ingress)", "predicted": v.predictedEgress?.joined(separator: ",") ?? v.predictedDrop ?? "unknown"]
            m.assignID()
            if !findings.contains(where: { $0.id == m.id }) { findings.append(m) }
        }
        return verdicts
    }
}

import Foundation
import Testing
@testable import NSAuditCore

/// Proposed fixes are checked by re-auditing an edited copy; IncrementalAudit does that
/// without rebuilding big tables. On every proposal of every lab it must give the findings
/// the full audit gives, also with every table counted as big (so the cut-down models are
/// what answers), and it must actually follow the edits rather than give up.
@Suite struct IncrementalAuditTests {
    struct Key: Hashable { var id: String; var severity: Severity }

    /// Compares incremental and full re-audits of every proposal for the namespace's
    /// findings; returns the kinds of fix the incremental audit followed.
    func compare(_ snap: Snapshot, _ ns: NamespaceSnapshot, _ label: String) -> (followed: [String], proposed: [String]) {
        let netns = ns.names.first ?? ns.id
        let base = ReturnPathAnalysis(ns).run()
        let findings = Audit.findings(ns, netns, base, routerFacing: snap.routerFacingInterfaces(ns))
        var followed: [String] = [], proposed: [String] = []
        for f in findings where f.severity >= .warning && (f.kind == .asymmetricReply || f.kind == .rpFilterDrop) {
            let plain = Remediator(snapshot: snap, ns: ns, options: .init())
            for (fix, _) in plain.candidates(for: f) {
                proposed.append(fix.kind)
                var editor = SnapshotEditor(snap, defaultNamespace: ns.id)
                do { try editor.apply(script: fix.commands.joined(separator: "\n")) } catch { continue }
                guard let after = editor.snapshot.namespace(ns.id) else { continue }
                let full = Set(plain.audit(ns.id, in: editor.snapshot).map { Key(id: $0.id, severity: $0.severity) })
                // The same edit applied without the namespace's routes (source-routing fixes).
                for big in [0, 4096] {
                    let r = Remediator(snapshot: snap, ns: ns, options: .init(), baseResults: base, incrementalBigTable: big)
                    if let x = r.appendingAudit(fix.edits) {
                        #expect(fix.kind == "source-routing")
                        if big == 0 { followed.append("appended " + fix.kind) }
                        #expect(Set(x.after.map { Key(id: $0.id, severity: $0.severity) }) == full, "\(label) appended \(fix.kind) big=\(big)")
                    }
                }
                for big in [0, 4096] {
                    let inc = IncrementalAudit(before: ns, baseResults: base, after: after, snapshot: editor.snapshot, bigTable: big)
                    guard let got = inc.findings(netns: netns) else { continue }
                    if big == 0 { followed.append(fix.kind) }
                    let mine = Set(got.map { Key(id: $0.id, severity: $0.severity) })
                    #expect(mine == full, "\(label) \(fix.kind) big=\(big): only incremental \(mine.subtracting(full).map(\.id)), only full \(full.subtracting(mine).map(\.id))")
                }
            }
        }
        return (followed, proposed)
    }

    @Test(arguments: ReportGoldenTests.labs)
    func sameFindingsAsTheFullAudit(_ lab: String) throws {
        let snap = try Lab.snapshot(lab)
        for ns in snap.namespaces where ns.status == .ok {
            let (followed, proposed) = compare(snap, ns, "\(lab) \(ns.id)")
            // It declines edits of a namespace that already has a VRF, and (IPv4) edits that
            // add the first policy rule (local and main stop sharing one trie), but follows
            // some of every lab's proposals.
            if !proposed.isEmpty && !ns.links.contains(where: \.isVRF) { #expect(!followed.isEmpty, "\(lab) \(ns.id): \(proposed)") }
        }
    }

    /// The same labs with one unrelated policy rule already in place: then every proposal is
    /// followed incrementally (each kind of fix is among them), and agrees with the full audit.
    @Test(arguments: ["mgmt-broken", "mgmt-rpfilter", "router-mgmt"])
    func withPolicyRulesEveryFixIsFollowed(_ lab: String) throws {
        var editor = SnapshotEditor(try Lab.snapshot(lab), defaultNamespace: "")
        let target = lab == "router-mgmt" ? "nsarec-router" : "nsarec-server"
        try editor.apply("ip -n \(target) rule add fwmark 0x7 lookup main priority 500")
        let snap = editor.snapshot
        let ns = try #require(snap.namespace(target))
        let (followed, proposed) = compare(snap, ns, "\(lab)+rule")
        #expect(followed.filter { !$0.hasPrefix("appended") } == proposed)
        #expect(followed.contains("appended source-routing"))
        #expect(Set(proposed) == (lab == "router-mgmt" ? ["source-routing"] : ["source-routing", "vrf", "namespace"]), "\(proposed)")
    }
}

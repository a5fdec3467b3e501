import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// Builds each lab live, runs `nsaudit report` on it (collection, analysis and the kernel
/// self-check), and requires the findings of the recorded fixture.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct ReportLiveTests {
    static let labs = ["mgmt-broken", "mgmt-rpfilter", "mgmt-rpfilter-vlan", "mgmt-netns", "mgmt-srcroute", "mgmt-storage", "router-mgmt", "docker-host", "router-ecmp"]

    struct Key: Hashable, CustomStringConvertible {
        var role, kind, address, ingress, egress, severity: String
        var description: String { "\(role) \(kind) \(address) in \(ingress) out \(egress) \(severity)" }
    }

    @Test(arguments: labs)
    func liveReportFindsWhatTheFixtureFinds(_ lab: String) throws {
        let built = try LabScript(lab)
        var args = ["report", "--format", "json", "--fail-on", "never"]
        for n in built.namespaces { args += ["--netns", n] }
        let (rc, out, err) = try Binary.run(args)
        #expect(rc == 0, "\(err)")
        let live = try JSONDecoder().decode(Report.self, from: Data(out.utf8))
        let golden = try JSONDecoder().decode(Report.self, from: Data(contentsOf: Binary.repo.appendingPathComponent("fixtures/reports/\(lab).json")))
        func keys(_ r: Report, _ role: (String) -> String) -> Set<Key> {
            Set(r.findings.filter { $0.kind != .collectionError }.map {
                Key(role: role($0.netns), kind: $0.kind.rawValue, address: $0.localAddress?.description ?? "", ingress: $0.ingress ?? "",
                    egress: $0.egress ?? "", severity: $0.severity.rawValue)
            })
        }
        let liveKeys = keys(live, built.role)
        let goldenKeys = keys(golden, { $0.hasPrefix("nsarec-") ? String($0.dropFirst(7)) : $0 })
        #expect(liveKeys == goldenKeys, "only live: \(liveKeys.subtracting(goldenKeys)); only fixture: \(goldenKeys.subtracting(liveKeys))")
        // The kernel agreed with the model on every finding it was asked about.
        #expect(live.summary.modelMismatches == 0, "\(live.findings.filter { $0.kind == .modelMismatch }.map(\.summary))")
        let returnPath = live.findings.filter { [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit].contains($0.kind) }
        #expect(returnPath.allSatisfy { $0.kernelChecked })
    }

    @Test func brokenLabExitsOneAndNamesTheManagementAddress() throws {
        let built = try LabScript("mgmt-broken")
        var args = ["report", "--format", "text"]
        for n in built.namespaces { args += ["--netns", n] }
        let (rc, out, _) = try Binary.run(args)
        #expect(rc == 1)
        #expect(out.contains("asymmetric-reply") && out.contains("10.99.0.40") && out.replacingOccurrences(of: "\n  ", with: " ").contains("through ens18, not ens19: directly for 10.20.30.0/24, via 10.20.30.1 for the rest"))
    }

    /// report --confirm: capture while real traffic flows between the lab's namespaces (the
    /// lab's own `check`: pings and TCP connects), then require the management finding to be
    /// confirmed on the wire: ingress ens19, egress ens18.
    @Test func confirmSeesTheAsymmetryOnTheWire() throws {
        let built = try LabScript("mgmt-broken")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-confirm-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let nsArgs = built.namespaces.map { "--netns \($0)" }.joined(separator: " ")
        let script = Binary.repo.appendingPathComponent("fixtures/labs/mgmt-broken.sh").path
        try Live.sh("""
            '\(Binary.url.path)' report --confirm 6s \(nsArgs) --format json --fail-on never -o '\(out.path)' 2>/dev/null &
            sleep 2; '\(script)' check '\(built.prefix)' >/dev/null 2>&1 || true; wait
            """)
        let r = try JSONDecoder().decode(Report.self, from: Data(contentsOf: out))
        let f = try #require(r.findings.first { $0.kind == .asymmetricReply && $0.localAddress?.description == "10.99.0.40" && $0.severity == .warning })
        #expect(f.confirmed == true)
        #expect(f.observed?.requestIngress == ["ens19"])
        #expect(f.observed?.replyEgress == ["ens18"])
        #expect(r.summary.modelMismatches == 0, "\(r.findings.filter { $0.kind == .modelMismatch }.map(\.summary))")
        #expect(!(r.observedFlows ?? []).isEmpty)
    }

    @Test func prometheusOutputIsWrittenAtomically() throws {
        let built = try LabScript("mgmt-netns")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-\(getpid()).prom")
        defer { try? FileManager.default.removeItem(at: file) }
        var args = ["report", "--format", "prometheus", "-o", file.path]
        for n in built.namespaces { args += ["--netns", n] }
        let (rc, out, err) = try Binary.run(args)
        #expect(rc == 0, "\(err)")
        #expect(out.isEmpty, "nothing on stdout when -o is given")
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.contains("nsaudit_namespaces_audited \(built.namespaces.count)"))
        #expect(text.contains("# TYPE nsaudit_findings gauge"))
    }
}

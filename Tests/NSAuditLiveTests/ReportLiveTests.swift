import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// The nsaudit binary built next to the test bundle.
enum Binary {
    static let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("nsaudit")
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs nsaudit with arguments; returns (exit code, stdout, stderr).
    static func run(_ args: [String]) throws -> (Int32, String, String) {
        let quoted = args.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        do {
            let stdout = try Live.sh("cd '\(repo.path)' && '\(url.path)' \(quoted) 2>'\(out.path)'; echo \"rc=$?\"")
            var lines = stdout.split(separator: "\n", omittingEmptySubsequences: false)
            while lines.last == "" { lines.removeLast() }
            let rc = Int32(lines.removeLast().dropFirst(3)) ?? -1
            let err = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            return (rc, lines.joined(separator: "\n"), err)
        }
    }
}

/// A lab from fixtures/labs, built under a unique prefix and torn down afterwards.
final class LabScript {
    let lab: String
    let prefix: String
    let namespaces: [String]
    private static let counter = LabNamespaces.Counter()

    init(_ lab: String) throws {
        self.lab = lab
        prefix = "nsat\(getpid())-\(LabScript.counter.next())-"
        let script = Binary.repo.appendingPathComponent("fixtures/labs/\(lab).sh").path
        do {
            try Live.sh("'\(script)' up '\(prefix)' >/dev/null")
        } catch {
            _ = try? Live.sh("'\(script)' down '\(prefix)' >/dev/null 2>&1")
            throw error
        }
        namespaces = try Live.sh("'\(script)' namespaces '\(prefix)'").split(separator: "\n").map(String.init)
    }

    func role(_ netns: String) -> String { netns.hasPrefix(prefix) ? String(netns.dropFirst(prefix.count)) : netns }

    deinit {
        let script = Binary.repo.appendingPathComponent("fixtures/labs/\(lab).sh").path
        _ = try? Live.sh("'\(script)' down '\(prefix)' >/dev/null 2>&1")
    }
}

/// Builds each lab live, runs `nsaudit report` on it (collection, analysis and the kernel
/// self-check), and requires the findings of the recorded fixture.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct ReportLiveTests {
    static let labs = ["mgmt-broken", "mgmt-rpfilter", "mgmt-rpfilter-vlan", "mgmt-netns", "mgmt-srcroute", "router-mgmt", "docker-host", "router-ecmp"]

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
        #expect(out.contains("asymmetric-reply") && out.contains("10.99.0.40") && out.contains("ens18 via 10.20.30.1"))
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

/// Command-line behaviour that needs no root: bad input gives one line and exit code 2.
@Suite struct CommandLineTests {
    func tempFile(_ content: String) throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-\(UUID().uuidString).json")
        try content.write(to: u, atomically: true, encoding: .utf8)
        return u
    }

    @Test func badSnapshotsExitTwoWithOneLine() throws {
        let full = try String(contentsOf: Binary.repo.appendingPathComponent("fixtures/snapshots/mgmt-broken.json"), encoding: .utf8)
        let cases: [(String, String)] = [
            (String(full.prefix(full.count / 3)), "truncated"),
            (#"{"schema": "nsaudit.snapshot/v9", "namespaces": []}"#, "schema"),
            ("not json at all", "not a JSON snapshot"),
        ]
        for (content, expected) in cases {
            let f = try tempFile(content)
            defer { try? FileManager.default.removeItem(at: f) }
            for cmd in [["report", "--snapshot", f.path], ["route-get", "--snapshot", f.path, "--netns", "x", "1.2.3.4"]] {
                let (rc, out, err) = try Binary.run(cmd)
                #expect(rc == 2, "\(cmd[0]) \(expected): \(err)")
                #expect(out.isEmpty)
                #expect(err.split(separator: "\n").count == 1 && err.contains(expected), "\(cmd[0]): \(err)")
            }
        }
        let (rc, _, err) = try Binary.run(["report", "--snapshot", "/nonexistent/snap.json"])
        #expect(rc == 2 && err.contains("/nonexistent/snap.json"))
    }

    @Test func exitCodesFollowFailOn() throws {
        let broken = Binary.repo.appendingPathComponent("fixtures/snapshots/mgmt-broken.json").path
        let fixed = Binary.repo.appendingPathComponent("fixtures/snapshots/mgmt-netns.json").path
        var st = stat()
        let nullWasDevice = stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR
        #expect(try Binary.run(["report", "--snapshot", broken, "-o", "/dev/null"]).0 == 1)
        #expect(try Binary.run(["report", "--snapshot", broken, "--fail-on", "error", "-o", "/dev/null"]).0 == 0)
        #expect(try Binary.run(["report", "--snapshot", broken, "--fail-on", "never", "-o", "/dev/null"]).0 == 0)
        #expect(try Binary.run(["report", "--snapshot", fixed, "-o", "/dev/null"]).0 == 0)
        #expect(try Binary.run(["report", "--snapshot", fixed, "--netns", "no-such-ns"]).0 == 2)
        #expect(try Binary.run(["report", "--snapshot", fixed, "--format", "yaml"]).0 == 2, "a usage error exits 2")
        // Writing to a device goes into the device: /dev/null must stay a device.
        if nullWasDevice {
            #expect(stat("/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR, "nsaudit -o /dev/null replaced the device")
        }
    }

    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: promtool != nil, "promtool is not installed (apt-get install prometheus; make test does)"),
          arguments: ["mgmt-broken", "router-ecmp", "mgmt-netns"])
    func prometheusMetricsPassPromtool(_ lab: String) throws {
        let snap = Binary.repo.appendingPathComponent("fixtures/snapshots/\(lab).json").path
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-\(UUID().uuidString).prom")
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, _, err) = try Binary.run(["report", "--snapshot", snap, "--format", "prometheus", "--fail-on", "never", "-o", file.path])
        #expect(rc == 0, "\(err)")
        let check = try Live.sh("\(Self.promtool!) check metrics < '\(file.path)' 2>&1; echo rc=$?")
        #expect(check.hasSuffix("rc=0\n"), "\(check)")
        #expect(try String(contentsOf: file, encoding: .utf8).contains("nsaudit_findings{netns="))
    }

    @Test func failedRunLeavesNoHalfWrittenFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("report.json")
        try "previous".write(to: target, atomically: true, encoding: .utf8)
        let bad = try tempFile("{")
        defer { try? FileManager.default.removeItem(at: bad) }
        let (rc, _, _) = try Binary.run(["report", "--snapshot", bad.path, "-o", target.path])
        #expect(rc == 2)
        #expect(try String(contentsOf: target, encoding: .utf8) == "previous")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["report.json"])
    }
}

import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

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

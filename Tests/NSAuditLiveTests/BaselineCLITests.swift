import Foundation
import Glibc
import NSAuditCore
import Testing

/// `report --baseline` and `--accept` on the command line, night after night, the baseline
/// being the output file itself (as the shipped units run it).
@Suite struct BaselineCLITests {
    static let snap = "fixtures/snapshots/physical-server.json"

    @Test func nightAfterNightWithTheOutputAsBaseline() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-baseline-\(getpid())-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        // First night: no baseline yet, every finding new: the warnings fail the run.
        var (rc, _, err) = try Binary.run(["report", "--snapshot", Self.snap, "--baseline", file, "-o", file])
        #expect(rc == 1 && err.contains("no baseline at \(file): every finding is new"), "\(err)")
        let first = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(first.findings.allSatisfy { $0.baselineState == .new })
        // Second night: nothing new, exit 0; --fail-on-all still counts them.
        (rc, _, err) = try Binary.run(["report", "--snapshot", Self.snap, "--baseline", file, "-o", file])
        #expect(rc == 0, "\(err)")
        let second = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: file)))
        #expect(second.findings.allSatisfy { $0.baselineState == .unchanged && $0.firstSeen == first.generatedAt })
        (rc, _, _) = try Binary.run(["report", "--snapshot", Self.snap, "--baseline", file, "--fail-on-all", "--format", "prometheus"])
        #expect(rc == 1)
    }

    @Test func badBaselineExitsTwoAndLeavesTheOutputAlone() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-badbase-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("last.json").path
        try "{\"schema\": \"nsaudit.report/v2\", \"findings\": 1}".write(toFile: file, atomically: true, encoding: .utf8)
        let (rc, out, err) = try Binary.run(["report", "--snapshot", Self.snap, "--baseline", file, "-o", file])
        #expect(rc == 2 && out.isEmpty)
        #expect(err.contains("--baseline \(file): a damaged report"), "\(err)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "{\"schema\": \"nsaudit.report/v2\", \"findings\": 1}")
    }

    @Test func acceptedFindingsDoNotFailTheRun() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-accept-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let accept = dir.appendingPathComponent("accept.yaml").path
        try "- netns: nsarec-server\n  kind: asymmetric-reply\n  ingress: ens19\n  reason: known\n".write(toFile: accept, atomically: true, encoding: .utf8)
        var (rc, out, err) = try Binary.run(["report", "--snapshot", Self.snap, "--accept", accept, "--format", "text"])
        #expect(rc == 0, "\(err)")
        #expect(out.contains("accepted nsarec-server asymmetric-reply:"))
        try "- netns: nsarec-server\n  reason: known\n  expires: 2001-01-01\n".write(toFile: accept, atomically: true, encoding: .utf8)
        (rc, out, err) = try Binary.run(["report", "--snapshot", Self.snap, "--accept", accept, "--format", "text"])
        #expect(rc == 1 && out.contains("its acceptance expired on 2001-01-01"), "\(err)")
        try "- netns: nsarec-server\n  reason: known\n  expires: soon\n".write(toFile: accept, atomically: true, encoding: .utf8)
        (rc, _, err) = try Binary.run(["report", "--snapshot", Self.snap, "--accept", accept])
        #expect(rc == 2 && err.contains("accept.yaml:3:12: expires \"soon\" is not a date"), "\(err)")
    }
}

import Foundation
import NSAuditCore
import Testing

/// `nsaudit diff` on the command line (no root needed): exit codes, --fail-on, bad input.
@Suite struct DiffCommandTests {
    static func fixture(_ path: String) -> String { Binary.repo.appendingPathComponent(path).path }
    static let broken = fixture("fixtures/snapshots/mgmt-broken.json")
    static let srcroute = fixture("fixtures/snapshots/mgmt-srcroute.json")
    static let rpfilter = fixture("fixtures/snapshots/mgmt-rpfilter.json")

    @Test func exitStatusSaysWhetherBehaviourChanged() throws {
        // Only resolved findings: 0.
        let (rc0, out0, err0) = try Binary.run(["diff", Self.broken, Self.srcroute])
        #expect(rc0 == 0 && err0.isEmpty, "\(err0)")
        #expect(out0.contains("  rule 32765 from 10.99.0.40 lookup 100 added\n"))
        // New findings (a warning and an info): 1, unless --fail-on is above them.
        #expect(try Binary.run(["diff", Self.broken, Self.rpfilter]).0 == 1)
        #expect(try Binary.run(["diff", "--fail-on", "warning", Self.broken, Self.rpfilter]).0 == 1)
        #expect(try Binary.run(["diff", "--fail-on", "error", Self.broken, Self.rpfilter]).0 == 0)
        #expect(try Binary.run(["diff", "--fail-on", "never", Self.broken, Self.rpfilter]).0 == 0)
        // The reverse direction: the drops are resolved, the asymmetry is new.
        #expect(try Binary.run(["diff", Self.rpfilter, Self.broken]).0 == 1)
        // The same file twice: nothing changed.
        let (rc, out, _) = try Binary.run(["diff", Self.broken, Self.broken])
        #expect(rc == 0 && out.contains("No change in behaviour or configuration."))
    }

    @Test func jsonGoesToStandardOutputOrAFile() throws {
        let (rc, out, _) = try Binary.run(["diff", "--json", Self.broken, Self.rpfilter])
        #expect(rc == 1)
        let o = try JSONSerialization.jsonObject(with: Data(out.utf8)) as! [String: Any]
        #expect(o["schema"] as? String == "nsaudit.diff/v1")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-diff-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc2, out2, _) = try Binary.run(["diff", "--json", "-o", file.path, Self.broken, Self.rpfilter])
        #expect(rc2 == 1 && out2.isEmpty)
        #expect(try String(contentsOf: file, encoding: .utf8) == out + "\n", "the same JSON (Binary.run drops the last newline)")
        // Reports work too, and a report against a snapshot.
        let report = Self.fixture("fixtures/reports/mgmt-rpfilter.json")
        #expect(try Binary.run(["diff", Self.fixture("fixtures/reports/mgmt-broken.json"), report]).0 == 1)
        let (rc3, out3, _) = try Binary.run(["diff", Self.broken, report])
        #expect(rc3 == 1 && out3.contains("note: configuration changes need two snapshots: NEW"))
    }

    @Test func badInputExitsTwoNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory
        func temp(_ content: String) throws -> String {
            let u = dir.appendingPathComponent("nsat-diff-\(UUID().uuidString).json")
            try content.write(to: u, atomically: true, encoding: .utf8)
            return u.path
        }
        let full = try String(contentsOfFile: Self.broken, encoding: .utf8)
        let cases = [
            (try temp(String(full.prefix(full.count / 2))), "truncated"),
            (try temp("[1, 2"), "truncated"),
            (try temp("hello"), "not JSON"),
            (try temp(#"{"schema": "something/v1"}"#), "neither"),
            ("/nonexistent/old.json", "/nonexistent/old.json"),
        ]
        defer { for (f, _) in cases where f.hasPrefix(dir.path) { try? FileManager.default.removeItem(atPath: f) } }
        for (file, expected) in cases {
            for args in [[file, Self.broken], [Self.broken, file]] {
                let (rc, out, err) = try Binary.run(["diff"] + args)
                #expect(rc == 2, "\(expected): \(err)")
                #expect(out.isEmpty)
                #expect(err.split(separator: "\n").count == 1 && err.contains(file) && err.contains(expected), "\(err)")
            }
        }
        // A failed run leaves an existing output file as it was.
        let keep = try temp("previous")
        defer { try? FileManager.default.removeItem(atPath: keep) }
        #expect(try Binary.run(["diff", "-o", keep, "/nonexistent/x.json", Self.broken]).0 == 2)
        #expect(try String(contentsOfFile: keep, encoding: .utf8) == "previous")
        // Usage errors.
        #expect(try Binary.run(["diff", Self.broken]).0 == 2)
        #expect(try Binary.run(["diff", "--fail-on", "sometimes", Self.broken, Self.broken]).0 == 2)
    }
}

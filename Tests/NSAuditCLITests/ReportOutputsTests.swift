import Foundation
@testable import NSAuditCLI
import NSAuditCore
import Testing

/// `report -o FORMAT:PATH`: how -o and --format combine, what is refused (exit 2), and that
/// one run writes every output from the same audit (the process's own entry point, run
/// in-process on a snapshot fixture).
@Suite struct ReportOutputsTests {
    static let broken = CLIParsingTests.broken

    func destinations(_ args: [String]) throws -> [ReportOutputOptions.Destination] {
        let command = try NSAudit.parseAsRoot(["report"] + args)
        return try #require(command as? ReportCommand).output.destinations()
    }

    /// The exit status and message of parsing `args` (nil: it parses).
    func refusal(_ args: [String]) -> Termination? {
        do { _ = try NSAudit.parseAsRoot(["report"] + args); return nil } catch { return Termination(for: error, columns: 200) }
    }

    /// A fresh directory, removed by the caller.
    func scratch() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nsaudit-outputs-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    typealias D = ReportOutputOptions.Destination

    @Test func combinations() throws {
        #expect(try destinations([]) == [D(format: .json, path: nil)])
        #expect(try destinations(["--format", "text"]) == [D(format: .text, path: nil)])
        #expect(try destinations(["-o", "r.json"]) == [D(format: .json, path: "r.json")])
        #expect(try destinations(["--format", "prometheus", "-o", "m.prom"]) == [D(format: .prometheus, path: "m.prom")])
        #expect(try destinations(["-o", "json:/var/lib/nsaudit/report.json", "-o", "prometheus:m.prom", "--output", "text:-"])
            == [D(format: .json, path: "/var/lib/nsaudit/report.json"), D(format: .prometheus, path: "m.prom"), D(format: .text, path: nil)])
        // A plain -o takes --format beside typed ones; "-" is standard output.
        #expect(try destinations(["--format", "text", "-o", "-", "-o", "json:r.json"]) == [D(format: .text, path: nil), D(format: .json, path: "r.json")])
        // A colon after a slash is part of a file name; ./ makes any name a path.
        #expect(try destinations(["-o", "out/a:b"]) == [D(format: .json, path: "out/a:b")])
        #expect(try destinations(["-o", "./xml:b"]) == [D(format: .json, path: "./xml:b")])
        #expect(try destinations(["-o", "json:a:b"]) == [D(format: .json, path: "a:b")])
    }

    @Test func badCombinationsExitTwo() {
        let cases: [([String], String)] = [
            (["-o", "xml:r.xml"], "unknown format \"xml\""),
            (["-o", "json:"], "no path after \"json:\""),
            (["-o", "a.json", "-o", "b.json"], "without a format is allowed once"),
            (["--format", "text", "-o", "json:r.json"], "--format only applies"),
            (["-o", "json:-", "-o", "text:-"], "standard output (-) is given more than once"),
            (["-o", "-", "-o", "text:-"], "standard output (-) is given more than once"),
            (["-o", "json:r", "-o", "prometheus:./r"], "names ./r twice"),
            (["-o", ""], "-o needs a path"),
        ]
        for (args, message) in cases {
            let end = refusal(args)
            #expect(end?.status == 2 && end?.toStandardOutput == false, "\(args)")
            #expect(end?.message.contains(message) == true, "\(args): \(end?.message ?? "parsed")")
        }
    }

    /// One run, three files: the JSON's finding ids are the text report's, the Prometheus
    /// counts are the JSON's findings counted by namespace, kind and severity, and all three
    /// carry the same run (its timestamp).
    @Test func everyOutputFromOneAudit() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let status = NSAudit.run(commandLine: ["nsaudit", "report", "--snapshot", Self.broken, "--fail-on", "never",
                                               "--lock", "\(dir)/lock", "-o", "json:\(dir)/r.json",
                                               "-o", "prometheus:\(dir)/r.prom", "-o", "text:\(dir)/r.txt", "--all"])
        #expect(status == 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/r.json"))) as? [String: Any])
        let findings = try #require(json["findings"] as? [[String: Any]])
        #expect(!findings.isEmpty, "the fixture has findings")
        let ids = findings.compactMap { $0["id"] as? String }
        #expect(ids.count == findings.count)

        let text = try String(contentsOfFile: "\(dir)/r.txt", encoding: .utf8)
        // Every finding's header line names its id (--all: info ones too).
        let textIDs = text.split(separator: "\n").flatMap { $0.split(separator: " ") }.compactMap { word -> String? in
            let p = word.split(separator: ":")
            guard p.count == 2, FindingKind(rawValue: String(p[0])) != nil, p[1].count == 16 else { return nil }
            return String(word)
        }
        #expect(textIDs.sorted() == ids.sorted())

        let prom = try String(contentsOfFile: "\(dir)/r.prom", encoding: .utf8)
        var promCounts: [String: Int] = [:]
        for line in prom.split(separator: "\n") where line.hasPrefix("nsaudit_findings{") {
            let parts = line.split(separator: " ")
            promCounts[String(parts[0].dropFirst("nsaudit_findings".count))] = Int(parts[1])
        }
        var jsonCounts: [String: Int] = [:]
        for f in findings {
            jsonCounts["{netns=\"\(f["netns"] as? String ?? "")\",kind=\"\(f["kind"] as? String ?? "")\",severity=\"\(f["severity"] as? String ?? "")\"}", default: 0] += 1
        }
        #expect(promCounts == jsonCounts)
        let generatedAt = try #require(json["generated_at"] as? String)
        let stamp = Int(try #require(ISO8601DateFormatter().date(from: generatedAt)).timeIntervalSince1970)
        #expect(prom.contains("nsaudit_last_run_timestamp_seconds \(stamp)\n"))
        #expect(json["generator"] as? String == NSAuditInfo.generator)
        // Only the outputs and the lock: no temporary file left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["lock", "r.json", "r.prom", "r.txt"])
    }

    /// An output that cannot be written fails the run before the audit, and changes no file.
    @Test func unwritableOutputChangesNothing() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("previous\n".utf8).write(to: URL(fileURLWithPath: "\(dir)/r.json"))
        let status = NSAudit.run(commandLine: ["nsaudit", "report", "--snapshot", Self.broken, "--fail-on", "never",
                                               "--lock", "\(dir)/lock", "-o", "json:\(dir)/r.json",
                                               "-o", "prometheus:\(dir)/missing/r.prom"])
        #expect(status == 2)
        #expect(try String(contentsOfFile: "\(dir)/r.json", encoding: .utf8) == "previous\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0 != "lock" } == ["r.json"])
    }
}

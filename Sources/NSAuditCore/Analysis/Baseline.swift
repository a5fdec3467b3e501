import FoundationEssentials

/// Memory across nights (`report --baseline FILE`): each finding of this report is new,
/// unchanged or updated against the previous report, keeps the date it was first seen, and
/// the previous report's findings that are gone are listed as resolved. Findings are the same
/// when their ids are (`Finding.assignID`: what the finding is about, not its details).
public enum Baseline {
    public struct FileError: Error, CustomStringConvertible {
        public var file: String
        public var problem: String
        public var description: String { "--baseline \(file): \(problem)" }
    }

    /// What a baseline file holds.
    public enum Contents: Sendable {
        case report(Report)
        /// A report of an older schema whose finding ids this version does not share: the run
        /// goes on as on a first night (every finding new), saying why.
        case olderSchema(String)
    }

    /// Reads a previous report; errors say what is wrong with the file.
    public static func decode(_ data: Data, name: String) throws -> Contents {
        struct Head: Decodable { var schema: String? }
        let head: Head
        do { head = try JSONDecoder().decode(Head.self, from: data) } catch {
            throw FileError(file: name, problem: "not a JSON object (\(describe(error))): give a report written by `nsaudit report --format json`")
        }
        guard let schema = head.schema, schema.hasPrefix("nsaudit.report/") else {
            throw FileError(file: name, problem: "not an nsaudit report (no \"schema\": \"\(Report.schemaVersion)\"): give a report written by `nsaudit report --format json`")
        }
        guard schema == Report.schemaVersion else { return .olderSchema(schema) }
        do { return .report(try JSONDecoder().decode(Report.self, from: data)) } catch {
            throw FileError(file: name, problem: "a damaged report: \(describe(error))")
        }
    }

    static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let k, let c): return "missing \"\(k.stringValue)\" at \(path(c))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(c.debugDescription) at \(path(c))"
        @unknown default: return "\(e)"
        }
    }

    /// Where in the report a decoding error is: `.findings[3].parts[0].severity`.
    static func path(_ c: DecodingError.Context) -> String {
        let p = c.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return p.isEmpty ? "top level" : p
    }

    /// Marks `report`'s findings against `baseline` (nil: there was none, every finding is
    /// new) and lists the resolved ones. `path` is what the report says it was compared with.
    public static func apply(_ baseline: Report?, path: String, to report: inout Report) {
        report.baseline = ReportBaseline(path: path, generatedAt: baseline?.generatedAt)
        let old = Dictionary((baseline?.findings ?? []).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for i in report.findings.indices {
            let f = report.findings[i]
            if let o = old[f.id] {
                report.findings[i].baselineState = sameDetails(f, o) ? .unchanged : .updated
                report.findings[i].firstSeen = o.firstSeen ?? baseline?.generatedAt
            } else {
                report.findings[i].baselineState = .new
                report.findings[i].firstSeen = report.generatedAt
            }
        }
        let now = Set(report.findings.map(\.id))
        report.resolved = (baseline?.findings ?? []).filter { !now.contains($0.id) }.map {
            ResolvedFinding(id: $0.id, kind: $0.kind, netns: $0.netns, summary: $0.summary, firstSeen: $0.firstSeen ?? baseline?.generatedAt)
        }
    }

    /// Same severity, sources, parts and fixes (what makes a finding "updated" otherwise).
    static func sameDetails(_ a: Finding, _ b: Finding) -> Bool {
        a.severity == b.severity && a.sources == b.sources && a.sourcesTotal == b.sourcesTotal && a.sourcesExcept == b.sourcesExcept
            && a.parts == b.parts && a.remediation.map(\.commands) == b.remediation.map(\.commands)
            && a.remediation.map(\.verified) == b.remediation.map(\.verified)
    }
}

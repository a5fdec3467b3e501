import Foundation
@testable import NSAuditCore
import Testing

/// Memory across nights (issue 11, item 3): --baseline marks findings new, unchanged or
/// updated, carries first_seen over and lists the resolved ones; with a baseline only new and
/// updated findings decide the exit status.
@Suite struct BaselineTests {
    static func night(_ lab: String, at time: String, baseline: Report?) throws -> Report {
        var snap = try Lab.snapshot(lab)
        snap.namespaces.removeAll { $0.id != "nsarec-server" }
        var r = Lab.report(snap, source: "t")
        r.generatedAt = time
        Baseline.apply(baseline, path: "last.json", to: &r)
        return r
    }

    @Test func firstNightEverythingIsNew() throws {
        let r = try Self.night("mgmt-broken", at: "2026-12-01T02:00:00Z", baseline: nil)
        #expect(r.findings.allSatisfy { $0.baselineState == .new && $0.firstSeen == "2026-12-01T02:00:00Z" })
        #expect(r.resolved == [])
        #expect(r.baseline == ReportBaseline(path: "last.json", generatedAt: nil))
        #expect(r.worstCounted() == .warning)
    }

    @Test func secondNightIsUnchangedAndDoesNotFail() throws {
        let first = try Self.night("mgmt-broken", at: "2026-12-01T02:00:00Z", baseline: nil)
        // Through the JSON, as the nightly run reads it back.
        let back = try JSONDecoder().decode(Report.self, from: Data(ReportRenderer.json(first).utf8))
        let second = try Self.night("mgmt-broken", at: "2026-12-02T02:00:00Z", baseline: back)
        #expect(second.findings.allSatisfy { $0.baselineState == .unchanged && $0.firstSeen == "2026-12-01T02:00:00Z" })
        #expect(second.resolved == [])
        #expect(second.worstCounted() == nil)
        #expect(second.worstCounted(all: true) == .warning)
        #expect(second.baseline?.generatedAt == "2026-12-01T02:00:00Z")
    }

    @Test func fixedServerResolvesTheFindings() throws {
        let broken = try Self.night("mgmt-broken", at: "2026-12-01T02:00:00Z", baseline: nil)
        let fixed = try Self.night("mgmt-srcroute", at: "2026-12-02T02:00:00Z", baseline: broken)
        let gone = Set(broken.findings.filter { $0.severity == .warning }.map(\.id))
        #expect(gone.count == 2)
        #expect(gone.isSubset(of: Set((fixed.resolved ?? []).map(\.id))))
        let r = try #require(fixed.resolved?.first { $0.id == broken.findings[0].id })
        #expect(r.firstSeen == "2026-12-01T02:00:00Z" && r.netns == "nsarec-server" && r.summary == broken.findings[0].summary)
        #expect(fixed.worstCounted() == nil)
    }

    @Test func changedDetailsAreUpdatedAndCount() throws {
        var first = try Self.night("mgmt-broken", at: "2026-12-01T02:00:00Z", baseline: nil)
        let i = try #require(first.findings.firstIndex { $0.severity == .warning })
        first.findings[i].severity = .info
        first.findings[i].firstSeen = "2026-11-01T02:00:00Z"
        let second = try Self.night("mgmt-broken", at: "2026-12-02T02:00:00Z", baseline: first)
        let f = try #require(second.findings.first { $0.id == first.findings[i].id })
        #expect(f.baselineState == .updated && f.firstSeen == "2026-11-01T02:00:00Z")
        #expect(second.worstCounted() == .warning)
        let prom = ReportRenderer.prometheus(second)
        #expect(prom.contains("nsaudit_findings_updated 1\n") && prom.contains("nsaudit_findings_new{severity=\"warning\"} 0\n"))
        #expect(prom.contains("nsaudit_findings_resolved 0\n"))
    }

    @Test func prometheusCountsNewAndResolved() throws {
        let broken = try Self.night("mgmt-broken", at: "2026-12-01T02:00:00Z", baseline: nil)
        let prom = ReportRenderer.prometheus(broken)
        #expect(prom.contains("nsaudit_findings_new{severity=\"warning\"} 2\n") && prom.contains("nsaudit_findings_new{severity=\"info\"} 2\n"))
        let fixed = try Self.night("mgmt-srcroute", at: "2026-12-02T02:00:00Z", baseline: broken)
        #expect(ReportRenderer.prometheus(fixed).contains("nsaudit_findings_resolved \(fixed.resolved?.count ?? -1)\n"))
        #expect(!ReportRenderer.prometheus(Lab.report(try Lab.snapshot("mgmt-broken"), source: "t")).contains("nsaudit_findings_new"))
    }

    @Test func baselineFilesAreCheckedAndSayWhatIsWrong() throws {
        func problem(_ text: String) -> String? {
            do { _ = try Baseline.decode(Data(text.utf8), name: "b.json"); return nil } catch { return "\(error)" }
        }
        #expect(problem("nope")?.hasPrefix("--baseline b.json: not a JSON object") == true)
        #expect(problem("{\"findings\": []}")?.contains("not an nsaudit report") == true)
        #expect(problem("{\"schema\": \"nsaudit.snapshot/v1\"}")?.contains("not an nsaudit report") == true)
        #expect(problem("{\"schema\": \"nsaudit.report/v2\", \"findings\": 3}")?.hasPrefix("--baseline b.json: a damaged report") == true)
        guard case .olderSchema("nsaudit.report/v1") = try Baseline.decode(Data("{\"schema\": \"nsaudit.report/v1\"}".utf8), name: "b") else {
            Issue.record("a v1 report is an older schema"); return
        }
    }

    /// A report with a baseline, resolved findings and acceptances follows the schema and
    /// reads back equal.
    @Test func markedReportFollowsTheSchema() throws {
        let broken = try Self.night("mgmt-broken", at: "2026-12-01T02:00:00Z", baseline: nil)
        var fixed = try Self.night("mgmt-srcroute", at: "2026-12-02T02:00:00Z", baseline: broken)
        AcceptList.apply([AcceptRule(netns: "nsarec-server", reason: "known", expires: "2026-12-31", line: 1)], to: &fixed.findings, today: "2026-12-02")
        #expect(fixed.findings.allSatisfy { $0.accepted == Acceptance(reason: "known", expires: "2026-12-31", expired: false) })
        let text = ReportRenderer.json(fixed)
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/report.schema.json"))
        #expect(v.validate(try JSONSerialization.jsonObject(with: Data(text.utf8))) == [])
        #expect(try JSONDecoder().decode(Report.self, from: Data(text.utf8)) == fixed)
    }
}

import Foundation
@testable import NSAuditCore
import Testing

/// --accept FILE (issue 11, item 3): accepted findings stay in the report, marked, and never
/// fail the run; an expired acceptance counts as new; errors give line and column.
@Suite struct AcceptListTests {
    static let file = """
        # accepted findings
        - id: asymmetric-reply:45bbeba2b3490035
          reason: management replies via the data side until the VLAN move
          expires: 2027-01-31
        - netns: nsarec-server
          address: fd00:99::40
          kind: asymmetric-reply
          reason: IPv6 management is not used
          expires: 2026-11-30
        """

    @Test func parsesEntriesByIdAndByMatch() throws {
        let rules = try AcceptList.parse(yaml: Self.file, name: "a.yaml")
        #expect(rules.count == 2)
        #expect(rules[0].id == "asymmetric-reply:45bbeba2b3490035" && rules[0].expires == "2027-01-31" && rules[0].line == 2)
        #expect(rules[1].netns == "nsarec-server" && rules[1].address == IPAddress("fd00:99::40") && rules[1].kind == .asymmetricReply)
        #expect(try AcceptList.parse(yaml: "", name: "a.yaml").isEmpty)
    }

    @Test func acceptedNeverFailAndExpiredCountAsNew() throws {
        var snap = try Lab.snapshot("mgmt-broken")
        snap.namespaces.removeAll { $0.id != "nsarec-server" }
        var r = Lab.report(snap, source: "t")
        r.generatedAt = "2026-12-06T02:00:00Z"
        Baseline.apply(nil, path: "b", to: &r)
        var second = Lab.report(snap, source: "t")
        Baseline.apply(r, path: "b", to: &second)
        AcceptList.apply(try AcceptList.parse(yaml: Self.file, name: "a.yaml"), to: &second.findings, today: "2026-12-06")
        let v4 = try #require(second.findings.first { $0.id == "asymmetric-reply:45bbeba2b3490035" })
        #expect(v4.accepted == Acceptance(reason: "management replies via the data side until the VLAN move", expires: "2027-01-31", expired: false))
        #expect(v4.baselineState == .unchanged)
        let v6 = try #require(second.findings.first { $0.localAddress == IPAddress("fd00:99::40") && $0.kind == .asymmetricReply })
        #expect(v6.accepted?.expired == true && v6.baselineState == .new)
        #expect(second.worstCounted() == .warning, "the expired acceptance counts")
        // Accepting both: nothing fails, not even with --fail-on-all.
        AcceptList.apply([AcceptRule(netns: "nsarec-server", reason: "all known", line: 1)], to: &second.findings, today: "2026-12-06")
        #expect(second.worstCounted(all: true) == nil)
        let text = ReportRenderer.text(second, color: false)
        #expect(text.contains("accepted nsarec-server asymmetric-reply:45bbeba2b3490035"))
        #expect(!text.contains("WARN "))
        #expect(ReportRenderer.prometheus(second).contains("nsaudit_findings_accepted 4\n"))
    }

    @Test(arguments: [
        ("- id: x\n  reason: r", "a.yaml:1:7: id \"x\" is not a finding id"),
        ("- netns: s\n  colour: red\n  reason: r", "a.yaml:2:3: unknown key \"colour\""),
        ("- netns: s\n  kind: asym\n  reason: r", "a.yaml:2:9: unknown kind \"asym\""),
        ("- netns: s\n  address: 10.0.0.300\n  reason: r", "a.yaml:2:12: address \"10.0.0.300\""),
        ("- netns: s\n  reason: r\n  expires: 2026-02-30", "a.yaml:3:12: expires \"2026-02-30\" is not a date"),
        ("- netns: s", "a.yaml:1:3: the entry has no reason"),
        ("- reason: r", "a.yaml:1:3: the entry names no finding"),
        ("netns: s", "a.yaml:1:1: expected a list of entries"),
        ("- [a, b]", "a.yaml:1:3: an entry is a mapping"),
        ("- netns: s\n  reason: [a]", "a.yaml:2:11: reason: expected a single value"),
        ("- netns: 's\n", "a.yaml:"),
    ])
    func errorsSayWhereAndWhat(_ yaml: String, _ expected: String) {
        do {
            _ = try AcceptList.parse(yaml: yaml, name: "a.yaml")
            Issue.record("expected an error for \(yaml)")
        } catch {
            #expect("\(error)".hasPrefix("--accept " + expected), "\(error)")
        }
    }
}

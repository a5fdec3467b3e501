import Foundation
@testable import NSAuditCore
import Testing

/// The text report (issue 11, item 2): errors and warnings first with their verified fix
/// commands, infos summed up per namespace unless --all, 80 columns, the broken server in 25
/// lines, system text escaped, colour only when asked.
@Suite struct TextReportTests {
    static func lines(_ text: String) -> [Substring] { text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() }

    static func serverAlone(_ lab: String) throws -> Report {
        var snap = try Lab.snapshot(lab)
        snap.namespaces.removeAll { $0.id != "nsarec-server" }
        return Lab.report(snap, source: "fixtures/snapshots/\(lab).json")
    }

    @Test func brokenServerFitsIn25LinesAnd80Columns() throws {
        let r = try Self.serverAlone("mgmt-broken")
        let text = ReportRenderer.text(r, color: false)
        let lines = Self.lines(text)
        #expect(lines.count <= 25, "\(lines.count) lines:\n\(text)")
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(text)")
        // The warnings, with the commands of their first verified fix, before the info line.
        let warn = try #require(lines.firstIndex { $0.hasPrefix("WARN ") })
        let info = try #require(lines.firstIndex { $0.hasPrefix("info ") })
        #expect(warn < info)
        #expect(lines.contains("    ip -n nsarec-server rule add from 10.99.0.40 lookup 100 priority 1000"))
        #expect(lines.filter { $0.hasPrefix("info ") } == ["info  nsarec-server: 2 asymmetric-reply"])
        for f in r.findings where f.severity == .info { #expect(!text.contains(f.id)) }
        #expect(text.contains("from every source except 10.99.0.0/24"))
        // Why it is a warning: ens19 leads where the snapshot cannot see.
        #expect(lines.contains("WARN  nsarec-server  asymmetric-reply:45bbeba2b3490035  far side unseen"))
        #expect(lines[0] == "nsaudit — vm at 2026-11-29T23:46:54Z (fixtures/snapshots/mgmt-broken.json)")
        #expect(!text.contains("\u{1b}["))
    }

    @Test(arguments: ["mgmt-broken", "mgmt-rpfilter", "docker-host", "router-ecmp", "router-mgmt"])
    func everyLineFits80Columns(_ lab: String) throws {
        let r = Lab.report(try Lab.snapshot(lab), source: "fixtures/snapshots/\(lab).json")
        for all in [false, true] {
            let text = ReportRenderer.text(r, color: false, all: all)
            #expect(Self.lines(text).allSatisfy { $0.count <= 80 }, "\(lab) all=\(all):\n\(text)")
        }
    }

    @Test func infosAreSummedPerNamespaceUnlessAll() throws {
        let r = Lab.report(try Lab.snapshot("mgmt-broken"), source: "x")
        let short = ReportRenderer.text(r, color: false)
        #expect(Self.lines(short).filter { $0.hasPrefix("info ") } == [
            "info  nsarec-left-router: 4 asymmetric-reply, 4 reply-unroutable",
            "info  nsarec-right-router: 4 asymmetric-reply, 4 reply-unroutable",
            "info  nsarec-server: 2 asymmetric-reply",
        ])
        let full = ReportRenderer.text(r, color: false, all: true)
        for f in r.findings { #expect(full.contains(f.id)) }
        #expect(full.contains("verified fix (vrf)") && full.contains("verified fix (namespace)"))
    }

    @Test func systemTextIsEscapedAndColourOnlyWhenAsked() throws {
        var r = try Self.serverAlone("mgmt-broken")
        for i in r.findings.indices { r.findings[i].netns = "evil\u{1b}]0;x\u{07}" }
        let text = ReportRenderer.text(r, color: false, all: true)
        #expect(!text.contains("\u{1b}") && !text.contains("\u{07}"))
        #expect(text.contains("evil\\x1b]0;x\\x07"))
        #expect(ReportRenderer.text(r, color: true).contains("\u{1b}[33mWARN"))
    }

    /// Shell commands longer than the line are continued with a backslash, never cut.
    @Test func longCommandsAreContinued() {
        let c = ReportRenderer.command("ip -n " + String(repeating: "n", count: 60) + " route add default via 10.0.0.1 dev eth0 table 100", indent: "    ", width: 80)
        let lines = Self.lines(c)
        #expect(lines.count == 2 && lines[0].hasSuffix(" \\") && lines.allSatisfy { $0.count <= 80 })
        #expect(c.replacingOccurrences(of: " \\\n      ", with: " ").trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("ip -n nnn"))
    }
}

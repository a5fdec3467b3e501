import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// Severity from what lies behind the ingress, live (issue 11, item 1): each lab built, then
/// audited with only some of its namespaces collected — on a real host the routers are other
/// boxes the snapshot cannot see — and the exit status cron acts on.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct SeverityLiveTests {
    /// `nsaudit report --netns ROLE...` on the lab: exit status and report.
    static func report(_ built: LabScript, roles: [String]) throws -> (Int32, Report) {
        var args = ["report", "--format", "json"]
        for r in roles { args += ["--netns", built.prefix + r] }
        let (rc, out, err) = try Binary.run(args)
        #expect(rc == 0 || rc == 1, "\(err)")
        return (rc, try JSONDecoder().decode(Report.self, from: Data(out.utf8)))
    }

    static func warnings(_ r: Report) -> [Finding] { r.findings.filter { $0.severity >= .warning } }

    @Test func brokenServerAloneWarnsAndExitsOne() throws {
        let built = try LabScript("mgmt-broken")
        let (rc, r) = try Self.report(built, roles: ["server"])
        #expect(rc == 1)
        for a in ["10.99.0.40", "fd00:99::40"] {
            let f = r.findings.first { $0.kind == .asymmetricReply && $0.localAddress?.description == a && $0.ingress == "ens19" }
            #expect(f?.severity == .warning, "\(a)")
            #expect(f?.kernelChecked == true)
        }
        let ens19 = r.namespaces.first?.interfaces.first { $0.name == "ens19" }
        #expect(ens19?.farSide?.state == .unseen)
        #expect(r.summary.modelMismatches == 0)
    }

    /// What cron mails for the broken server: 25 lines at most, 80 columns, the warnings
    /// first with their fix commands.
    @Test func brokenServerTextFitsOneScreen() throws {
        let built = try LabScript("mgmt-broken")
        let (rc, out, err) = try Binary.run(["report", "--netns", built.prefix + "server", "--format", "text"])
        #expect(rc == 1, "\(err)")
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count <= 25, "\(lines.count) lines:\n\(out)")
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(out)")
        #expect(lines.filter { $0.hasPrefix("WARN ") }.count == 2)
        #expect(out.contains("rule add from 10.99.0.40 lookup 100"))
        #expect(!out.contains("\u{1b}["), "no colour when not on a terminal")
    }

    @Test func strictRPFilterServerAloneWarnsAndExitsOne() throws {
        let built = try LabScript("mgmt-rpfilter")
        let (rc, r) = try Self.report(built, roles: ["server"])
        #expect(rc == 1)
        let drop = r.findings.first { $0.kind == .rpFilterDrop && $0.localAddress?.description == "10.99.0.40" }
        #expect(drop?.severity == .warning)
    }

    @Test(arguments: [("mgmt-netns", ["server", "mgmt"]), ("mgmt-srcroute", ["server"]), ("mgmt-storage", ["server", "storage"])])
    func fixedOrSeenLabsExitZero(_ lab: String, _ roles: [String]) throws {
        let built = try LabScript(lab)
        let (rc, r) = try Self.report(built, roles: roles)
        #expect(rc == 0)
        #expect(Self.warnings(r).isEmpty, "\(Self.warnings(r).map(\.summary))")
    }

    @Test func dockerHostExitsZero() throws {
        let built = try LabScript("docker-host")
        let (rc, r) = try Self.report(built, roles: built.namespaces.map(built.role))
        #expect(rc == 0)
        #expect(Self.warnings(r).isEmpty, "\(Self.warnings(r).map(\.summary))")
    }

    /// The hand-written physical server, from its file: warning, exit 1.
    @Test func physicalServerFixtureExitsOne() throws {
        let (rc, out, err) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/physical-server.json", "--format", "text"])
        #expect(rc == 1, "\(err)")
        #expect(out.contains("10.99.0.40") && out.contains("2 warnings"))
    }
}

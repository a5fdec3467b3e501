import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// `nsaudit diff` on two snapshots of a live lab taken before and after a real change.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct DiffLiveTests {
    @Test func sourceRoutingAddedLiveIsSeenAndExplained() throws {
        let built = try LabScript("mgmt-broken")
        let server = built.prefix + "server"
        let dir = FileManager.default.temporaryDirectory
        let before = dir.appendingPathComponent("nsat-diff-before-\(getpid()).json").path
        let after = dir.appendingPathComponent("nsat-diff-after-\(getpid()).json").path
        defer { for f in [before, after] { try? FileManager.default.removeItem(atPath: f) } }
        let nsArgs = built.namespaces.flatMap { ["--netns", $0] }
        #expect(try Binary.run(["snapshot", "--no-root"] + nsArgs + ["-o", before]).0 == 0)
        try Live.sh("ip -n \(server) route add default via 10.99.0.1 dev ens19 table 100 && ip -n \(server) rule add from 10.99.0.40 lookup 100 priority 100")
        #expect(try Live.json("ip -n \(server) -j rule show priority 100").count == 1)
        #expect(try Binary.run(["snapshot", "--no-root"] + nsArgs + ["-o", after]).0 == 0)

        let (rc, out, err) = try Binary.run(["diff", before, after])
        // Resolved findings, and the IPv6 finding's proposed fix now takes another table
        // (100 is taken): no behavioural change, exit 0. The IPv4 rule does not reach the IPv6
        // finding, so it is given every change of its namespace.
        #expect(rc == 0, "\(err)")
        #expect(out.contains("""
        \(server)
          rule 100 from 10.99.0.40 lookup 100 added
          route default via 10.99.0.1 dev ens19 table 100 added
          → asymmetric-reply 10.99.0.40 on ens19 resolved (was warning)
          → asymmetric-reply fd00:99::40 on ens19 changed: fix changed
        """), "\(out)")

        let (_, json, _) = try Binary.run(["diff", "--json", before, after])
        let o = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        let changes = o["changes"] as! [[String: Any]]
        // Nothing else changed: the lab's devices and addresses are the same ones.
        #expect(changes.map { "\($0["netns"]!) \($0["object"]!) \($0["change"]!) \($0["new"] ?? "")" } == [
            "\(server) rule added 100 from 10.99.0.40 lookup 100",
            "\(server) route added default via 10.99.0.1 dev ens19 table 100",
        ])
        let findings = o["findings"] as! [String: [[String: Any]]]
        #expect(findings["new"]!.isEmpty)
        #expect(findings["changed"]!.map { $0["fields"] as? [String] } == [["fix"]])
        #expect(findings["changed"]!.map { $0["attribution"] as? String } == ["namespace"])
        // One finding per (address, ingress, kind) (report v2).
        #expect(findings["resolved"]!.map { $0["local_address"] as? String } == ["10.99.0.40"])
        #expect(findings["resolved"]!.allSatisfy { $0["explained_by"] as? [Int] == [0, 1] })

        // And back: the rule removed brings the warning back, exit 1.
        let (rc2, out2, _) = try Binary.run(["diff", after, before])
        #expect(rc2 == 1)
        #expect(out2.contains("  rule 100 from 10.99.0.40 lookup 100 removed\n"))
        #expect(out2.contains("  → asymmetric-reply 10.99.0.40 on ens19 new (warning; replies via 10.20.30.1\n        on ens18)\n"), "\(out2)")
    }
}

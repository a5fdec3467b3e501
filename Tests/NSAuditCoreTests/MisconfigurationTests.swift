import Foundation
import NSAuditCore
import Testing

/// The related-misconfiguration checks and --any-ingress, on the recorded broken lab with
/// planned changes applied through the snapshot editor (the same path as `report --apply`).
@Suite struct MisconfigurationTests {
    func edited(_ commands: [String]) throws -> Report {
        var editor = SnapshotEditor(try Lab.snapshot("mgmt-broken"))
        try editor.apply(script: commands.joined(separator: "\n"))
        return Lab.report(editor.snapshot, source: "t", options: .init(remediate: false))
    }

    @Test func sameSubnetOnTwoInterfacesIsArpFluxAndDuplicateAddress() throws {
        let r = try edited(["ip -n nsarec-server addr add 10.20.30.40/24 dev ens19"])
        let dup = try #require(r.findings.first { $0.kind == .duplicateAddress })
        #expect(dup.localAddress == IPAddress("10.20.30.40"))
        #expect(dup.ingress == "ens18,ens19")
        let flux = try #require(r.findings.first { $0.kind == .arpFlux })
        #expect(flux.sources == [IPPrefix("10.20.30.0/24")!])
        #expect(flux.ingress == "ens18,ens19")
        // arp_ignore=1 stops each interface answering for the other's addresses.
        let fixed = try edited(["ip -n nsarec-server addr add 10.20.30.41/24 dev ens19",
                                "ip netns exec nsarec-server sysctl -w net.ipv4.conf.all.arp_ignore=1"])
        #expect(!fixed.findings.contains { $0.kind == .arpFlux })
        #expect(!fixed.findings.contains { $0.kind == .duplicateAddress })
    }

    @Test func rulesSharingAPriorityCollide() throws {
        let r = try edited(["ip -n nsarec-server rule add from 10.1.0.0/16 lookup 100 priority 500",
                            "ip -n nsarec-server rule add from 10.2.0.0/16 lookup 200 priority 500"])
        let c = try #require(r.findings.first { $0.kind == .rulePriorityCollision })
        #expect(c.rule == 500 && c.netns == "nsarec-server")
        #expect(try edited([]).findings.allSatisfy { $0.kind != .rulePriorityCollision })
    }

    @Test func anyIngressAuditsEveryInterface() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        let own = Lab.report(snap, source: "t", options: .init(remediate: false))
        let any = Lab.report(snap, source: "t", options: .init(anyIngress: true, remediate: false))
        // The data address reached through the management interface: replies leave via ens18.
        func dataViaMgmt(_ r: Report) -> Finding? {
            r.findings.first { $0.kind == .asymmetricReply && $0.localAddress == IPAddress("10.20.30.40") && $0.ingress == "ens19" && $0.egress == "ens18" }
        }
        #expect(dataViaMgmt(own) == nil)
        let f = try #require(dataViaMgmt(any))
        #expect(f.sources.contains { $0.contains(IPAddress("192.168.127.10")!) })
    }
}

import Foundation
@testable import NSAuditCore
import Testing

/// The management scenario of shared/scenario.md, variant by variant.
@Suite struct ManagementScenarioTests {
    @Test func brokenRepliesLeaveThroughTheDataInterface() throws {
        let r = Lab.report(try Lab.snapshot("mgmt-broken"), source: "t")
        let asym = Lab.findings(r, address: "10.99.0.40", kinds: [.asymmetricReply]).filter { $0.ingress == "ens19" }
        let main = try #require(asym.first { $0.severity == .warning })
        #expect(main.egress == "ens18")
        #expect(main.gateway?.description == "10.20.30.1")
        #expect(main.table == Table.main)
        #expect(main.netns.hasSuffix("server"))
        let covered = asym.flatMap(\.sources)
        func covers(_ s: String) -> Bool { covered.contains { $0.contains(IPAddress(s)!) } }
        // The right-hand client, and every other source outside 10.99.0.0/24.
        for s in ["192.168.127.10", "8.8.8.8", "10.20.30.5", "172.16.1.1", "1.0.0.1", "223.255.255.254"] { #expect(covers(s), "\(s)") }
        for s in ["10.99.0.5", "10.99.0.254"] { #expect(!covers(s), "\(s) is on the management subnet") }
        #expect(main.services?.contains("tcp/22") == true)
        // A verified source-routing fix, in ip syntax.
        let fix = try #require(main.remediation.first { $0.kind == "source-routing" })
        #expect(fix.verified)
        #expect(fix.commands.contains { $0.hasSuffix("rule add from 10.99.0.40 lookup 100 priority 1000") })
        #expect(fix.commands.contains { $0.contains("route add default via 10.99.0.1 dev ens19 table 100") })
        #expect(Set(main.remediation.map(\.kind)) == ["source-routing", "vrf", "namespace"])
        #expect(!main.remediation.contains { !$0.verified })
    }

    @Test func strictRPFilterDropsInstead() throws {
        let r = Lab.report(try Lab.snapshot("mgmt-rpfilter"), source: "t")
        let drop = try #require(Lab.findings(r, address: "10.99.0.40", kinds: [.rpFilterDrop]).first { $0.severity == .warning })
        #expect(drop.ingress == "ens19")
        #expect(drop.details?["rp_filter.effective"] == "1")
        #expect(drop.sources.contains { $0.contains(IPAddress("192.168.127.10")!) })
        #expect(Lab.findings(r, address: "10.99.0.40", kinds: [.asymmetricReply]).filter { $0.severity >= .warning }.isEmpty)
    }

    @Test(arguments: ["mgmt-netns", "mgmt-vrf", "mgmt-srcroute"])
    func fixedVariantsHaveNoFindingForTheManagementAddress(_ lab: String) throws {
        let r = Lab.report(try Lab.snapshot(lab), source: "t")
        #expect(Lab.findings(r, address: "10.99.0.40").isEmpty)
        #expect(Lab.findings(r, address: "fd00:99::40").isEmpty)
        #expect(r.findings.filter { $0.severity >= .warning && $0.netns.hasSuffix("server") }.isEmpty)
    }

    @Test func routerManagementIsIsolated() throws {
        for lab in ["router-mgmt", "router-mgmt-vrf"] {
            let r = Lab.report(try Lab.snapshot(lab), source: "t")
            #expect(Lab.findings(r, address: "172.30.0.2").isEmpty, "\(lab)")
            #expect(Lab.findings(r, address: "fd00:30::2").isEmpty, "\(lab)")
        }
    }

    @Test func applyingTheProposedFixRemovesTheFinding() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        let r = Lab.report(snap, source: "t")
        let fix = try #require(Lab.findings(r, address: "10.99.0.40").first { $0.severity == .warning }?.remediation.first)
        var editor = SnapshotEditor(snap)
        try editor.apply(script: "# the proposed fix\n" + fix.commands.joined(separator: "\n"))
        let after = Lab.report(editor.snapshot, source: "t")
        #expect(Lab.findings(after, address: "10.99.0.40").isEmpty)
    }

    @Test func declaredManagementFlowIsViolatedUntilFixed() throws {
        let yaml = """
        flows:
          - name: management ssh
            netns: nsarec-server
            clients: [192.168.127.0/24]
            to: 10.99.0.40
            protocol: tcp
            port: 22
            ingress: ens19
          - name: web
            netns: nsarec-server
            clients: [192.168.127.0/24]
            to: 10.20.30.40
            protocol: tcp
            port: 80
            ingress: ens18
        """
        let intents = try FlowIntent.parse(yaml: yaml, name: "flows.yaml")
        let broken = Lab.report(try Lab.snapshot("mgmt-broken"), source: "t", options: .init(intents: intents))
        let v = broken.findings.filter { $0.kind == .intentViolated }
        #expect(v.count == 1)
        #expect(v.first?.severity == .error)
        #expect(v.first?.egress == "ens18")
        #expect(v.first?.evidence.contains("intent") == true)
        #expect(v.first?.sources == [IPPrefix("192.168.127.0/24")!])
        let fixed = Lab.report(try Lab.snapshot("mgmt-srcroute"), source: "t", options: .init(intents: intents))
        #expect(fixed.findings.filter { $0.kind == .intentViolated }.isEmpty)

        // Intents that trace alike are traced once, and each still gets its own finding:
        // the same flow declared under 40 names, checked on every core
        var many = intents
        for i in 0..<40 { var m = intents[0]; m.name = "management ssh \(i)"; many.append(m) }
        let all = Lab.report(try Lab.snapshot("mgmt-broken"), source: "t", options: .init(intents: many))
            .findings.filter { $0.kind == .intentViolated }
        #expect(all.count == 41)
        #expect(Set(all.compactMap { $0.details?["intent"] }).count == 41)
        #expect(all.allSatisfy { $0.egress == "ens18" && $0.sources == [IPPrefix("192.168.127.0/24")!] && $0.summary.hasSuffix(v.first!.summary.components(separatedBy: "\" is violated: ").last!) })
    }

    /// The netns fix with sshd not started in `mgmt`: the declared management flow is
    /// traced end to end from the right client and finds no listener; the finding names
    /// where a port-22 listener does run.
    @Test func managementIntentWithoutSSHInTheManagementNamespace() throws {
        let yaml = """
        flows:
          - name: management ssh
            netns: nsarec-mgmt
            clients: [192.168.127.0/24]
            to: 10.20.30.40
            protocol: tcp
            port: 22
            ingress: ens19
        """
        let intents = try FlowIntent.parse(yaml: yaml, name: "flows.yaml")
        var snap = try Lab.snapshot("mgmt-netns")
        #expect(Lab.report(snap, source: "t", options: .init(intents: intents)).findings.filter { $0.kind == .intentViolated }.isEmpty)
        let mgmt = snap.namespaces.firstIndex { $0.id == "nsarec-mgmt" }!
        snap.namespaces[mgmt].sockets.removeAll { $0.localPort == 22 }
        // sshd "still runs in the default namespace": here the server's
        let server = snap.namespaces.firstIndex { $0.id == "nsarec-server" }!
        var sshd = Socket(protocol: "tcp", family: .v6, state: "LISTEN", local: .zero(.v6), localPort: 22, remote: .zero(.v6), remotePort: 0)
        sshd.uid = 0
        snap.namespaces[server].sockets.append(sshd)
        let r = Lab.report(snap, source: "t", options: .init(intents: intents))
        let v = r.findings.filter { $0.kind == .intentViolated }
        #expect(v.count == 1)
        #expect(v.first?.severity == .error && v.first?.netns == "nsarec-mgmt")
        #expect(v.first?.summary.contains("no listener") == true)
        #expect(v.first?.summary.contains("nsarec-server") == true)
        #expect(v.first?.details?["trace"]?.hasPrefix("nsaudit trace --netns nsarec-right-client") == true)
    }

    @Test func transitIntentThroughTheRouter() throws {
        let yaml = """
        flows:
          - name: south to north
            netns: nsarec-router
            clients: [192.168.10.0/24]
            to: 203.0.113.0/24
            ingress: eth1
            egress: eth0
            transit: true
          - name: wrong way
            netns: nsarec-router
            clients: [192.168.10.0/24]
            to: 203.0.113.0/24
            ingress: eth1
            egress: mgmt0
            transit: true
        """
        let r = Lab.report(try Lab.snapshot("router-mgmt"), source: "t", options: .init(intents: try FlowIntent.parse(yaml: yaml, name: "f")))
        let v = r.findings.filter { $0.kind == .intentViolated }
        #expect(v.map { $0.details?["intent"] } == ["wrong way"])
    }

    @Test func flowFileErrorsNameTheProblem() {
        #expect(throws: FlowIntentError.self) { try FlowIntent.parse(yaml: "flows: [{name: x}]", name: "f.yaml") }
        do {
            _ = try FlowIntent.parse(yaml: "flows:\n  - {name: a, clients: [nope], to: 10.0.0.1, ingress: eth0}", name: "f.yaml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("client: \"nope\" is not an IP address or prefix"))
        }
    }
}

import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// The broken management lab (fixtures/labs/mgmt-broken.sh) built live, real traffic between
/// its namespaces only, captured by LiveCapture at the same time: the capture must show
/// management requests arriving on ens19 and replies leaving on ens18, the model built from
/// a snapshot taken alongside must agree, and a model with the server's default routes
/// removed must be contradicted (model-mismatch).
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct CaptureLiveTests {
    static let labScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/labs/mgmt-broken.sh").path

    /// The lab under a prefix unique to this process; torn down (namespaces and the
    /// listener started here, by pid) when the value goes away.
    final class BrokenLab {
        let prefix: String
        var listenerPIDs: [String] = []
        init(_ tag: String) throws {
            prefix = "nsacap\(getpid())\(tag)-"
            do {
                try Live.sh("\(CaptureLiveTests.labScript) up \(prefix)")
            } catch {
                _ = try? Live.sh("\(CaptureLiveTests.labScript) down \(prefix)")
                throw error
            }
        }
        func ns(_ role: String) -> String { prefix + role }
        /// A TCP listener answering with a banner, IPv4 and IPv6, in a lab namespace.
        func listen(_ role: String, port: Int) throws {
            let pid = try Live.sh("ip netns exec \(ns(role)) socat TCP6-LISTEN:\(port),ipv6only=0,reuseaddr,fork EXEC:'/bin/echo hello' >/dev/null 2>&1 & echo $!")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            listenerPIDs.append(pid)
            for _ in 0..<50 {
                if let out = try? Live.sh("ip netns exec \(ns(role)) ss -Hltn 'sport = :\(port)'"), !out.isEmpty { return }
                usleep(100_000)
            }
            throw ShellError(command: "listen \(port) in \(ns(role))", status: 1, stderr: "listener did not start")
        }
        deinit {
            for pid in listenerPIDs where !pid.isEmpty { _ = try? Live.sh("kill \(pid)") }
            _ = try? Live.sh("\(CaptureLiveTests.labScript) down \(prefix)")
        }
    }

    /// Management traffic from the right client, data traffic from the left client: pings
    /// and TCP connects (each may fail: in the broken lab the management replies go astray).
    static func traffic(_ lab: BrokenLab) {
        let rc = lab.ns("right-client"), lc = lab.ns("left-client")
        for cmd in [
            "ip netns exec \(rc) ping -n -q -c2 -i0.2 -W1 10.99.0.40",
            "ip netns exec \(rc) timeout 3 socat -T1 -u TCP4:10.99.0.40:22,connect-timeout=1 -",
            "ip netns exec \(rc) ping -n -q -c1 -W1 fd00:99::40",
            "ip netns exec \(lc) ping -n -q -c2 -i0.2 -W1 10.20.30.40",
            "ip netns exec \(lc) timeout 3 socat -T1 -u TCP4:10.20.30.40:22,connect-timeout=1 -",
        ] {
            _ = try? Live.sh(cmd)
        }
    }

    @Test func brokenLabCaptureShowsManagementAsymmetry() throws {
        let lab = try BrokenLab("a")
        try lab.listen("server", port: 22)
        let server = lab.ns("server")
        let snap = try Collector.collect(CollectOptions(netns: [server, lab.ns("left-router"), lab.ns("right-router")],
                                                        includeRoot: false, sockets: false))
        let opts = LiveCaptureOptions(netns: [server, lab.ns("left-router"), lab.ns("right-router")],
                                      includeRoot: false, duration: 20, keepPackets: true)
        let started = Date()
        let result = try LiveCapture.run(opts) {
            Self.traffic(lab)
            usleep(300_000)
            LiveCapture.requestStop()
        }
        #expect(Date().timeIntervalSince(started) < 19, "requestStop must end the capture early")
        for st in result.stats {
            #expect(st.error == nil, "\(st.netns): \(st.error ?? "")")
            #expect(st.stoppedBy == "stop-request")
            #expect(st.kernelDropped == 0)
        }
        let flows = result.flows.filter { $0.netns == server && $0.role == .responder }
        let mgmt = flows.filter { $0.server.description == "10.99.0.40" || $0.server.description == "fd00:99::40" }
        let mgmtPing = try #require(mgmt.first { $0.protocol == "icmp" }, "\(result.flows.map(\.example))")
        #expect(mgmtPing.requestIngress == ["ens19"])
        #expect(mgmtPing.replyEgress == ["ens18"])
        #expect(mgmtPing.client.description == "192.168.127.10")
        let mgmtTCP = try #require(mgmt.first { $0.protocol == "tcp" && $0.serverPort == 22 })
        #expect(mgmtTCP.requestIngress == ["ens19"] && mgmtTCP.replyEgress == ["ens18"])
        #expect(mgmtTCP.sawSYN == true && mgmtTCP.sawSYNACK == true)
        #expect(mgmt.contains { $0.protocol == "icmpv6" && $0.requestIngress == ["ens19"] && $0.replyEgress == ["ens18"] })
        let data = flows.filter { $0.server.description == "10.20.30.40" }
        #expect(data.contains { $0.protocol == "tcp" && $0.requestIngress == ["ens18"] && $0.replyEgress == ["ens18"] })

        // The model from the snapshot taken alongside agrees.
        let verdicts = CaptureConfirmation.confirm(result.flows.filter { $0.netns == server }, snapshot: snap)
        #expect(!verdicts.isEmpty)
        for v in verdicts { #expect(v.verdict == .confirmed, "\(v.detail)") }

        // A deliberately wrong model: the server's default routes removed.
        var wrong = snap
        let i = try #require(wrong.namespaces.firstIndex { $0.id == server })
        wrong.namespaces[i].routes.removeAll { $0.dst.length == 0 && $0.table == 254 }
        let bad = CaptureConfirmation.confirm(mgmt, snapshot: wrong)
        #expect(!bad.isEmpty)
        for v in bad { #expect(v.verdict == .modelMismatch, "\(v.detail)") }

        // The kept headers, written as pcapng and read back, give the same flows.
        let bytes = try #require(result.pcapng)
        let file = try PcapFile.parse(bytes)
        #expect(file.damage == nil)
        #expect(file.interfaces.contains { $0.name == "ens19" && $0.netns == server })
        #expect(file.packets.allSatisfy { $0.data.count <= 128 }, "headers only")
        let replay = CaptureAnalysis.observe(file, netns: "unused")
        let replayMgmt = replay.flows.first { $0.netns == server && $0.protocol == "icmp" && $0.server.description == "10.99.0.40" }
        #expect(replayMgmt?.requestIngress == ["ens19"] && replayMgmt?.replyEgress == ["ens18"])
        // tshark, when installed, reads it and sees the interface names.
        if (try? Live.sh("command -v tshark")) != nil {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("nsacap-\(getpid()).pcapng").path
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            let names = try Live.sh("tshark -r \(path) -T fields -e frame.interface_name 2>/dev/null | sort -u")
            #expect(names.contains("ens19") && names.contains("ens18"), "\(names)")
        } else {
            print("note: tshark not installed; the pcapng was checked with nsaudit's reader only")
        }
    }

    /// SIGINT delivered to the process ends the capture with what it has.
    @Test func sigintStopsTheCapture() throws {
        let lab = LabNamespaces("sig")
        let a = try lab.add("a")
        LiveCapture.installSignalHandlers()
        defer { LiveCapture.removeSignalHandlers() }
        let started = Date()
        let result = try LiveCapture.run(LiveCaptureOptions(netns: [a], duration: 30)) {
            _ = try? Live.sh("ip netns exec \(a) ping -n -q -c2 -i0.2 127.0.0.1")
            kill(getpid(), SIGINT)
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(result.stats.first?.stoppedBy == "signal")
        #expect(LiveCapture.receivedSignal == SIGINT)
        let lo = result.flows.first { $0.protocol == "icmp" }
        #expect(lo?.requestIngress == ["lo"] && lo?.replyEgress == ["lo"], "\(result.flows)")
    }

    /// The packet bound ends a namespace's capture early.
    @Test func packetLimitStopsTheCapture() throws {
        let lab = LabNamespaces("lim")
        let a = try lab.add("a")
        let started = Date()
        let result = try LiveCapture.run(LiveCaptureOptions(netns: [a], duration: 20, maxPackets: 3, immediate: true)) {
            _ = try? Live.sh("ip netns exec \(a) ping -n -q -c4 -i0.2 127.0.0.1")
        }
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(result.stats.first?.stoppedBy == "packet-limit")
        #expect(result.stats.first?.packets == 3)
    }

    @Test func badFilterAndUnknownNamespaceAreClearErrors() throws {
        let lab = LabNamespaces("err")
        let a = try lab.add("a")
        #expect(throws: LiveCaptureError.self) {
            try LiveCapture.run(LiveCaptureOptions(netns: ["nsacap-does-not-exist-\(getpid())"], duration: 1))
        }
        do {
            _ = try LiveCapture.run(LiveCaptureOptions(netns: [a], duration: 1, filter: "tcp and and"))
            Issue.record("a bad filter must fail")
        } catch let e as LiveCaptureError {
            #expect(e.description.contains("BPF filter"))
        }
    }
}

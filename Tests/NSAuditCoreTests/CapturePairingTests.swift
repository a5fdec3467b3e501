import Foundation
import NSAuditCore
import Testing

@Suite struct CapturePairingTests {
    typealias B = PacketBytes

    static func add(_ t: inout FlowTable, _ bytes: [UInt8], ts: UInt64) {
        let h = try! PacketDecoder.decode(bytes, linkType: PcapLinkType.linuxSLL2).get()
        t.add(h, iface: h.ifindex!, timestampNs: ts)
    }
    static func names(_ i: Int32) -> String { ["1": "lo", "2": "ens18", "3": "ens19"]["\(i)"] ?? "if\(i)" }

    @Test func tcpHandshakeDecidesIngressAndEgress() throws {
        var t = FlowTable()
        let c = "192.168.127.10", s = "10.99.0.40"
        Self.add(&t, B.tcpPacket(c, 40000, s, 22, flags: TCPFlag.syn, ifindex: 3, out: false), ts: 10)
        Self.add(&t, B.tcpPacket(s, 22, c, 40000, flags: TCPFlag.syn | TCPFlag.ack, ifindex: 2, out: true), ts: 20)
        // The left client never asked: it answers the stray SYN-ACK with a RST, which
        // arrives on ens18 and must not count as where the request came in.
        Self.add(&t, B.tcpPacket(c, 40000, s, 22, flags: TCPFlag.rst, ifindex: 2, out: false), ts: 30)
        let flows = t.flows(netns: "server", name: Self.names)
        #expect(flows.count == 1)
        let f = try #require(flows.first)
        #expect(f.client == IPAddress(c)! && f.clientPort == 40000 && f.server == IPAddress(s)! && f.serverPort == 22)
        #expect(f.role == .responder)
        #expect(f.requestIngress == ["ens19"])
        #expect(f.replyEgress == ["ens18"])
        #expect(f.isAsymmetric)
        #expect(f.requestPackets == 2 && f.replyPackets == 1)
        #expect(f.sawSYN == true && f.sawSYNACK == true && !f.inferredDirection)
        #expect(f.firstSeenNs == 10 && f.lastSeenNs == 30)
        #expect(f.example == "tcp 192.168.127.10:40000 -> 10.99.0.40:22")
    }

    @Test func establishedTCPInfersServerFromPortsAndHandshakeCorrectsIt() throws {
        var t = FlowTable()
        // Mid-connection: server 10.0.0.2:22 talks first.
        Self.add(&t, B.tcpPacket("10.0.0.2", 22, "10.0.0.1", 50000, flags: TCPFlag.psh | TCPFlag.ack, ifindex: 2, out: true), ts: 1)
        Self.add(&t, B.tcpPacket("10.0.0.1", 50000, "10.0.0.2", 22, flags: TCPFlag.psh | TCPFlag.ack, ifindex: 2, out: false), ts: 2)
        var f = try #require(t.flows(netns: "n", name: Self.names).first)
        #expect(f.server == IPAddress("10.0.0.2")! && f.serverPort == 22 && f.inferredDirection)
        #expect(f.requestIngress == ["ens18"] && f.replyEgress == ["ens18"] && !f.isAsymmetric)
        // A guess from ports is corrected by a handshake: here 10.0.0.2:22 is really the client.
        var u = FlowTable()
        Self.add(&u, B.tcpPacket("10.0.0.1", 80, "10.0.0.2", 22, flags: TCPFlag.ack, ifindex: 2, out: false), ts: 1)
        Self.add(&u, B.tcpPacket("10.0.0.2", 22, "10.0.0.1", 80, flags: TCPFlag.syn, ifindex: 2, out: true), ts: 2)
        f = try #require(u.flows(netns: "n", name: Self.names).first)
        #expect(f.client == IPAddress("10.0.0.2")! && f.clientPort == 22 && !f.inferredDirection)
        #expect(f.role == .initiator)
    }

    @Test func icmpEchoPairsByIdentifierAndUDPByReversedTuple() throws {
        var t = FlowTable()
        Self.add(&t, B.icmpPacket("192.168.127.10", "10.20.30.40", request: true, id: 7, ifindex: 2, out: false), ts: 1)
        Self.add(&t, B.icmpPacket("10.20.30.40", "192.168.127.10", request: false, id: 7, ifindex: 2, out: true), ts: 2)
        Self.add(&t, B.icmpPacket("192.168.127.10", "10.20.30.40", request: true, id: 8, ifindex: 3, out: false), ts: 3)
        Self.add(&t, B.udpPacket("10.0.0.9", 5353, "10.0.0.1", 53, ifindex: 3, out: false), ts: 4)
        Self.add(&t, B.udpPacket("10.0.0.1", 53, "10.0.0.9", 5353, ifindex: 2, out: true), ts: 5)
        // Multicast requests open no flow.
        Self.add(&t, B.udpPacket("10.0.0.9", 5353, "224.0.0.251", 5353, ifindex: 3, out: false), ts: 6)
        let flows = t.flows(netns: "n", name: Self.names)
        #expect(flows.count == 3)
        #expect(flows[0].protocol == "icmp" && flows[0].icmpID == 7 && flows[0].answered && !flows[0].isAsymmetric)
        #expect(flows[0].clientPort == nil)
        #expect(flows[1].icmpID == 8 && !flows[1].answered && flows[1].requestIngress == ["ens19"])
        #expect(flows[2].protocol == "udp" && flows[2].client == IPAddress("10.0.0.9")! && flows[2].serverPort == 53)
        #expect(flows[2].requestIngress == ["ens19"] && flows[2].replyEgress == ["ens18"] && flows[2].isAsymmetric)
        #expect(t.unpaired == 1)
    }

    @Test func forwarderAndReplyOnlyRoles() throws {
        var t = FlowTable()
        // A router: request in eth0 (2) out eth1 (3), reply in eth1 out eth0.
        Self.add(&t, B.icmpPacket("192.168.127.10", "10.99.0.40", request: true, id: 1, ifindex: 2, out: false), ts: 1)
        Self.add(&t, B.icmpPacket("192.168.127.10", "10.99.0.40", request: true, id: 1, ifindex: 3, out: true), ts: 2)
        Self.add(&t, B.icmpPacket("10.99.0.40", "192.168.127.10", request: false, id: 1, ifindex: 3, out: false), ts: 3)
        Self.add(&t, B.icmpPacket("10.99.0.40", "192.168.127.10", request: false, id: 1, ifindex: 2, out: true), ts: 4)
        // Replies to someone else's request.
        Self.add(&t, B.icmpPacket("10.99.0.40", "192.168.127.10", request: false, id: 2, ifindex: 3, out: false), ts: 5)
        let flows = t.flows(netns: "r", name: Self.names)
        #expect(flows.map(\.role) == [.forwarder, .replyOnly])
        #expect(flows[0].requestEgress == ["ens19"] && flows[0].replyIngress == ["ens19"] && !flows[0].isAsymmetric)
    }

    @Test func loopbackPacketsCountAsSentAndReceived() throws {
        // libpcap's `any` reports loopback packets once, as received (ARPHRD_LOOPBACK = 772).
        var t = FlowTable()
        let req = B.sll2(ifindex: 1, pkttype: 0, etherType: 0x0800, hatype: 772)
            + B.ipv4("127.0.0.1", "127.0.0.1", proto: 1, payload: B.icmpEcho(type: 8, id: 9, seq: 1))
        let rep = B.sll2(ifindex: 1, pkttype: 0, etherType: 0x0800, hatype: 772)
            + B.ipv4("127.0.0.1", "127.0.0.1", proto: 1, payload: B.icmpEcho(type: 0, id: 9, seq: 1))
        #expect(try PacketDecoder.decode(req, linkType: PcapLinkType.linuxSLL2).get().loopback)
        Self.add(&t, req, ts: 1)
        Self.add(&t, rep, ts: 2)
        let f = try #require(t.flows(netns: "n", name: Self.names).first)
        #expect(f.role == .responder && f.requestIngress == ["lo"] && f.replyEgress == ["lo"] && !f.isAsymmetric)
    }

    @Test func flowTableBound() {
        var t = FlowTable(maxFlows: 2)
        for p in 1...5 {
            Self.add(&t, B.udpPacket("10.0.0.1", UInt16(1000 + p), "10.0.0.2", 53, ifindex: 2, out: true), ts: UInt64(p))
        }
        #expect(t.flowCount == 2 && t.flowsDropped == 3)
    }

    @Test func observedFlowJSONRoundTrip() throws {
        let f = ObservedFlow(netns: "server", protocol: "tcp", family: .v4, client: IPAddress("192.168.127.10")!, clientPort: 40000,
                             server: IPAddress("10.99.0.40")!, serverPort: 22, role: .responder, requestPackets: 1, replyPackets: 1,
                             requestIngress: ["ens19"], replyEgress: ["ens18"], firstSeenNs: 1_764_460_800_000_001_000,
                             lastSeenNs: 1_764_460_801_500_000_000)
        let data = try JSONEncoder().encode(f)
        let obj = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(obj["first_seen"] as? String == "2025-11-30T00:00:00.000001Z")
        #expect(obj["asymmetric"] as? Bool == true)
        #expect(obj["example"] as? String == "tcp 192.168.127.10:40000 -> 10.99.0.40:22")
        #expect(obj["request_ingress"] as? [String] == ["ens19"])
        let back = try JSONDecoder().decode(ObservedFlow.self, from: data)
        #expect(back == f)
        let sum = ObservedSummary([f, f])
        #expect(sum.flows == 2 && sum.requestPackets == 2 && sum.example == f.example && sum.replyEgress == ["ens18"])
    }
}

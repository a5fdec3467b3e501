import Foundation
import NSAuditCore
import Testing

/// Captured packets matched to a probe (request, reply, refusal, ICMP errors quoting it), the
/// refusal of destinations outside the host, and the arguments a probe is traced with.
@Suite struct ProbeMatchingTests {
    func classify(_ m: ProbeMatcher, _ bytes: [UInt8]) -> (ProbeLeg, ProbeICMPError?)? {
        bytes.withUnsafeBytes { raw in
            guard case .success(let h) = PacketDecoder.decode(raw, linkType: PcapLinkType.linuxSLL2) else { return nil }
            return m.classify(h, bytes: raw, linkType: PcapLinkType.linuxSLL2)
        }
    }

    @Test func tcpLegs() {
        let flow = ProbeFlow(proto: .tcp, src: IPAddress("10.0.0.1"), dst: IPAddress("10.0.1.2")!, sport: 40000, dport: 22)
        let m = ProbeMatcher(flow: flow)
        let P = PacketBytes.self
        #expect(classify(m, P.tcpPacket("10.0.0.1", 40000, "10.0.1.2", 22, flags: TCPFlag.syn, ifindex: 2, out: true))?.0 == .request)
        #expect(classify(m, P.tcpPacket("10.0.1.2", 22, "10.0.0.1", 40000, flags: TCPFlag.syn | TCPFlag.ack, ifindex: 2, out: false))?.0 == .reply)
        #expect(classify(m, P.tcpPacket("10.0.1.2", 22, "10.0.0.1", 40000, flags: TCPFlag.rst | TCPFlag.ack, ifindex: 2, out: false))?.0 == .refusal)
        // the handshake's ACK, another port, another source: not the probe's request or answer
        #expect(classify(m, P.tcpPacket("10.0.0.1", 40000, "10.0.1.2", 22, flags: TCPFlag.ack, ifindex: 2, out: true)) == nil)
        #expect(classify(m, P.tcpPacket("10.0.0.1", 40001, "10.0.1.2", 22, flags: TCPFlag.syn, ifindex: 2, out: true)) == nil)
        #expect(classify(m, P.tcpPacket("10.0.0.9", 40000, "10.0.1.2", 22, flags: TCPFlag.syn, ifindex: 2, out: true)) == nil)
    }

    @Test func icmpErrorsQuotingTheRequest() {
        let flow = ProbeFlow(proto: .udp, src: IPAddress("10.0.0.1"), dst: IPAddress("10.0.1.2")!, sport: 5000, dport: 53)
        let m = ProbeMatcher(flow: flow)
        let P = PacketBytes.self
        let quoted = P.ipv4("10.0.0.1", "10.0.1.2", proto: 17, payload: P.udp(5000, 53))
        func icmpError(from: String, type: UInt8, code: UInt8, quote: [UInt8]) -> [UInt8] {
            P.sll2(ifindex: 3, pkttype: 0, etherType: 0x0800) + P.ipv4(from, "10.0.0.1", proto: 1, payload: [type, code, 0, 0, 0, 0, 0, 0] + quote)
        }
        let unreachable = classify(m, icmpError(from: "10.0.0.254", type: 3, code: 1, quote: quoted))
        #expect(unreachable?.0 == .error && unreachable?.1 == ProbeICMPError(from: IPAddress("10.0.0.254")!, type: 3, code: 1))
        #expect(unreachable?.1?.name == "host-unreachable")
        // port unreachable from the destination is its refusal; from elsewhere an error
        #expect(classify(m, icmpError(from: "10.0.1.2", type: 3, code: 3, quote: quoted))?.0 == .refusal)
        #expect(classify(m, icmpError(from: "10.0.0.254", type: 3, code: 3, quote: quoted))?.0 == .error)
        // an error about another datagram is not about the probe
        let other = P.ipv4("10.0.0.1", "10.0.1.2", proto: 17, payload: P.udp(5001, 53))
        #expect(classify(m, icmpError(from: "10.0.0.254", type: 3, code: 1, quote: other)) == nil)
        #expect(classify(m, P.udpPacket("10.0.1.2", 53, "10.0.0.1", 5000, ifindex: 3, out: false))?.0 == .reply)
    }

    @Test func echoByIdentifier() {
        let m = ProbeMatcher(flow: ProbeFlow(proto: .icmp, dst: IPAddress("10.0.1.2")!), icmpID: 77)
        let P = PacketBytes.self
        #expect(classify(m, P.icmpPacket("10.0.0.1", "10.0.1.2", request: true, id: 77, ifindex: 2, out: true))?.0 == .request)
        #expect(classify(m, P.icmpPacket("10.0.1.2", "10.0.0.1", request: false, id: 77, ifindex: 2, out: false))?.0 == .reply)
        #expect(classify(m, P.icmpPacket("10.0.1.2", "10.0.0.1", request: false, id: 78, ifindex: 2, out: false)) == nil)
    }

    @Test func destinationsOutsideTheHostAreRefused() throws {
        let snap = SampleSnapshot.full()   // namespace "blue" holds 10.0.0.1
        let inside = ProbePlan(flow: ProbeFlow(proto: .tcp, dst: IPAddress("10.0.0.1")!, dport: 22), netns: "blue", captureNetns: ["blue"])
        try inside.check(against: snap)
        let outside = ProbePlan(flow: ProbeFlow(proto: .tcp, dst: IPAddress("192.0.2.7")!, dport: 22), netns: "blue", captureNetns: ["blue"])
        #expect(throws: ProbeError.destinationNotOnHost(IPAddress("192.0.2.7")!)) { try outside.check(against: snap) }
        #expect(ProbeError.destinationNotOnHost(IPAddress("192.0.2.7")!).description.contains("only sent between the host's own namespaces"))
        let nowhere = ProbePlan(flow: inside.flow, netns: "green", captureNetns: [])
        #expect(throws: ProbeError.unknownNamespace("green")) { try nowhere.check(against: snap) }
        var loop = inside
        loop.flow.dst = IPAddress("127.0.0.1")!
        try loop.check(against: snap)
    }

    @Test func traceArguments() {
        var o = ProbeObservation(flow: ProbeFlow(proto: .tcp, src: IPAddress("10.0.0.1"), dst: IPAddress("10.0.1.2")!, sport: 40000, dport: 22),
                                 netns: "blue", answer: .reply)
        #expect(o.traceArguments == "10.0.1.2 from 10.0.0.1 ipproto tcp sport 40000 dport 22")
        o.sourceChosen = true
        #expect(o.traceArguments == "10.0.1.2 ipproto tcp sport 40000 dport 22")
        let e = ProbeObservation(flow: ProbeFlow(proto: .icmp, dst: IPAddress("fd00::2")!, mark: 3), netns: "blue", answer: .none)
        #expect(e.traceArguments == "fd00::2 ipproto ipv6-icmp mark 3")
    }
}

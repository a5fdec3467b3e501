import Foundation
import NSAuditCore
import Testing

@Suite struct CaptureDecodeTests {
    typealias B = PacketBytes

    @Test func sll2IPv4TCPSyn() throws {
        let p = B.tcpPacket("192.168.127.10", 41234, "10.99.0.40", 22, flags: TCPFlag.syn, ifindex: 3, out: false)
        let h = try PacketDecoder.decode(p, linkType: PcapLinkType.linuxSLL2).get()
        #expect(h.ifindex == 3)
        #expect(h.direction == .incoming)
        #expect(h.src == IPAddress("192.168.127.10")!)
        #expect(h.dst == IPAddress("10.99.0.40")!)
        #expect(h.proto == IPProto.tcp)
        #expect(h.srcPort == 41234 && h.dstPort == 22)
        #expect(h.tcpFlags == TCPFlag.syn)
        #expect(h.hasTransport)
    }

    @Test func sll2OutgoingIPv6WithHopByHopAndICMPv6() throws {
        // Hop-by-hop options header (8 bytes, next = ICMPv6) before an echo reply.
        let hbh: [UInt8] = [58, 0, 1, 4, 0, 0, 0, 0]
        let icmp = B.icmpEcho(type: 129, id: 77, seq: 3)
        let p = B.sll2(ifindex: 2, pkttype: 4, etherType: 0x86dd) + B.ipv6("fd00:99::40", "fd00:127::10", next: 0, payload: hbh + icmp)
        let h = try PacketDecoder.decode(p, linkType: PcapLinkType.linuxSLL2).get()
        #expect(h.direction == .outgoing)
        #expect(h.family == .v6)
        #expect(h.proto == IPProto.icmpv6)
        #expect(h.isICMPEchoReply)
        #expect(h.srcPort == 77)
        #expect(h.src.description == "fd00:99::40")
    }

    @Test func ethernetWithVLANAndLinuxSLL() throws {
        let ip = B.ipv4("10.0.0.1", "10.0.0.2", proto: 17, payload: B.udp(5000, 53))
        let eth: [UInt8] = Array(repeating: 0xaa, count: 12) + [0x81, 0x00, 0x00, 0x07, 0x08, 0x00] + ip
        let h = try PacketDecoder.decode(eth, linkType: PcapLinkType.ethernet).get()
        #expect(h.proto == IPProto.udp && h.srcPort == 5000 && h.dstPort == 53)
        #expect(h.direction == .unknown && h.ifindex == nil)
        // LINUX_SLL (v1): packet type 4 = outgoing, no interface index.
        let sll: [UInt8] = B.be16(4) + B.be16(1) + B.be16(6) + Array(repeating: 0, count: 8) + B.be16(0x0800) + ip
        let h1 = try PacketDecoder.decode(sll, linkType: PcapLinkType.linuxSLL).get()
        #expect(h1.direction == .outgoing && h1.ifindex == nil)
        let raw = try PacketDecoder.decode(ip, linkType: PcapLinkType.raw).get()
        #expect(raw.dst == IPAddress("10.0.0.2")!)
    }

    @Test func truncatedNonIPAndFragments() {
        let p = B.tcpPacket("10.0.0.1", 1, "10.0.0.2", 2, flags: TCPFlag.syn, ifindex: 1, out: true)
        #expect(throws: PacketDecoder.DecodeSkipError(skip: .truncated)) {
            try PacketDecoder.decode(Array(p.prefix(30)), linkType: PcapLinkType.linuxSLL2).get()
        }
        let arp = B.sll2(ifindex: 1, pkttype: 0, etherType: 0x0806) + Array(repeating: 0, count: 28)
        #expect(throws: PacketDecoder.DecodeSkipError(skip: .notIP)) {
            try PacketDecoder.decode(arp, linkType: PcapLinkType.linuxSLL2).get()
        }
        #expect(throws: PacketDecoder.DecodeSkipError(skip: .unsupportedLinkType)) {
            try PacketDecoder.decode(p, linkType: 147).get()
        }
        // Transport header cut by the snap length: addresses known, ports not.
        let short = Array(p.prefix(20 + 20 + 2))
        let h = try? PacketDecoder.decode(short, linkType: PcapLinkType.linuxSLL2).get()
        #expect(h?.hasTransport == false)
        // A non-first IPv4 fragment has no transport header.
        let frag = B.sll2(ifindex: 1, pkttype: 0, etherType: 0x0800) + B.ipv4("10.0.0.1", "10.0.0.2", proto: 17, payload: B.udp(1, 2), fragOffset: 100)
        let hf = try? PacketDecoder.decode(frag, linkType: PcapLinkType.linuxSLL2).get()
        #expect(hf?.hasTransport == false)
    }

    @Test func durations() {
        #expect(CaptureDuration.parse("5s") == 5)
        #expect(CaptureDuration.parse("2m") == 120)
        #expect(CaptureDuration.parse("500ms") == 0.5)
        #expect(CaptureDuration.parse("1m30s") == 90)
        #expect(CaptureDuration.parse("1h") == 3600)
        #expect(CaptureDuration.parse("7") == 7)
        #expect(CaptureDuration.parse("0s") == nil)
        #expect(CaptureDuration.parse("5x") == nil)
        #expect(CaptureDuration.parse("") == nil)
        #expect(CaptureDuration.parse("s") == nil)
        #expect(CaptureDuration.parse("-3") == nil)
    }
}

import Foundation
import NSAuditCore
import Testing

/// Hand-built packets: link headers, IPv4/IPv6, transport headers.
enum PacketBytes {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }

    /// LINUX_SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, address(8).
    static func sll2(ifindex: Int32, pkttype: UInt8, etherType: UInt16, hatype: UInt16 = 1) -> [UInt8] {
        be16(etherType) + [0, 0] + be32(UInt32(bitPattern: ifindex)) + be16(hatype) + [pkttype, 6] + [2, 0, 0, 0, 0, 1, 0, 0]
    }
    static func ipv4(_ src: String, _ dst: String, proto: UInt8, payload: [UInt8], fragOffset: UInt16 = 0) -> [UInt8] {
        let s = IPAddress(src)!, d = IPAddress(dst)!
        return [0x45, 0] + be16(UInt16(20 + payload.count)) + [0, 1] + be16(fragOffset) + [64, proto, 0, 0]
            + s.bytes + d.bytes + payload
    }
    static func ipv6(_ src: String, _ dst: String, next: UInt8, payload: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(UInt16(payload.count)) + [next, 64] + IPAddress(src)!.bytes + IPAddress(dst)!.bytes + payload
    }
    static func tcp(_ sport: UInt16, _ dport: UInt16, flags: UInt8) -> [UInt8] {
        be16(sport) + be16(dport) + be32(1) + be32(0) + [0x50, flags] + be16(65535) + [0, 0, 0, 0]
    }
    static func udp(_ sport: UInt16, _ dport: UInt16) -> [UInt8] { be16(sport) + be16(dport) + be16(8) + [0, 0] }
    static func icmpEcho(type: UInt8, id: UInt16, seq: UInt16) -> [UInt8] { [type, 0, 0, 0] + be16(id) + be16(seq) }

    /// A TCP packet over SLL2 (IPv4 or IPv6 by address).
    static func tcpPacket(_ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16, flags: UInt8,
                          ifindex: Int32, out: Bool) -> [UInt8] {
        let t = tcp(sport, dport, flags: flags)
        if src.contains(":") {
            return sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x86dd) + ipv6(src, dst, next: 6, payload: t)
        }
        return sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x0800) + ipv4(src, dst, proto: 6, payload: t)
    }
    static func icmpPacket(_ src: String, _ dst: String, request: Bool, id: UInt16, ifindex: Int32, out: Bool) -> [UInt8] {
        sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x0800)
            + ipv4(src, dst, proto: 1, payload: icmpEcho(type: request ? 8 : 0, id: id, seq: 1))
    }
    static func udpPacket(_ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16, ifindex: Int32, out: Bool) -> [UInt8] {
        sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x0800) + ipv4(src, dst, proto: 17, payload: udp(sport, dport))
    }
}

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

@Suite struct CaptureFileFormatTests {
    typealias B = PacketBytes

    /// A classic pcap file: little-endian microseconds or big-endian nanoseconds.
    static func classic(bigEndianNano: Bool = false, linkType: UInt32 = 276, packets: [(UInt32, UInt32, [UInt8])]) -> [UInt8] {
        func u32(_ v: UInt32) -> [UInt8] { bigEndianNano ? B.be32(v) : (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func u16(_ v: UInt16) -> [UInt8] { bigEndianNano ? B.be16(v) : [UInt8(v & 0xff), UInt8(v >> 8)] }
        var out = u32(bigEndianNano ? 0xA1B2_3C4D : 0xA1B2_C3D4) + u16(2) + u16(4) + u32(0) + u32(0) + u32(128) + u32(linkType)
        for (sec, frac, data) in packets {
            out += u32(sec) + u32(frac) + u32(UInt32(data.count)) + u32(UInt32(data.count + 100)) + data
        }
        return out
    }

    @Test func classicPcapBothByteOrders() throws {
        let p1 = B.icmpPacket("10.0.0.1", "10.0.0.2", request: true, id: 5, ifindex: 2, out: false)
        let le = try PcapFile.parse(Self.classic(packets: [(1_700_000_000, 250_000, p1)]))
        #expect(le.format == .pcap)
        #expect(le.interfaces.first?.linkType == PcapLinkType.linuxSLL2)
        #expect(le.packets.count == 1 && le.damage == nil)
        #expect(le.packets[0].timestampNs == 1_700_000_000_250_000_000)
        #expect(le.packets[0].data == p1)
        #expect(le.packets[0].originalLength == UInt32(p1.count + 100))
        let be = try PcapFile.parse(Self.classic(bigEndianNano: true, packets: [(1_700_000_000, 123, p1)]))
        #expect(be.packets.first?.timestampNs == 1_700_000_000_000_000_123)
    }

    @Test func truncatedPcapKeepsWhatWasRead() throws {
        let p = B.icmpPacket("10.0.0.1", "10.0.0.2", request: true, id: 5, ifindex: 2, out: false)
        let full = Self.classic(packets: [(1, 0, p), (2, 0, p), (3, 0, p)])
        let cut = Array(full.prefix(full.count - 10))
        let f = try PcapFile.parse(cut)
        #expect(f.packets.count == 2)
        guard case .truncated = f.damage else { Issue.record("expected truncation, got \(String(describing: f.damage))"); return }
        // A record header claiming an absurd length is corruption, not truncation.
        var bad = full
        bad[24 + 8] = 0xff; bad[24 + 9] = 0xff; bad[24 + 10] = 0xff
        let g = try PcapFile.parse(bad)
        #expect(g.packets.isEmpty)
        guard case .corrupt = g.damage else { Issue.record("expected corruption"); return }
    }

    @Test func unreadableFilesThrowClearErrors() {
        #expect(throws: PcapError.empty) { try PcapFile.parse([]) }
        #expect(throws: PcapError.unknownFormat(magic: 0x6c6c_6568)) { try PcapFile.parse(Array("hello world".utf8)) }
        #expect(throws: PcapError.self) { try PcapFile.parse(Array(Self.classic(packets: []).prefix(20))) }
        let text = PcapError.unknownFormat(magic: 1).description
        #expect(text.contains("not a pcap or pcapng file"))
    }

    @Test func unsupportedLinkTypeIsAWarning() throws {
        // LINKTYPE_IEEE802_11 (105): read, not decoded, and said so.
        let f = try PcapFile.parse(Self.classic(linkType: 105, packets: [(1, 0, [1, 2, 3, 4])]))
        #expect(f.packets.count == 1)
        #expect(f.warnings.contains { $0.contains("not decoded") })
        let obs = CaptureAnalysis.observe(f, netns: "x")
        #expect(obs.flows.isEmpty && obs.stats.first?.undecoded == 1)
    }

    @Test func pcapngRoundTrip() throws {
        var w = PcapngWriter()
        let a = w.addInterface(linkType: PcapLinkType.linuxSLL2, snaplen: 128, name: "ens19", description: "netns=server ifindex=3")
        let b = w.addInterface(linkType: PcapLinkType.linuxSLL2, snaplen: 128, name: "eth0", description: "netns=router ifindex=2")
        let p = B.tcpPacket("192.168.127.10", 40000, "10.99.0.40", 22, flags: TCPFlag.syn, ifindex: 3, out: false)
        let q = B.tcpPacket("10.99.0.40", 22, "192.168.127.10", 40000, flags: TCPFlag.syn | TCPFlag.ack, ifindex: 2, out: true)
        w.addPacket(interface: a, timestampNs: 1_700_000_000_123_456_789, originalLength: 74, data: p, direction: .incoming)
        w.addPacket(interface: b, timestampNs: 1_700_000_000_223_456_789, originalLength: 74, data: q, direction: .outgoing)
        w.addPacket(interface: b, timestampNs: 1_700_000_001_000_000_000, originalLength: 3, data: [1, 2, 3])
        let f = try PcapFile.parse(w.bytes)
        #expect(f.format == .pcapng && f.damage == nil)
        #expect(f.interfaces.map(\.name) == ["ens19", "eth0"])
        #expect(f.interfaces.map(\.netns) == ["server", "router"])
        #expect(f.interfaces[0].ifindex == 3)
        #expect(f.interfaces[0].unitsPerSecond == 1_000_000_000)
        #expect(f.packets.count == 3)
        #expect(f.packets[0].timestampNs == 1_700_000_000_123_456_789)
        #expect(f.packets[0].direction == .incoming && f.packets[1].direction == .outgoing && f.packets[2].direction == .unknown)
        #expect(f.packets[1].interfaceID == 1 && f.packets[1].data == q)
        #expect(f.packets[2].data == [1, 2, 3])
        // Cut in the middle of the last block: the first two packets remain, with the damage noted.
        let cut = try PcapFile.parse(Array(w.bytes.prefix(w.bytes.count - 5)))
        #expect(cut.packets.count == 2)
        #expect(cut.damage != nil)
        // A block whose trailing length disagrees with its header is corrupt.
        var bad = w.bytes
        bad[bad.count - 1] ^= 0x40
        let c = try PcapFile.parse(bad)
        #expect(c.packets.count == 2)
        guard case .corrupt = c.damage else { Issue.record("expected corruption"); return }
    }

    @Test func observeMapsInterfaceIndexesThroughTheSnapshot() throws {
        var ns = NamespaceSnapshot(id: "srv", names: ["srv"])
        ns.links = [Link(index: 1, name: "lo"), Link(index: 2, name: "ens18"), Link(index: 3, name: "ens19")]
        let snap = Snapshot(generator: "t", host: "h", kernel: "k", takenAt: "now", namespaces: [ns])
        let pkts: [(UInt32, UInt32, [UInt8])] = [
            (1, 0, B.tcpPacket("192.168.127.10", 40000, "10.99.0.40", 22, flags: TCPFlag.syn, ifindex: 3, out: false)),
            (1, 10, B.tcpPacket("10.99.0.40", 22, "192.168.127.10", 40000, flags: TCPFlag.syn | TCPFlag.ack, ifindex: 2, out: true)),
        ]
        let file = try PcapFile.parse(Self.classic(packets: pkts))
        let obs = CaptureAnalysis.observe(file, netns: "srv", snapshot: snap)
        #expect(obs.flows.count == 1)
        let f = try #require(obs.flows.first)
        #expect(f.requestIngress == ["ens19"] && f.replyEgress == ["ens18"])
        #expect(f.isAsymmetric)
        #expect(obs.warnings.isEmpty)
        // Without the snapshot the indexes stay numbers and a warning says why.
        let bare = CaptureAnalysis.observe(file, netns: "srv", snapshot: nil)
        #expect(bare.flows.first?.requestIngress == ["if3"])
        #expect(bare.warnings.contains { $0.contains("without a snapshot") })
        // LINUX_SLL has no interface index: a warning says how to capture instead.
        let sllFile = PcapFile(format: .pcap, interfaces: [PcapInterface(linkType: PcapLinkType.linuxSLL)],
                               packets: [PcapPacket(interfaceID: 0, timestampNs: 1, originalLength: 60,
                                                    data: B.be16(0) + B.be16(1) + B.be16(6) + Array(repeating: 0, count: 8) + B.be16(0x0800)
                                                        + B.ipv4("1.1.1.1", "2.2.2.2", proto: 17, payload: B.udp(1, 2)))])
        #expect(CaptureAnalysis.observe(sllFile, netns: "x").warnings.contains { $0.contains("LINUX_SLL2") })
    }
}

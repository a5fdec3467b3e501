import Foundation
import NSAuditCore
import Testing

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

    /// A little-endian pcapng file: one section, one interface with `tsresol` (if_tsresol, one
    /// byte) and `tsoffset` (if_tsoffset, seconds), one enhanced packet block per timestamp.
    static func pcapng(tsresol: UInt8, tsoffset: Int64? = nil, timestamps: [UInt64], data: [UInt8]) -> [UInt8] {
        func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
        func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
        func u64(_ v: UInt64) -> [UInt8] { u32(UInt32(truncatingIfNeeded: v)) + u32(UInt32(v >> 32)) }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let len = UInt32(12 + body.count)
            return u32(type) + u32(len) + body + u32(len)
        }
        var options = u16(9) + u16(1) + [tsresol, 0, 0, 0]
        if let tsoffset { options += u16(14) + u16(8) + u64(UInt64(bitPattern: tsoffset)) }
        options += u16(0) + u16(0)
        let padded = data + Array(repeating: 0, count: (4 - data.count % 4) % 4)
        var out = block(0x0A0D_0D0A, u32(0x1A2B_3C4D) + u16(1) + u16(0) + u64(UInt64.max))
        out += block(1, u16(UInt16(PcapLinkType.linuxSLL2)) + u16(0) + u32(128) + options)
        for ts in timestamps {
            out += block(6, u32(0) + u32(UInt32(ts >> 32)) + u32(UInt32(truncatingIfNeeded: ts))
                            + u32(UInt32(data.count)) + u32(UInt32(data.count)) + padded)
        }
        return out
    }

    /// Found by the pcap fuzz target: a timestamp in whole seconds (if_tsresol 2^0) beyond
    /// Int64 trapped converting it; an offset that overflows did the same. Out-of-range
    /// timestamps saturate instead, and the packets are kept.
    @Test func timestampsOutOfRangeSaturateInsteadOfTrapping() throws {
        let p = B.icmpPacket("10.0.0.1", "10.0.0.2", request: true, id: 5, ifindex: 2, out: false)
        let huge = try PcapFile.parse(Self.pcapng(tsresol: 0x80, timestamps: [UInt64.max, 1_700_000_000], data: p))
        #expect(huge.damage == nil && huge.packets.count == 2)
        #expect(huge.interfaces.first?.unitsPerSecond == 1)
        #expect(huge.packets.map(\.timestampNs) == [UInt64.max, 1_700_000_000_000_000_000])
        let late = try PcapFile.parse(Self.pcapng(tsresol: 0, tsoffset: .max, timestamps: [5], data: p))
        #expect(late.packets.map(\.timestampNs) == [UInt64.max])
        let early = try PcapFile.parse(Self.pcapng(tsresol: 0, tsoffset: .min, timestamps: [UInt64.max], data: p))
        #expect(early.packets.map(\.timestampNs) == [0])
        // decimal if_tsresol 6 (microseconds) with an offset of 10 s: read as written
        let micro = try PcapFile.parse(Self.pcapng(tsresol: 6, tsoffset: 10, timestamps: [1_500_000], data: p))
        #expect(micro.packets.map(\.timestampNs) == [11_500_000_000])
        #expect(CaptureAnalysis.observe(huge, netns: "x").stats.first?.packets == 2)
        // the input the fuzzer found, as recorded (Fuzz/regressions/pcap)
        let files = Repo.files(in: "Fuzz/regressions/pcap", ext: "pcapng")
        #expect(!files.isEmpty)
        for url in files {
            let f = try PcapFile.parse([UInt8](try Data(contentsOf: url)))
            #expect(f.packets.map(\.timestampNs) == [UInt64.max], "\(url.lastPathComponent)")
        }
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

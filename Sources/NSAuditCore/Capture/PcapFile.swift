/// One interface of a capture file: a pcapng Interface Description Block, or the single
/// implicit interface of a classic pcap file.
public struct PcapInterface: Sendable, Equatable {
    public var linkType: UInt32
    public var snaplen: UInt32
    /// if_name (pcapng); nil for classic pcap. `tcpdump -i any` names it "any".
    public var name: String?
    /// if_description (pcapng). nsaudit writes "netns=NAME ifindex=N" here.
    public var description: String?
    /// Timestamp units per second (if_tsresol).
    public var unitsPerSecond: UInt64
    /// if_tsoffset, in seconds.
    public var tsOffset: Int64

    public init(linkType: UInt32, snaplen: UInt32 = 262_144, name: String? = nil, description: String? = nil,
                unitsPerSecond: UInt64 = 1_000_000, tsOffset: Int64 = 0) {
        self.linkType = linkType; self.snaplen = snaplen; self.name = name; self.description = description
        self.unitsPerSecond = unitsPerSecond; self.tsOffset = tsOffset
    }

    /// The namespace nsaudit recorded in if_description ("netns=NAME ..."), if any.
    public var netns: String? { descriptionField("netns") }
    /// The ifindex nsaudit recorded in if_description, if any.
    public var ifindex: Int32? { descriptionField("ifindex").flatMap { Int32($0) } }

    func descriptionField(_ key: String) -> String? {
        guard let description else { return nil }
        for part in description.split(separator: " ") where part.hasPrefix(key + "=") {
            return String(part.dropFirst(key.count + 1))
        }
        return nil
    }

    /// A real interface name: not nil, not empty and not the `any` pseudo-device.
    public var specificName: String? {
        guard let name, !name.isEmpty, name != "any" else { return nil }
        return name
    }
}

/// One captured packet of a file. `data` holds the captured bytes (link header included).
public struct PcapPacket: Sendable, Equatable {
    /// Index into `PcapFile.interfaces`.
    public var interfaceID: Int
    /// Nanoseconds since the Unix epoch.
    public var timestampNs: UInt64
    public var originalLength: UInt32
    public var data: [UInt8]
    /// pcapng epb_flags direction (inbound/outbound); `.unknown` when absent.
    public var direction: PacketDirection

    public init(interfaceID: Int, timestampNs: UInt64, originalLength: UInt32, data: [UInt8],
                direction: PacketDirection = .unknown) {
        self.interfaceID = interfaceID; self.timestampNs = timestampNs
        self.originalLength = originalLength; self.data = data; self.direction = direction
    }
}

public enum PcapFormat: String, Sendable, Codable { case pcap, pcapng }

/// What went wrong reading a capture file.
public enum PcapError: Error, Equatable, CustomStringConvertible, Sendable {
    case empty
    case unknownFormat(magic: UInt32)
    case truncated(offset: Int, what: String)
    case corrupt(offset: Int, what: String)
    case unsupportedVersion(major: UInt16, minor: UInt16)

    public var description: String {
        switch self {
        case .empty: "the capture file is empty"
        case .unknownFormat(let m):
            "not a pcap or pcapng file (magic 0x\(String(m, radix: 16))); nsaudit reads pcap and pcapng as written by tcpdump, tshark, dumpcap or nsaudit capture -w"
        case .truncated(let o, let w): "capture truncated at byte \(o): \(w)"
        case .corrupt(let o, let w): "capture corrupt at byte \(o): \(w)"
        case .unsupportedVersion(let a, let b): "unsupported capture file version \(a).\(b)"
        }
    }
}

/// A capture file read from bytes: pcap (micro- or nanosecond, either byte order) or pcapng
/// (any number of sections, interfaces, enhanced/simple/obsolete packet blocks).
/// Damage after a readable start does not throw: the packets before it are kept and
/// `damage` says what happened.
public struct PcapFile: Sendable {
    public var format: PcapFormat
    public var interfaces: [PcapInterface]
    public var packets: [PcapPacket]
    /// Set when reading stopped early (truncated or corrupt data): what was read is kept.
    public var damage: PcapError?
    /// Non-fatal notes (unsupported link types, skipped blocks).
    public var warnings: [String]

    public init(format: PcapFormat, interfaces: [PcapInterface] = [], packets: [PcapPacket] = [],
                damage: PcapError? = nil, warnings: [String] = []) {
        self.format = format; self.interfaces = interfaces; self.packets = packets
        self.damage = damage; self.warnings = warnings
    }

    /// Parses a whole capture file. Throws only when nothing can be read (not a capture file,
    /// or the file header itself is damaged).
    public static func parse(_ bytes: [UInt8]) throws -> PcapFile {
        guard bytes.count >= 4 else {
            if bytes.isEmpty { throw PcapError.empty }
            throw PcapError.truncated(offset: 0, what: "file header (\(bytes.count) bytes)")
        }
        let le = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        switch le {
        case 0x0A0D_0D0A:
            var parser = PcapngParser(bytes)
            return try parser.parse()
        case 0xA1B2_C3D4, 0xA1B2_3C4D, 0xD4C3_B2A1, 0x4D3C_B2A1: return try parseClassic(bytes, magic: le)
        default: throw PcapError.unknownFormat(magic: le)
        }
    }

    static func parseClassic(_ b: [UInt8], magic: UInt32) throws -> PcapFile {
        let little = magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D
        let nano = magic == 0xA1B2_3C4D || magic == 0x4D3C_B2A1
        let r = ByteReader(b, little: little)
        guard b.count >= 24 else { throw PcapError.truncated(offset: 0, what: "pcap file header (\(b.count) of 24 bytes)") }
        let major = r.u16(4), minor = r.u16(6)
        guard major == 2 else { throw PcapError.unsupportedVersion(major: major, minor: minor) }
        let snaplen = r.u32(16)
        let linkType = r.u32(20) & 0x0FFF_FFFF
        var file = PcapFile(format: .pcap, interfaces: [PcapInterface(linkType: linkType, snaplen: snaplen,
                                                                        unitsPerSecond: nano ? 1_000_000_000 : 1_000_000)])
        if !PcapLinkType.isSupported(linkType) {
            file.warnings.append("link type \(PcapLinkType.name(linkType)) is not decoded; capture with `tcpdump -i any -y LINUX_SLL2`")
        }
        var off = 24
        let maxLen = max(snaplen, 262_144)
        while off < b.count {
            guard b.count - off >= 16 else {
                file.damage = .truncated(offset: off, what: "packet record header (\(b.count - off) of 16 bytes)")
                break
            }
            let sec = UInt64(r.u32(off)), frac = UInt64(r.u32(off + 4))
            let incl = r.u32(off + 8), orig = r.u32(off + 12)
            if incl > maxLen || (nano ? frac >= 1_000_000_000 : frac >= 1_000_000) {
                file.damage = .corrupt(offset: off, what: "packet record with captured length \(incl), fraction \(frac)")
                break
            }
            let start = off + 16, end = start + Int(incl)
            guard end <= b.count else {
                file.damage = .truncated(offset: off, what: "packet data (\(b.count - start) of \(incl) bytes)")
                break
            }
            let ts = sec * 1_000_000_000 + (nano ? frac : frac * 1000)
            file.packets.append(PcapPacket(interfaceID: 0, timestampNs: ts, originalLength: orig, data: Array(b[start..<end])))
            off = end
        }
        return file
    }
}

/// Endian-aware reads from a byte array.
struct ByteReader {
    let b: [UInt8]
    var little: Bool
    init(_ b: [UInt8], little: Bool) { self.b = b; self.little = little }
    func u16(_ o: Int) -> UInt16 {
        little ? UInt16(b[o]) | UInt16(b[o + 1]) << 8 : UInt16(b[o]) << 8 | UInt16(b[o + 1])
    }
    func u32(_ o: Int) -> UInt32 {
        little
            ? UInt32(b[o]) | UInt32(b[o + 1]) << 8 | UInt32(b[o + 2]) << 16 | UInt32(b[o + 3]) << 24
            : UInt32(b[o]) << 24 | UInt32(b[o + 1]) << 16 | UInt32(b[o + 2]) << 8 | UInt32(b[o + 3])
    }
    func u64(_ o: Int) -> UInt64 {
        little ? UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 : UInt64(u32(o)) << 32 | UInt64(u32(o + 4))
    }
}

/// pcapng: blocks of (type, total length, body, total length); options are (code, length,
/// value padded to 4). Byte order is per section (Section Header Block).
struct PcapngParser {
    let b: [UInt8]
    var r: ByteReader
    var file = PcapFile(format: .pcapng)
    /// Interfaces of the current section map to `file.interfaces` through this offset.
    var sectionBase = 0

    init(_ b: [UInt8]) { self.b = b; r = ByteReader(b, little: true) }

    mutating func parse() throws -> PcapFile {
        var off = 0
        var first = true
        while off < b.count {
            guard b.count - off >= 12 else {
                if first { throw PcapError.truncated(offset: off, what: "section header block") }
                file.damage = .truncated(offset: off, what: "block header (\(b.count - off) bytes left)")
                break
            }
            var type = r.u32(off)
            if type == 0x0A0D_0D0A {
                // Byte order magic decides this section's endianness.
                let bom = UInt32(b[off + 8]) | UInt32(b[off + 9]) << 8 | UInt32(b[off + 10]) << 16 | UInt32(b[off + 11]) << 24
                if bom == 0x1A2B_3C4D { r.little = true } else if bom == 0x4D3C_2B1A { r.little = false } else {
                    if first { throw PcapError.corrupt(offset: off, what: "byte-order magic 0x\(String(bom, radix: 16))") }
                    file.damage = .corrupt(offset: off, what: "section header byte-order magic")
                    break
                }
                type = 0x0A0D_0D0A
            } else if first {
                throw PcapError.corrupt(offset: 0, what: "pcapng must start with a section header block")
            }
            let len = Int(r.u32(off + 4))
            guard len >= 12, len % 4 == 0 else {
                if first { throw PcapError.corrupt(offset: off, what: "block length \(len)") }
                file.damage = .corrupt(offset: off, what: "block length \(len)")
                break
            }
            guard off + len <= b.count else {
                if first { throw PcapError.truncated(offset: off, what: "section header block") }
                file.damage = .truncated(offset: off, what: "block of type 0x\(String(type, radix: 16)) (\(b.count - off) of \(len) bytes)")
                break
            }
            guard Int(r.u32(off + len - 4)) == len else {
                if first { throw PcapError.corrupt(offset: off, what: "section header block trailer") }
                file.damage = .corrupt(offset: off, what: "block trailer length differs from header (\(r.u32(off + len - 4)) vs \(len))")
                break
            }
            let body = off + 8, end = off + len - 4
            do {
                try block(type: type, body: body, end: end, at: off)
            } catch let e as PcapError {
                if first { throw e }
                file.damage = e
                break
            }
            first = false
            off += len
        }
        return file
    }

    mutating func block(type: UInt32, body: Int, end: Int, at off: Int) throws {
        switch type {
        case 0x0A0D_0D0A:  // SHB
            guard end - body >= 16 else { throw PcapError.corrupt(offset: off, what: "short section header block") }
            let major = r.u16(body + 4), minor = r.u16(body + 6)
            guard major == 1 else { throw PcapError.unsupportedVersion(major: major, minor: minor) }
            sectionBase = file.interfaces.count
        case 1:  // IDB
            guard end - body >= 8 else { throw PcapError.corrupt(offset: off, what: "short interface description block") }
            var itf = PcapInterface(linkType: UInt32(r.u16(body)), snaplen: r.u32(body + 4))
            try options(body + 8, end, off) { code, v0, v1 in
                switch code {
                case 2: itf.name = string(v0, v1)
                case 3: itf.description = string(v0, v1)
                case 9 where v1 > v0:
                    let v = b[v0]
                    if v & 0x80 != 0 {
                        let e = UInt64(v & 0x7f)
                        itf.unitsPerSecond = e < 63 ? (1 << e) : 1_000_000_000
                    } else {
                        var u: UInt64 = 1
                        for _ in 0..<min(Int(v), 18) { u *= 10 }
                        itf.unitsPerSecond = u
                    }
                case 14 where v1 - v0 >= 8: itf.tsOffset = Int64(bitPattern: r.u64(v0))
                default: break
                }
            }
            if !PcapLinkType.isSupported(itf.linkType) {
                file.warnings.append("interface \(file.interfaces.count) (\(itf.name ?? "unnamed")): link type \(PcapLinkType.name(itf.linkType)) is not decoded")
            }
            file.interfaces.append(itf)
        case 6:  // EPB
            guard end - body >= 20 else { throw PcapError.corrupt(offset: off, what: "short enhanced packet block") }
            let ifid = Int(r.u32(body))
            let ts = UInt64(r.u32(body + 4)) << 32 | UInt64(r.u32(body + 8))
            let cap = Int(r.u32(body + 12)), orig = r.u32(body + 16)
            let data = body + 20
            guard data + cap <= end else { throw PcapError.corrupt(offset: off, what: "packet length \(cap) exceeds its block") }
            guard sectionBase + ifid < file.interfaces.count else {
                throw PcapError.corrupt(offset: off, what: "packet refers to undeclared interface \(ifid)")
            }
            var dir = PacketDirection.unknown
            try options(data + (cap + 3) & ~3, end, off) { code, v0, v1 in
                if code == 2, v1 - v0 >= 4 {
                    switch r.u32(v0) & 3 {
                    case 1: dir = .incoming
                    case 2: dir = .outgoing
                    default: break
                    }
                }
            }
            append(ifid: sectionBase + ifid, ts: ts, orig: orig, data: data, cap: cap, dir: dir)
        case 3:  // SPB
            guard end - body >= 4 else { throw PcapError.corrupt(offset: off, what: "short simple packet block") }
            guard sectionBase < file.interfaces.count else {
                throw PcapError.corrupt(offset: off, what: "simple packet block before any interface")
            }
            let orig = r.u32(body)
            let snap = Int(file.interfaces[sectionBase].snaplen)
            let cap = min(Int(orig), snap == 0 ? Int.max : snap, end - body - 4)
            append(ifid: sectionBase, ts: 0, orig: orig, data: body + 4, cap: cap, dir: .unknown)
        case 2:  // obsolete packet block
            guard end - body >= 20 else { throw PcapError.corrupt(offset: off, what: "short packet block") }
            let ifid = Int(r.u16(body))
            let ts = UInt64(r.u32(body + 4)) << 32 | UInt64(r.u32(body + 8))
            let cap = Int(r.u32(body + 12)), orig = r.u32(body + 16)
            guard body + 20 + cap <= end, sectionBase + ifid < file.interfaces.count else {
                throw PcapError.corrupt(offset: off, what: "packet block")
            }
            append(ifid: sectionBase + ifid, ts: ts, orig: orig, data: body + 20, cap: cap, dir: .unknown)
        default:
            break  // name resolution, statistics, decryption secrets, custom: not needed
        }
    }

    mutating func append(ifid: Int, ts: UInt64, orig: UInt32, data: Int, cap: Int, dir: PacketDirection) {
        let itf = file.interfaces[ifid]
        let ups = itf.unitsPerSecond
        let sec = ts / ups, frac = ts % ups
        let ns: UInt64 = ups == 1_000_000_000 ? frac : ups < 1_000_000_000
            ? frac * (1_000_000_000 / ups) : frac / (ups / 1_000_000_000)
        // A timestamp that does not fit 64-bit nanoseconds since the epoch (a damaged or
        // hostile file: units of seconds with a huge value, an offset out of range) saturates
        // at the range's end instead of trapping; such packets sort last, or first when
        // before the epoch.
        let (adj, overflow) = Int64(clamping: sec).addingReportingOverflow(itf.tsOffset)
        let seconds = overflow ? (itf.tsOffset < 0 ? 0 : UInt64.max) : UInt64(max(0, adj))
        let (whole, o1) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (tsNs, o2) = whole.addingReportingOverflow(ns)
        file.packets.append(PcapPacket(interfaceID: ifid, timestampNs: o1 || o2 ? UInt64.max : tsNs, originalLength: orig,
                                       data: Array(b[data..<(data + cap)]), direction: dir))
    }

    func string(_ v0: Int, _ v1: Int) -> String {
        var e = v1
        while e > v0, b[e - 1] == 0 { e -= 1 }
        return String(decoding: b[v0..<e], as: UTF8.self)
    }

    func options(_ start: Int, _ end: Int, _ blockOff: Int, _ each: (UInt16, Int, Int) -> Void) throws {
        var o = start
        while o + 4 <= end {
            let code = r.u16(o), len = Int(r.u16(o + 2))
            if code == 0 { return }
            let v0 = o + 4, v1 = v0 + len
            guard v1 <= end else { throw PcapError.corrupt(offset: blockOff, what: "option \(code) overruns its block") }
            each(code, v0, v1)
            o = v0 + (len + 3) & ~3
        }
    }
}

/// Link-layer types (pcap LINKTYPE_* / DLT_* values) nsaudit decodes.
public enum PcapLinkType {
    public static let null: UInt32 = 0
    public static let ethernet: UInt32 = 1
    public static let raw: UInt32 = 101
    public static let loop: UInt32 = 108
    public static let linuxSLL: UInt32 = 113
    public static let ipv4: UInt32 = 228
    public static let ipv6: UInt32 = 229
    public static let linuxSLL2: UInt32 = 276

    public static func isSupported(_ t: UInt32) -> Bool {
        [null, ethernet, raw, loop, linuxSLL, ipv4, ipv6, linuxSLL2].contains(t)
    }
    public static func name(_ t: UInt32) -> String {
        switch t {
        case null: "NULL"
        case ethernet: "EN10MB"
        case raw: "RAW"
        case loop: "LOOP"
        case linuxSLL: "LINUX_SLL"
        case ipv4: "IPV4"
        case ipv6: "IPV6"
        case linuxSLL2: "LINUX_SLL2"
        default: "linktype \(t)"
        }
    }
}

/// Which way a packet crossed its interface, as the capture saw it.
public enum PacketDirection: UInt8, Sendable, Codable {
    case unknown = 0
    /// Received: Linux packet types HOST, BROADCAST, MULTICAST, OTHERHOST; pcapng "inbound".
    case incoming = 1
    /// Sent (Linux PACKET_OUTGOING; pcapng "outbound").
    case outgoing = 2

    /// From a Linux cooked-capture packet type (sll_pkttype).
    public init(linuxPacketType t: UInt16) {
        switch t {
        case 0, 1, 2, 3: self = .incoming
        case 4: self = .outgoing
        default: self = .unknown
        }
    }
}

/// Protocol names as nsaudit's observed flows spell them (icmpv6 rather than ipv6-icmp).
public enum FlowProtocol {
    public static func name(_ p: UInt8) -> String {
        p == IPProto.icmpv6 ? "icmpv6" : IPProto.name(p)
    }
    public static func number(_ name: String) -> UInt8? { IPProto.parse(name) }
}

public enum TCPFlag {
    public static let fin: UInt8 = 0x01
    public static let syn: UInt8 = 0x02
    public static let rst: UInt8 = 0x04
    public static let psh: UInt8 = 0x08
    public static let ack: UInt8 = 0x10
}

/// The headers of one captured packet that request/reply pairing needs. Payload is never
/// looked at (and never captured: the live capture keeps a small snap length).
public struct PacketHeaders: Sendable, Equatable {
    /// The interface index from a LINUX_SLL2 header (in the capturing namespace).
    public var ifindex: Int32?
    public var direction: PacketDirection
    public var family: IPAddress.Family
    public var src: IPAddress
    public var dst: IPAddress
    public var proto: UInt8
    /// TCP/UDP ports; for ICMP echo the identifier is in `srcPort` and `dstPort` is 0.
    public var srcPort: UInt16
    public var dstPort: UInt16
    public var tcpFlags: UInt8
    public var icmpType: UInt8
    public var icmpCode: UInt8
    /// False for non-first fragments and truncated transport headers: no ports known.
    public var hasTransport: Bool
    /// Seen on a loopback device (ARPHRD_LOOPBACK in a Linux cooked header). libpcap's `any`
    /// device reports loopback packets once, as received: they were also sent there.
    public var loopback: Bool = false

    public init(ifindex: Int32? = nil, direction: PacketDirection = .unknown, src: IPAddress, dst: IPAddress,
                proto: UInt8, srcPort: UInt16 = 0, dstPort: UInt16 = 0, tcpFlags: UInt8 = 0,
                icmpType: UInt8 = 0, icmpCode: UInt8 = 0, hasTransport: Bool = true) {
        self.ifindex = ifindex; self.direction = direction; self.family = src.family
        self.src = src; self.dst = dst; self.proto = proto; self.srcPort = srcPort; self.dstPort = dstPort
        self.tcpFlags = tcpFlags; self.icmpType = icmpType; self.icmpCode = icmpCode; self.hasTransport = hasTransport
    }

    public var isICMPEchoRequest: Bool {
        (proto == IPProto.icmp && icmpType == 8) || (proto == IPProto.icmpv6 && icmpType == 128)
    }
    public var isICMPEchoReply: Bool {
        (proto == IPProto.icmp && icmpType == 0) || (proto == IPProto.icmpv6 && icmpType == 129)
    }
}

/// Why a packet was not decoded into `PacketHeaders`.
public enum DecodeSkip: Sendable, Equatable {
    case notIP
    case truncated
    case unsupportedLinkType
}

/// Decodes link (LINUX_SLL2, LINUX_SLL, Ethernet with VLAN tags, raw IP, BSD loopback), IPv4,
/// IPv6 (walking extension headers), TCP, UDP, ICMP and ICMPv6 headers from captured bytes.
public enum PacketDecoder {
    public static func decode(_ bytes: [UInt8], linkType: UInt32) -> Result<PacketHeaders, DecodeSkipError> {
        bytes.withUnsafeBytes { decode($0, linkType: linkType) }
    }

    public struct DecodeSkipError: Error, Equatable {
        public var skip: DecodeSkip
        public init(skip: DecodeSkip) { self.skip = skip }
    }

    public static func decode(_ p: UnsafeRawBufferPointer, linkType: UInt32) -> Result<PacketHeaders, DecodeSkipError> {
        var ifindex: Int32? = nil
        var direction = PacketDirection.unknown
        var loopback = false
        var etherType: UInt16
        var off: Int
        switch linkType {
        case PcapLinkType.linuxSLL2:
            // protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
            guard p.count >= 20 else { return .failure(.init(skip: .truncated)) }
            etherType = be16(p, 0)
            ifindex = Int32(bitPattern: be32(p, 4))
            loopback = be16(p, 8) == 772
            direction = PacketDirection(linuxPacketType: UInt16(p[10]))
            off = 20
        case PcapLinkType.linuxSLL:
            // pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
            guard p.count >= 16 else { return .failure(.init(skip: .truncated)) }
            direction = PacketDirection(linuxPacketType: be16(p, 0))
            loopback = be16(p, 2) == 772
            etherType = be16(p, 14)
            off = 16
        case PcapLinkType.ethernet:
            guard p.count >= 14 else { return .failure(.init(skip: .truncated)) }
            etherType = be16(p, 12)
            off = 14
            // 802.1Q / 802.1ad tags
            while etherType == 0x8100 || etherType == 0x88a8 {
                guard p.count >= off + 4 else { return .failure(.init(skip: .truncated)) }
                etherType = be16(p, off + 2)
                off += 4
            }
        case PcapLinkType.raw, PcapLinkType.ipv4, PcapLinkType.ipv6:
            guard p.count >= 1 else { return .failure(.init(skip: .truncated)) }
            let v = p[0] >> 4
            etherType = v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0
            off = 0
        case PcapLinkType.null, PcapLinkType.loop:
            guard p.count >= 4 else { return .failure(.init(skip: .truncated)) }
            guard p.count >= 5 else { return .failure(.init(skip: .truncated)) }
            let v = p[4] >> 4
            etherType = v == 4 ? 0x0800 : v == 6 ? 0x86dd : 0
            off = 4
        default:
            return .failure(.init(skip: .unsupportedLinkType))
        }
        var r: Result<PacketHeaders, DecodeSkipError>
        switch etherType {
        case 0x0800: r = decodeIPv4(p, off, ifindex, direction)
        case 0x86dd: r = decodeIPv6(p, off, ifindex, direction)
        default: return .failure(.init(skip: .notIP))
        }
        if loopback, case .success(var h) = r { h.loopback = true; r = .success(h) }
        return r
    }

    @inline(__always) static func be16(_ p: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        UInt16(p[o]) << 8 | UInt16(p[o + 1])
    }
    @inline(__always) static func be32(_ p: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(p[o]) << 24 | UInt32(p[o + 1]) << 16 | UInt32(p[o + 2]) << 8 | UInt32(p[o + 3])
    }
    @inline(__always) static func be64(_ p: UnsafeRawBufferPointer, _ o: Int) -> UInt64 {
        UInt64(be32(p, o)) << 32 | UInt64(be32(p, o + 4))
    }

    static func decodeIPv4(_ p: UnsafeRawBufferPointer, _ off: Int, _ ifindex: Int32?, _ dir: PacketDirection) -> Result<PacketHeaders, DecodeSkipError> {
        guard p.count >= off + 20, p[off] >> 4 == 4 else { return .failure(.init(skip: .truncated)) }
        let ihl = Int(p[off] & 0x0f) * 4
        guard ihl >= 20 else { return .failure(.init(skip: .notIP)) }
        let frag = be16(p, off + 6)
        let proto = p[off + 9]
        let src = IPAddress(v4: be32(p, off + 12))
        let dst = IPAddress(v4: be32(p, off + 16))
        var h = PacketHeaders(ifindex: ifindex, direction: dir, src: src, dst: dst, proto: proto)
        if frag & 0x1fff != 0 { h.hasTransport = false; return .success(h) }
        decodeTransport(p, off + ihl, &h)
        return .success(h)
    }

    static func decodeIPv6(_ p: UnsafeRawBufferPointer, _ off: Int, _ ifindex: Int32?, _ dir: PacketDirection) -> Result<PacketHeaders, DecodeSkipError> {
        guard p.count >= off + 40, p[off] >> 4 == 6 else { return .failure(.init(skip: .truncated)) }
        var next = p[off + 6]
        let src = IPAddress(v6: UInt128(be64(p, off + 8)) << 64 | UInt128(be64(p, off + 16)))
        let dst = IPAddress(v6: UInt128(be64(p, off + 24)) << 64 | UInt128(be64(p, off + 32)))
        var o = off + 40
        var h = PacketHeaders(ifindex: ifindex, direction: dir, src: src, dst: dst, proto: next)
        // Extension headers: hop-by-hop, routing, destination options, fragment, AH.
        var guardCount = 0
        while guardCount < 8 {
            guardCount += 1
            switch next {
            case 0, 43, 60:
                guard p.count >= o + 2 else { h.proto = next; h.hasTransport = false; return .success(h) }
                let n = p[o]
                o += (Int(p[o + 1]) + 1) * 8
                next = n
            case 44:
                guard p.count >= o + 8 else { h.proto = next; h.hasTransport = false; return .success(h) }
                let n = p[o]
                let fragOff = be16(p, o + 2) >> 3
                o += 8
                next = n
                if fragOff != 0 { h.proto = next; h.hasTransport = false; return .success(h) }
            case 51:
                guard p.count >= o + 2 else { h.proto = next; h.hasTransport = false; return .success(h) }
                let n = p[o]
                o += (Int(p[o + 1]) + 2) * 4
                next = n
            default:
                guardCount = 99
            }
        }
        h.proto = next
        decodeTransport(p, o, &h)
        return .success(h)
    }

    static func decodeTransport(_ p: UnsafeRawBufferPointer, _ o: Int, _ h: inout PacketHeaders) {
        switch h.proto {
        case IPProto.tcp:
            guard p.count >= o + 14 else { h.hasTransport = false; return }
            h.srcPort = be16(p, o); h.dstPort = be16(p, o + 2); h.tcpFlags = p[o + 13]
        case IPProto.udp:
            guard p.count >= o + 4 else { h.hasTransport = false; return }
            h.srcPort = be16(p, o); h.dstPort = be16(p, o + 2)
        case IPProto.icmp, IPProto.icmpv6:
            guard p.count >= o + 2 else { h.hasTransport = false; return }
            h.icmpType = p[o]; h.icmpCode = p[o + 1]
            if p.count >= o + 6 { h.srcPort = be16(p, o + 4) }  // echo identifier
        default:
            h.hasTransport = false
        }
    }
}

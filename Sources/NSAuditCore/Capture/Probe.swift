/// A live probe (`trace --probe`): one real packet sent from a namespace of this host, and
/// where captures in the namespaces saw it and its answer. The plain types and the packet
/// matching live here (pure); sending and capturing are NSAuditLinux's `LiveProbe`.

public enum ProbeProtocol: String, Sendable, Codable, CaseIterable {
    /// ICMP (ICMPv6) echo request.
    case icmp
    /// A TCP SYN (a connect that is abandoned after the answer).
    case tcp
    /// One UDP datagram.
    case udp

    public var ipproto: UInt8 { self == .tcp ? IPProto.tcp : self == .udp ? IPProto.udp : IPProto.icmp }
}

/// The packet to send. Addresses, ports and TTL as a process in the start namespace would
/// set them; what is nil is chosen by the kernel (source address, source port).
public struct ProbeFlow: Sendable, Equatable, Codable {
    public var proto: ProbeProtocol
    public var src: IPAddress?
    public var dst: IPAddress
    /// TCP/UDP source port (nil: ephemeral).
    public var sport: UInt16?
    /// TCP/UDP destination port (ignored for ICMP).
    public var dport: UInt16
    /// IP TTL / hop limit (nil: the namespace's default).
    public var ttl: UInt8?
    /// SO_MARK.
    public var mark: UInt32?
    /// IP TOS / traffic class.
    public var tos: UInt8?

    public init(proto: ProbeProtocol, src: IPAddress? = nil, dst: IPAddress, sport: UInt16? = nil, dport: UInt16 = 0,
                ttl: UInt8? = nil, mark: UInt32? = nil, tos: UInt8? = nil) {
        self.proto = proto; self.src = src; self.dst = dst; self.sport = sport; self.dport = dport
        self.ttl = ttl; self.mark = mark; self.tos = tos
    }
}

/// What to probe: the flow, the namespace it starts in, and the namespaces to capture in
/// (those of the predicted path, and any other that could see a diverging packet).
public struct ProbePlan: Sendable, Equatable {
    public var flow: ProbeFlow
    /// The start namespace (a name `ip netns list` shows, or a snapshot id).
    public var netns: String
    /// Namespaces to capture in (all their interfaces). The start namespace is always added.
    public var captureNetns: [String]
    /// How long to wait for the answer at the sender, seconds.
    public var timeout: Double

    public init(flow: ProbeFlow, netns: String, captureNetns: [String], timeout: Double = 1.0) {
        self.flow = flow; self.netns = netns; self.captureNetns = captureNetns; self.timeout = timeout
    }
}

/// Which packet of the exchange a captured packet is.
public enum ProbeLeg: String, Sendable, Codable, CaseIterable {
    /// The probe itself (echo request, SYN, the datagram).
    case request
    /// The destination's answer (echo reply, SYN-ACK, a UDP datagram back).
    case reply
    /// The destination's refusal: TCP RST, ICMP port unreachable.
    case refusal
    /// An ICMP error about the probe (from a router or the destination).
    case error
}

/// Where a packet of the exchange was seen: namespace, interface, way across it, leg.
public struct ProbeCrossing: Sendable, Equatable, Hashable, Codable, Comparable {
    public var netns: String
    public var interface: String
    /// "in" (received on the interface) or "out" (sent through it), as `TraceCrossing` spells them.
    public var direction: TraceCrossing.Direction
    public var leg: ProbeLeg

    public init(netns: String, interface: String, direction: TraceCrossing.Direction, leg: ProbeLeg) {
        self.netns = netns; self.interface = interface; self.direction = direction; self.leg = leg
    }

    public var trace: TraceCrossing { TraceCrossing(netns: netns, interface: interface, direction: direction) }

    public static func < (a: ProbeCrossing, b: ProbeCrossing) -> Bool {
        (a.leg.rawValue, a.netns, a.interface, a.direction.rawValue) < (b.leg.rawValue, b.netns, b.interface, b.direction.rawValue)
    }
}

extension TraceCrossing.Direction: Codable {}

/// An ICMP error about the probe: who sent it, which, and where it was seen first.
public struct ProbeICMPError: Sendable, Equatable, Codable {
    public var from: IPAddress
    public var type: UInt8
    public var code: UInt8
    public init(from: IPAddress, type: UInt8, code: UInt8) { self.from = from; self.type = type; self.code = code }

    /// "host-unreachable", "port-unreachable", "ttl-exceeded", ... (ICMP and ICMPv6).
    public var name: String {
        if from.family == .v4 {
            switch (type, code) {
            case (3, 0): return "net-unreachable"; case (3, 1): return "host-unreachable"
            case (3, 2): return "protocol-unreachable"; case (3, 3): return "port-unreachable"
            case (3, 4): return "fragmentation-needed"; case (3, 9), (3, 10), (3, 13): return "admin-prohibited"
            case (3, _): return "unreachable-\(code)"; case (11, _): return "ttl-exceeded"
            case (12, _): return "parameter-problem"; default: return "icmp-\(type)-\(code)"
            }
        }
        switch (type, code) {
        case (1, 0): return "no-route"; case (1, 1): return "admin-prohibited"; case (1, 3): return "address-unreachable"
        case (1, 4): return "port-unreachable"; case (1, 5), (1, 6): return "policy-reject"
        case (1, _): return "unreachable-\(code)"; case (2, _): return "packet-too-big"; case (3, _): return "hop-limit-exceeded"
        case (4, _): return "parameter-problem"; default: return "icmpv6-\(type)-\(code)"
        }
    }
}

/// What the sending socket got back within the timeout.
public enum ProbeAnswer: Sendable, Equatable, Codable {
    /// The destination answered: echo reply, SYN-ACK (a listener took it) or a UDP datagram.
    case reply
    /// The destination refused: TCP RST, or ICMP port unreachable for UDP.
    case refused
    /// An ICMP error reached the socket (errno name: EHOSTUNREACH, ENETUNREACH, EACCES, ...).
    case error(String)
    /// Nothing came back.
    case none
    /// The kernel refused to send (errno name): the start namespace's own lookup failed
    /// (ENETUNREACH no route, EINVAL blackhole, EHOSTUNREACH unreachable, EACCES prohibit).
    case sendFailed(String)
}

/// The result of one probe.
public struct ProbeObservation: Sendable, Equatable, Codable {
    /// The flow as sent: the source address and port the kernel chose filled in.
    public var flow: ProbeFlow
    /// The kernel chose the source address (the plan gave none).
    public var sourceChosen: Bool
    public var netns: String
    /// The ICMP echo identifier used (ICMP probes).
    public var icmpID: UInt16?
    public var answer: ProbeAnswer
    /// Every crossing seen, sorted.
    public var crossings: [ProbeCrossing]
    /// ICMP errors about the probe seen anywhere.
    public var icmpErrors: [ProbeICMPError]
    /// Namespaces whose capture failed (the probe is blind there), with the reason.
    public var blind: [String: String]

    public init(flow: ProbeFlow, netns: String, icmpID: UInt16? = nil, answer: ProbeAnswer, crossings: [ProbeCrossing] = [],
                icmpErrors: [ProbeICMPError] = [], blind: [String: String] = [:]) {
        self.flow = flow; self.netns = netns; self.icmpID = icmpID; self.answer = answer
        self.crossings = crossings; self.icmpErrors = icmpErrors; self.blind = blind
        sourceChosen = false
    }

    /// The flow in `ip route get` syntax, for `TraceFlow.parse`: the source only when the
    /// plan gave it (a chosen one is the trace's to choose), the ports as sent.
    public var traceArguments: String {
        var a = flow.dst.description
        if let s = flow.src, !sourceChosen { a += " from \(s)" }
        a += " ipproto \(flow.proto == .icmp ? (flow.dst.family == .v4 ? "icmp" : "ipv6-icmp") : flow.proto.rawValue)"
        if flow.proto != .icmp {
            if let sp = flow.sport { a += " sport \(sp)" }
            a += " dport \(flow.dport)"
        }
        if let m = flow.mark { a += " mark \(m)" }
        if let t = flow.tos { a += " tos \(t)" }
        return a
    }

    public func crossings(_ leg: ProbeLeg) -> [ProbeCrossing] { crossings.filter { $0.leg == leg } }
    public func saw(_ c: TraceCrossing, _ leg: ProbeLeg) -> Bool {
        crossings.contains(ProbeCrossing(netns: c.netns, interface: c.interface, direction: c.direction, leg: leg))
    }

    /// A predicted path held against what was seen for one leg: the predicted crossings not
    /// seen, and the crossings seen that were not predicted (in a namespace that was captured).
    public func compare(predicted: [TraceCrossing], leg: ProbeLeg) -> (missing: [TraceCrossing], unexpected: [TraceCrossing]) {
        let seen = Set(crossings(leg).map(\.trace))
        let want = Set(predicted)
        let missing = predicted.filter { !seen.contains($0) && blind[$0.netns] == nil }
        let unexpected = crossings(leg).map(\.trace).filter { !want.contains($0) }
        return (missing, unexpected)
    }
}

/// Matches captured packets to a probe: its request, the reply, ICMP errors quoting it.
public struct ProbeMatcher: Sendable {
    public var flow: ProbeFlow
    /// The ICMP echo identifier (ICMP probes).
    public var icmpID: UInt16?

    public init(flow: ProbeFlow, icmpID: UInt16? = nil) { self.flow = flow; self.icmpID = icmpID }

    /// The leg of a packet (nil: not part of this probe), and for errors the error.
    /// `h` is the decoded packet; `bytes` its captured bytes and `linkType`, for the packet
    /// an ICMP error quotes.
    public func classify(_ h: PacketHeaders, bytes: UnsafeRawBufferPointer, linkType: UInt32) -> (ProbeLeg, ProbeICMPError?)? {
        if isError(h) {
            guard let inner = PacketDecoder.quotedPacket(bytes, linkType: linkType), isRequest(inner, strictFlags: false) else { return nil }
            let e = ProbeICMPError(from: h.src, type: h.icmpType, code: h.icmpCode)
            let portUnreachable = h.proto == IPProto.icmp ? (h.icmpType == 3 && h.icmpCode == 3) : (h.icmpType == 1 && h.icmpCode == 4)
            return (portUnreachable && h.src == flow.dst ? .refusal : .error, e)
        }
        if isRequest(h, strictFlags: true) { return (.request, nil) }
        if isReply(h) { return (h.proto == IPProto.tcp && h.tcpFlags & TCPFlag.rst != 0 ? .refusal : .reply, nil) }
        return nil
    }

    func isError(_ h: PacketHeaders) -> Bool {
        (h.proto == IPProto.icmp && [3, 11, 12].contains(h.icmpType)) || (h.proto == IPProto.icmpv6 && (1...4).contains(h.icmpType))
    }

    func isRequest(_ h: PacketHeaders, strictFlags: Bool) -> Bool {
        guard h.dst == flow.dst, flow.src.map({ $0 == h.src }) ?? true else { return false }
        switch flow.proto {
        case .icmp:
            return h.isICMPEchoRequest && (icmpID.map { $0 == h.srcPort } ?? true)
        case .tcp:
            guard h.proto == IPProto.tcp, h.dstPort == flow.dport, flow.sport.map({ $0 == h.srcPort }) ?? true else { return false }
            return !strictFlags || (h.tcpFlags & TCPFlag.syn != 0 && h.tcpFlags & TCPFlag.ack == 0)
        case .udp:
            return h.proto == IPProto.udp && h.dstPort == flow.dport && (flow.sport.map { $0 == h.srcPort } ?? true)
        }
    }

    func isReply(_ h: PacketHeaders) -> Bool {
        guard h.src == flow.dst, flow.src.map({ $0 == h.dst }) ?? true else { return false }
        switch flow.proto {
        case .icmp:
            return h.isICMPEchoReply && (icmpID.map { $0 == h.srcPort } ?? true)
        case .tcp:
            guard h.proto == IPProto.tcp, h.srcPort == flow.dport, flow.sport.map({ $0 == h.dstPort }) ?? true else { return false }
            return h.tcpFlags & TCPFlag.rst != 0 || h.tcpFlags & (TCPFlag.syn | TCPFlag.ack) == TCPFlag.syn | TCPFlag.ack
        case .udp:
            return h.proto == IPProto.udp && h.srcPort == flow.dport && (flow.sport.map { $0 == h.dstPort } ?? true)
        }
    }
}

extension PacketDecoder {
    /// The packet an ICMP or ICMPv6 error quotes (its IP header and first transport bytes),
    /// decoded; nil when the packet is not an error or the quote is cut short.
    public static func quotedPacket(_ p: UnsafeRawBufferPointer, linkType: UInt32) -> PacketHeaders? {
        guard case .success(let outer) = decode(p, linkType: linkType) else { return nil }
        // Find where the outer IP packet starts: decode again on the bytes after the link
        // header, walking the same way the decoder does.
        let linkLength: Int
        switch linkType {
        case PcapLinkType.linuxSLL2: linkLength = 20
        case PcapLinkType.linuxSLL: linkLength = 16
        case PcapLinkType.ethernet: linkLength = 14
        case PcapLinkType.raw, PcapLinkType.ipv4, PcapLinkType.ipv6: linkLength = 0
        case PcapLinkType.null, PcapLinkType.loop: linkLength = 4
        default: return nil
        }
        guard p.count > linkLength else { return nil }
        let ipStart = linkLength
        let transport: Int
        if outer.family == .v4 {
            transport = ipStart + Int(p[ipStart] & 0x0f) * 4
        } else {
            guard outer.proto == IPProto.icmpv6, p[ipStart + 6] == IPProto.icmpv6 else { return nil }  // no extension headers
            transport = ipStart + 40
        }
        let quote = transport + 8
        guard p.count >= quote + 20 else { return nil }
        let inner = UnsafeRawBufferPointer(rebasing: p[quote...])
        guard case .success(let h) = decode(inner, linkType: outer.family == .v4 ? PcapLinkType.ipv4 : PcapLinkType.ipv6) else { return nil }
        return h
    }
}

/// Why a probe is refused before anything is sent.
public enum ProbeError: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownNamespace(String)
    case destinationNotOnHost(IPAddress)
    case mixedFamilies(src: IPAddress, dst: IPAddress)

    public var description: String {
        switch self {
        case .unknownNamespace(let n):
            "no namespace \"\(n)\" in the snapshot to send the probe from"
        case .destinationNotOnHost(let a):
            "\(a) is not an address of any namespace of this host: probes are only sent between the host's own namespaces (never to other machines); trace it without --probe"
        case .mixedFamilies(let s, let d):
            "source \(s) and destination \(d) are of different address families"
        }
    }
}

extension ProbePlan {
    /// Refuses a probe that would leave the host: the destination must be an address of a
    /// namespace in `snapshot` (or a loopback address), and the start namespace one of it.
    public func check(against snapshot: Snapshot) throws(ProbeError) {
        guard snapshot.namespace(netns) != nil else { throw .unknownNamespace(netns) }
        if let s = flow.src, s.family != flow.dst.family { throw .mixedFamilies(src: s, dst: flow.dst) }
        let loopback = flow.dst.family == .v4 ? flow.dst.v4 >> 24 == 127 : flow.dst == IPAddress("::1")
        let owned = snapshot.namespaces.contains { ns in
            ns.status == .ok && ns.addresses.contains { $0.local == flow.dst }
        }
        guard owned || loopback else { throw .destinationNotOnHost(flow.dst) }
    }
}

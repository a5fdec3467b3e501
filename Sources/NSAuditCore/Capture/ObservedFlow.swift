/// Where one flow was seen in one namespace, after pairing requests with replies.
///
/// The client is the side that sent the request (TCP SYN, ICMP echo request, first UDP
/// datagram; for TCP seen only established, the side with the higher port). For asymmetry,
/// what matters is `requestIngress` (interfaces the request arrived on) and `replyEgress`
/// (interfaces the reply left through): a local responder or a forwarder with
/// `requestIngress` ≠ `replyEgress` routes asymmetrically.
public struct ObservedFlow: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable {
        /// Request arrived and the reply was sent from here (the namespace owns the server address).
        case responder
        /// Request arrived and left again, replies likewise: the namespace routes this flow.
        case forwarder
        /// The request was sent from here (locally originated).
        case initiator
        /// Only reply-direction packets were seen (e.g. a router receiving replies to requests
        /// that took another path).
        case replyOnly = "reply-only"
    }

    public var netns: String
    /// tcp, udp, icmp, icmpv6.
    public var `protocol`: String
    public var family: IPAddress.Family
    public var client: IPAddress
    /// TCP/UDP client port; nil for ICMP.
    public var clientPort: UInt16?
    public var server: IPAddress
    public var serverPort: UInt16?
    /// ICMP echo identifier.
    public var icmpID: UInt16?
    public var role: Role
    /// True when the client side was inferred from ports (TCP seen without its handshake).
    public var inferredDirection: Bool
    /// For TCP: a SYN (without ACK) from the client / a SYN-ACK from the server was seen.
    public var sawSYN: Bool?
    public var sawSYNACK: Bool?

    public var requestPackets: Int
    public var replyPackets: Int
    public var requestIngress: [String]
    public var requestEgress: [String]
    public var replyIngress: [String]
    public var replyEgress: [String]
    /// Nanoseconds since the epoch.
    public var firstSeenNs: UInt64
    public var lastSeenNs: UInt64

    /// A reply was seen (on any interface, either direction).
    public var answered: Bool { replyPackets > 0 }

    public init(netns: String, protocol: String, family: IPAddress.Family, client: IPAddress, clientPort: UInt16?,
                server: IPAddress, serverPort: UInt16?, icmpID: UInt16? = nil, role: Role,
                inferredDirection: Bool = false, requestPackets: Int = 0, replyPackets: Int = 0,
                requestIngress: [String] = [], requestEgress: [String] = [], replyIngress: [String] = [],
                replyEgress: [String] = [], firstSeenNs: UInt64 = 0, lastSeenNs: UInt64 = 0) {
        self.netns = netns; self.protocol = `protocol`; self.family = family; self.client = client
        self.clientPort = clientPort; self.server = server; self.serverPort = serverPort; self.icmpID = icmpID
        self.role = role; self.inferredDirection = inferredDirection; self.requestPackets = requestPackets
        self.replyPackets = replyPackets; self.requestIngress = requestIngress; self.requestEgress = requestEgress
        self.replyIngress = replyIngress; self.replyEgress = replyEgress
        self.firstSeenNs = firstSeenNs; self.lastSeenNs = lastSeenNs
    }

    /// "tcp 192.168.127.10:41234 -> 10.99.0.40:22", "icmp 192.168.127.10 -> 10.99.0.40 id 7".
    public var example: String {
        func ep(_ a: IPAddress, _ p: UInt16?) -> String {
            guard let p else { return a.description }
            return a.family == .v6 ? "[\(a)]:\(p)" : "\(a):\(p)"
        }
        var s = "\(`protocol`) \(ep(client, clientPort)) -> \(ep(server, serverPort))"
        if let icmpID { s += " id \(icmpID)" }
        return s
    }

    /// Request arrived on one set of interfaces and the reply left through another.
    public var isAsymmetric: Bool {
        !requestIngress.isEmpty && !replyEgress.isEmpty && Set(requestIngress) != Set(replyEgress)
    }

    public var firstSeen: String { CaptureTime.iso8601(firstSeenNs) }
    public var lastSeen: String { CaptureTime.iso8601(lastSeenNs) }

    enum CodingKeys: String, CodingKey {
        case netns, `protocol`, family, client, clientPort = "client_port", server, serverPort = "server_port"
        case icmpID = "icmp_id", role, inferredDirection = "inferred_direction", sawSYN = "saw_syn"
        case sawSYNACK = "saw_synack", requestPackets = "request_packets", replyPackets = "reply_packets"
        case requestIngress = "request_ingress", requestEgress = "request_egress"
        case replyIngress = "reply_ingress", replyEgress = "reply_egress"
        case firstSeen = "first_seen", lastSeen = "last_seen", firstSeenNs = "first_seen_ns", lastSeenNs = "last_seen_ns"
        case answered, asymmetric, example
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        netns = try c.decode(String.self, forKey: .netns)
        `protocol` = try c.decode(String.self, forKey: .protocol)
        family = try c.decode(IPAddress.Family.self, forKey: .family)
        client = try c.decode(IPAddress.self, forKey: .client)
        clientPort = try c.decodeIfPresent(UInt16.self, forKey: .clientPort)
        server = try c.decode(IPAddress.self, forKey: .server)
        serverPort = try c.decodeIfPresent(UInt16.self, forKey: .serverPort)
        icmpID = try c.decodeIfPresent(UInt16.self, forKey: .icmpID)
        role = try c.decode(Role.self, forKey: .role)
        inferredDirection = try c.decodeIfPresent(Bool.self, forKey: .inferredDirection) ?? false
        sawSYN = try c.decodeIfPresent(Bool.self, forKey: .sawSYN)
        sawSYNACK = try c.decodeIfPresent(Bool.self, forKey: .sawSYNACK)
        requestPackets = try c.decode(Int.self, forKey: .requestPackets)
        replyPackets = try c.decode(Int.self, forKey: .replyPackets)
        requestIngress = try c.decode([String].self, forKey: .requestIngress)
        requestEgress = try c.decode([String].self, forKey: .requestEgress)
        replyIngress = try c.decode([String].self, forKey: .replyIngress)
        replyEgress = try c.decode([String].self, forKey: .replyEgress)
        firstSeenNs = try c.decode(UInt64.self, forKey: .firstSeenNs)
        lastSeenNs = try c.decode(UInt64.self, forKey: .lastSeenNs)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(netns, forKey: .netns)
        try c.encode(`protocol`, forKey: .protocol)
        try c.encode(family, forKey: .family)
        try c.encode(client, forKey: .client)
        try c.encodeIfPresent(clientPort, forKey: .clientPort)
        try c.encode(server, forKey: .server)
        try c.encodeIfPresent(serverPort, forKey: .serverPort)
        try c.encodeIfPresent(icmpID, forKey: .icmpID)
        try c.encode(role, forKey: .role)
        try c.encode(inferredDirection, forKey: .inferredDirection)
        try c.encodeIfPresent(sawSYN, forKey: .sawSYN)
        try c.encodeIfPresent(sawSYNACK, forKey: .sawSYNACK)
        try c.encode(requestPackets, forKey: .requestPackets)
        try c.encode(replyPackets, forKey: .replyPackets)
        try c.encode(answered, forKey: .answered)
        try c.encode(requestIngress, forKey: .requestIngress)
        try c.encode(requestEgress, forKey: .requestEgress)
        try c.encode(replyIngress, forKey: .replyIngress)
        try c.encode(replyEgress, forKey: .replyEgress)
        try c.encode(isAsymmetric, forKey: .asymmetric)
        try c.encode(firstSeen, forKey: .firstSeen)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encode(firstSeenNs, forKey: .firstSeenNs)
        try c.encode(lastSeenNs, forKey: .lastSeenNs)
        try c.encode(example, forKey: .example)
    }
}

/// The `observed` block a finding carries: what the capture saw for the flows it covers.
public struct ObservedSummary: Codable, Sendable, Equatable {
    public var flows: Int
    public var requestPackets: Int
    public var replyPackets: Int
    public var firstSeen: String?
    public var lastSeen: String?
    /// One observed 5-tuple, e.g. "tcp 192.168.127.10:41234 -> 10.99.0.40:22".
    public var example: String?
    public var requestIngress: [String]
    public var replyEgress: [String]

    public init(_ flows: [ObservedFlow]) {
        self.flows = flows.count
        requestPackets = flows.reduce(0) { $0 + $1.requestPackets }
        replyPackets = flows.reduce(0) { $0 + $1.replyPackets }
        let first = flows.map(\.firstSeenNs).min(), last = flows.map(\.lastSeenNs).max()
        firstSeen = first.map(CaptureTime.iso8601); lastSeen = last.map(CaptureTime.iso8601)
        // Prefer an answered TCP example, then any answered, then anything.
        let ex = flows.first { $0.answered && $0.protocol == "tcp" } ?? flows.first { $0.answered } ?? flows.first
        example = ex?.example
        requestIngress = Array(Set(flows.flatMap(\.requestIngress))).sorted()
        replyEgress = Array(Set(flows.flatMap(\.replyEgress))).sorted()
    }

    enum CodingKeys: String, CodingKey {
        case flows, requestPackets = "request_packets", replyPackets = "reply_packets"
        case firstSeen = "first_seen", lastSeen = "last_seen", example
        case requestIngress = "request_ingress", replyEgress = "reply_egress"
    }
}

/// Capture counters for one namespace (libpcap's pcap_stats plus nsaudit's own).
public struct CaptureStats: Codable, Sendable, Equatable {
    public var netns: String
    /// Packets handed to nsaudit.
    public var packets: Int
    /// pcap_stats ps_recv / ps_drop / ps_ifdrop (nil when offline).
    public var kernelReceived: UInt64?
    public var kernelDropped: UInt64?
    public var interfaceDropped: UInt64?
    /// Packets that were not IPv4/IPv6 or too short to decode.
    public var undecoded: Int
    /// Flows not tracked because the flow table was full.
    public var flowsDropped: Int
    public var durationSeconds: Double?
    /// CPU time of the capture thread (user + system), seconds.
    public var cpuSeconds: Double?
    /// Why the capture ended: duration, packet-limit, signal, end-of-file, damage, error.
    public var stoppedBy: String?
    public var error: String?

    public init(netns: String, packets: Int = 0, undecoded: Int = 0, flowsDropped: Int = 0) {
        self.netns = netns; self.packets = packets; self.undecoded = undecoded; self.flowsDropped = flowsDropped
    }

    /// Kernel drops as a share of what the kernel saw, in percent.
    public var kernelDropPercent: Double? {
        guard let r = kernelReceived, let d = kernelDropped else { return nil }
        let seen = r  // ps_recv counts dropped packets too on Linux (TPACKET stats)
        return seen == 0 ? 0 : Double(d) * 100 / Double(seen)
    }

    enum CodingKeys: String, CodingKey {
        case netns, packets, kernelReceived = "kernel_received", kernelDropped = "kernel_dropped"
        case interfaceDropped = "interface_dropped", undecoded, flowsDropped = "flows_dropped"
        case durationSeconds = "duration_seconds", cpuSeconds = "cpu_seconds", stoppedBy = "stopped_by", error
    }
}

/// Timestamps as RFC 3339 UTC text with microseconds, without Foundation.
public enum CaptureTime {
    public static func iso8601(_ ns: UInt64) -> String {
        let secs = Int64(ns / 1_000_000_000)
        let micros = Int((ns % 1_000_000_000) / 1000)
        var days = secs / 86_400
        let rem = Int(secs % 86_400)
        // civil-from-days (proleptic Gregorian)
        days += 719_468
        let era = days / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func p(_ v: Int, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(p(Int(y), 4))-\(p(Int(m), 2))-\(p(Int(d), 2))T\(p(rem / 3600, 2)):\(p(rem / 60 % 60, 2)):\(p(rem % 60, 2)).\(p(micros, 6))Z"
    }
}

/// Pairs requests with replies for one namespace, packet by packet (streaming: the live
/// capture feeds it from its callback, the file reader from a loop).
///
/// - TCP: a SYN without ACK names the client (its source); a SYN-ACK names the client (its
///   destination); established packets join the flow of either orientation, and a flow first
///   seen established takes the side with the lower port as the server (`inferredDirection`).
/// - ICMP/ICMPv6: echo request (client → server) with echo reply, keyed by the identifier.
/// - UDP: the first datagram names the client; the reversed 5-tuple is the reply.
/// Other packets (other ICMP types, other protocols, non-first fragments) are counted, not paired.
/// Requests to multicast or broadcast destinations open no flow (no unicast reply expected).
///
/// Interfaces are small integer keys chosen by the caller (the SLL2 ifindex live; an
/// ifindex or a file interface id offline), named when the flows are read out.
public struct FlowTable: Sendable {
    struct Key: Hashable {
        var proto: UInt8
        var a: IPAddress
        var b: IPAddress
        var aPort: UInt16
        var bPort: UInt16
    }

    struct Use: Sendable {
        var iface: Int32
        /// bit 0: request in, 1: request out, 2: reply in, 3: reply out;
        /// bits 4-7 the same for TCP handshake packets (SYN, SYN-ACK) only.
        var mask: UInt8
    }

    struct Entry: Sendable {
        var proto: UInt8
        var client: IPAddress
        var clientPort: UInt16
        var server: IPAddress
        var serverPort: UInt16
        var inferred: Bool
        var sawSYN = false
        var sawSYNACK = false
        var requests = 0
        var replies = 0
        var first: UInt64
        var last: UInt64
        var uses: [Use] = []
    }

    public let maxFlows: Int
    var index: [Key: Int] = [:]
    var entries: [Entry] = []
    /// The last flow looked up: bulk traffic hits the same flow packet after packet.
    var lastKey: Key?
    var lastIndex = 0
    /// Packets given to `add`.
    public private(set) var packets = 0
    /// Packets that were decoded but not paired (other protocols/types, fragments, multicast).
    public private(set) var unpaired = 0
    /// Packets of new flows refused because the table was full.
    public private(set) var flowsDropped = 0

    public init(maxFlows: Int = 200_000) { self.maxFlows = maxFlows }

    public var flowCount: Int { entries.count }

    static let reqIn: UInt8 = 1, reqOut: UInt8 = 2, repIn: UInt8 = 4, repOut: UInt8 = 8

    /// Adds one decoded packet seen on interface key `iface`.
    public mutating func add(_ h: PacketHeaders, iface: Int32, timestampNs: UInt64) {
        packets += 1
        guard h.hasTransport else { unpaired += 1; return }
        let key: Key
        var isRequest: Bool
        // Orientation when this packet opens a flow: (client is src?)
        var opensAsClientSrc: Bool? = nil
        var inferred = false
        switch h.proto {
        case IPProto.icmp, IPProto.icmpv6:
            if h.isICMPEchoRequest {
                key = Key(proto: h.proto, a: h.src, b: h.dst, aPort: h.srcPort, bPort: 0)
                isRequest = true; opensAsClientSrc = true
            } else if h.isICMPEchoReply {
                key = Key(proto: h.proto, a: h.dst, b: h.src, aPort: h.srcPort, bPort: 0)
                isRequest = false; opensAsClientSrc = false
            } else { unpaired += 1; return }
        case IPProto.tcp, IPProto.udp:
            let srcFirst = h.src < h.dst || (h.src == h.dst && h.srcPort <= h.dstPort)
            key = srcFirst ? Key(proto: h.proto, a: h.src, b: h.dst, aPort: h.srcPort, bPort: h.dstPort)
                           : Key(proto: h.proto, a: h.dst, b: h.src, aPort: h.dstPort, bPort: h.srcPort)
            isRequest = true
            if h.proto == IPProto.tcp {
                let syn = h.tcpFlags & TCPFlag.syn != 0, ack = h.tcpFlags & TCPFlag.ack != 0
                if syn && !ack { opensAsClientSrc = true } else if syn && ack { opensAsClientSrc = false }
            }
        default:
            unpaired += 1; return
        }

        var i: Int?
        if let lk = lastKey, lk == key { i = lastIndex } else { i = index[key] }
        if let idx = i, let o = opensAsClientSrc, h.proto == IPProto.tcp, entries[idx].inferred {
            // A handshake packet corrects an orientation guessed from ports.
            let clientIsSrc = entries[idx].client == h.src && entries[idx].clientPort == h.srcPort
            if clientIsSrc != o { entries[idx].swapSides() }
            entries[idx].inferred = false
        }
        if i == nil {
            var clientIsSrc: Bool
            if let o = opensAsClientSrc {
                clientIsSrc = o
            } else if h.proto == IPProto.udp {
                clientIsSrc = true
            } else {
                // TCP seen established: the lower port is the server's.
                clientIsSrc = h.dstPort <= h.srcPort
                inferred = true
            }
            let serverAddr = clientIsSrc ? h.dst : h.src
            if clientIsSrc ? (h.dst.isMulticast || h.dst.isLimitedBroadcast) : (h.src.isMulticast || h.src.isLimitedBroadcast) {
                unpaired += 1; return
            }
            _ = serverAddr
            guard entries.count < maxFlows else { flowsDropped += 1; return }
            let e: Entry
            if h.proto == IPProto.icmp || h.proto == IPProto.icmpv6 {
                e = Entry(proto: h.proto, client: key.a, clientPort: key.aPort, server: key.b, serverPort: 0,
                          inferred: false, first: timestampNs, last: timestampNs)
            } else if clientIsSrc {
                e = Entry(proto: h.proto, client: h.src, clientPort: h.srcPort, server: h.dst, serverPort: h.dstPort,
                          inferred: inferred, first: timestampNs, last: timestampNs)
            } else {
                e = Entry(proto: h.proto, client: h.dst, clientPort: h.dstPort, server: h.src, serverPort: h.srcPort,
                          inferred: inferred, first: timestampNs, last: timestampNs)
            }
            entries.append(e)
            i = entries.count - 1
            index[key] = i
        }
        let idx = i!
        lastKey = key; lastIndex = idx
        if h.proto == IPProto.tcp || h.proto == IPProto.udp {
            isRequest = entries[idx].client == h.src && entries[idx].clientPort == h.srcPort
            if h.src == h.dst && h.srcPort == h.dstPort { isRequest = true }
        }
        if h.proto == IPProto.tcp {
            let syn = h.tcpFlags & TCPFlag.syn != 0, ack = h.tcpFlags & TCPFlag.ack != 0
            if syn && !ack && isRequest { entries[idx].sawSYN = true }
            if syn && ack && !isRequest { entries[idx].sawSYNACK = true }
        }
        var bit: UInt8
        switch (isRequest, h.direction) {
        case (true, .outgoing): bit = Self.reqOut
        case (true, _): bit = Self.reqIn       // unknown direction counts as arrival
        case (false, .incoming): bit = Self.repIn
        case (false, _): bit = Self.repOut     // unknown direction counts as departure
        }
        if h.loopback {
            // Sent and received on the loopback device: both at once.
            bit = isRequest ? Self.reqIn | Self.reqOut : Self.repIn | Self.repOut
        }
        if h.proto == IPProto.tcp, h.tcpFlags & TCPFlag.syn != 0 {
            // Handshake packets are tracked apart: a stray RST from a host that received a
            // misrouted SYN-ACK must not count as where the request arrived.
            let ack = h.tcpFlags & TCPFlag.ack != 0
            if isRequest != ack { bit |= bit << 4 }
        }
        entries[idx].record(iface: iface, bit: bit, request: isRequest, ts: timestampNs)
    }

    /// The flows seen so far, in order of first appearance. `name` maps interface keys to
    /// interface names.
    public func flows(netns: String, name: (Int32) -> String) -> [ObservedFlow] {
        entries.map { e in
            func names(_ bit: UInt8) -> [String] {
                var out: [String] = []
                for u in e.uses where u.mask & bit != 0 {
                    let n = name(u.iface)
                    if !out.contains(n) { out.append(n) }
                }
                return out.sorted()
            }
            // For TCP with a handshake in view, the SYN and SYN-ACK say where the request
            // arrived and where the reply left; otherwise every packet counts.
            let req: UInt8 = e.sawSYN ? 4 : 0, rep: UInt8 = e.sawSYNACK ? 4 : 0
            let reqIn = names(Self.reqIn << req), reqOut = names(Self.reqOut << req)
            let repIn = names(Self.repIn << rep), repOut = names(Self.repOut << rep)
            let role: ObservedFlow.Role
            if !reqIn.isEmpty {
                role = reqOut.contains(where: { !reqIn.contains($0) }) ? .forwarder : .responder
            } else if !reqOut.isEmpty {
                role = .initiator
            } else {
                role = .replyOnly
            }
            let icmp = e.proto == IPProto.icmp || e.proto == IPProto.icmpv6
            var f = ObservedFlow(netns: netns, protocol: FlowProtocol.name(e.proto), family: e.client.family,
                                 client: e.client, clientPort: icmp ? nil : e.clientPort,
                                 server: e.server, serverPort: icmp ? nil : e.serverPort,
                                 icmpID: icmp ? e.clientPort : nil, role: role, inferredDirection: e.inferred,
                                 requestPackets: e.requests, replyPackets: e.replies,
                                 requestIngress: reqIn, requestEgress: reqOut, replyIngress: repIn, replyEgress: repOut,
                                 firstSeenNs: e.first, lastSeenNs: e.last)
            if e.proto == IPProto.tcp { f.sawSYN = e.sawSYN; f.sawSYNACK = e.sawSYNACK }
            return f
        }
    }
}

extension FlowTable.Entry {
    mutating func record(iface: Int32, bit: UInt8, request: Bool, ts: UInt64) {
        if request { requests += 1 } else { replies += 1 }
        if ts < first { first = ts }
        if ts > last { last = ts }
        for k in uses.indices where uses[k].iface == iface {
            uses[k].mask |= bit
            return
        }
        uses.append(FlowTable.Use(iface: iface, mask: bit))
    }

    mutating func swapSides() {
        swap(&client, &server)
        swap(&clientPort, &serverPort)
        swap(&requests, &replies)
        for k in uses.indices {
            let m = uses[k].mask
            uses[k].mask = (m & 0x33) << 2 | (m >> 2) & 0x33
        }
    }
}

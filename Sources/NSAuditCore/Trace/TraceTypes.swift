/// `nsaudit trace`: one flow followed hop by hop through the host's namespaces, and its reply
/// back. The public shape of a trace (what `Trace.run` returns and the renderers print).
///
/// A trace is a tree: where a lookup lists several paths (multipath, equal default routes),
/// every path is followed and the trace forks into branches. `TraceResult.branches` holds one
/// `TraceBranch` per complete request path (one for a trace without forks), each with its
/// own reply paths.
///
/// Which namespaces and interfaces a packet crosses (what a capture in every namespace would
/// see) is `TracePath.crossings`: the stable mapping the live differential test compares
/// with real probes.

/// The flow to trace: `ip route get` arguments, started in a namespace.
public struct TraceFlow: Sendable, Equatable {
    /// The namespace the flow starts in (snapshot id).
    public var netns: String
    public var dst: IPAddress
    /// The source address given (`from`); nil: chosen as the kernel would (output flows).
    public var src: IPAddress?
    /// `iif DEV`: the flow arrives on DEV from outside the host instead of being sent by a
    /// local process.
    public var iif: String?
    /// `oif DEV` / `vrf NAME`: a local sender bound to DEV.
    public var oif: String?
    /// IPPROTO; 0 (none given) is traced as an ICMP echo.
    public var ipproto: UInt8
    public var sport: UInt16
    public var dport: UInt16
    public var mark: UInt32
    public var tos: UInt8
    public var uid: UInt32?
    /// The arguments as given.
    public var arguments: String

    public var family: IPAddress.Family { dst.family }
    /// The protocol the flow is traced as: tcp, udp, or icmp (an echo) when none was given.
    public var protocolName: String {
        ipproto == 0 ? (family == .v4 ? "icmp" : "ipv6-icmp") : IPProto.name(ipproto)
    }
    var isICMP: Bool { ipproto == 0 || ipproto == IPProto.icmp || ipproto == IPProto.icmpv6 }

    /// The flow from a parsed `ip route get` query (its `fibmatch`, `notify` and `connected`
    /// are refused: they ask for a different answer, not a different packet).
    public init(netns: String, query q: RouteQuery) throws(TraceError) {
        if q.fibmatch { throw .badFlow("fibmatch asks for the FIB entry, not a path: leave it out") }
        if q.notify || q.connected { throw .badFlow("notify and connected do not describe a packet: leave them out") }
        if q.iif != nil && q.src == nil { throw .badFlow("a flow arriving with iif needs its source: add `from SRC`") }
        if q.iif != nil && (q.oif != nil || q.vrf != nil) { throw .badFlow("give either iif (arriving) or oif/vrf (sent), not both") }
        self.netns = netns
        dst = q.dst; src = q.src; iif = q.iif; oif = q.oif ?? q.vrf
        ipproto = q.ipproto; sport = q.sport; dport = q.dport; mark = q.mark; tos = q.tos; uid = q.uid
        arguments = q.line
        if (ipproto == IPProto.tcp || ipproto == IPProto.udp) && dport == 0 {
            throw .badFlow("a \(IPProto.name(ipproto)) flow needs its destination port: add `dport N`")
        }
    }

    /// Parses `ip route get` arguments (`DST [from SRC] [iif DEV] [ipproto P] [sport N]
    /// [dport N] [mark M] [tos T] [oif DEV] [uid N]`).
    public static func parse(netns: String, arguments: String) throws(TraceError) -> TraceFlow {
        let q: RouteQuery
        do { q = try RouteQuery.parse(arguments) } catch { throw .badFlow(error.description) }
        return try TraceFlow(netns: netns, query: q)
    }
}

public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    case badFlow(String)
    case unknownNamespace(String, known: [String])
    case namespaceNotRecorded(String, String)
    case unknownDevice(String, netns: String)

    public var description: String {
        switch self {
        case .badFlow(let m): m
        case .unknownNamespace(let n, let known):
            "no namespace \"\(n)\" in the snapshot (it has: \(known.joined(separator: ", ")))"
        case .namespaceNotRecorded(let n, let why): "namespace \(n) was not recorded (\(why))"
        case .unknownDevice(let d, let n): "no device \"\(d)\" in namespace \(n)"
        }
    }
}

/// How a path ends. Documented in the README's `trace` section.
public enum TraceDisposition: String, Sendable, Equatable, CaseIterable {
    /// Delivered locally and taken by a listening socket (or, for ICMP echo, the kernel).
    case accepted
    /// Delivered locally but no socket listens for it there.
    case noListener = "no-listener"
    /// A reply back at the namespace that sent the request.
    case delivered
    /// A reply delivered to another namespace that holds the sender's address.
    case misdelivered
    /// Leaves the host through a device whose far side the snapshot does not hold.
    case exitsHost = "exits-host"
    /// No route (ENETUNREACH and the like).
    case noRoute = "no-route"
    /// A blackhole, unreachable or prohibit route or rule (the error says which).
    case nullRouted = "null-routed"
    /// Dropped on arrival by reverse-path filtering.
    case rpFilterDrop = "rp-filter-drop"
    /// Arrived for another host where forwarding is off.
    case forwardingDisabled = "forwarding-disabled"
    /// Came back to a namespace and interface it had already crossed, or ran out of TTL.
    case loop
    /// The next hop's address is owned by no namespace behind the link (ARP/ND unanswered).
    case neighborUnknown = "neighbor-unknown"

    /// Ends a path the way the flow wants (the request accepted, the reply delivered).
    public var isSuccess: Bool { self == .accepted || self == .delivered }
}

/// One step of a path: a routing decision in a namespace, or a bridge forwarding a frame.
public struct TraceHop: Sendable, Equatable {
    public enum Kind: String, Sendable { case route, bridge }
    public var kind: Kind
    public var netns: String
    /// The interface the packet came in on (nil: sent by a local process). For a frame that
    /// arrived through a bridge port and was routed by the bridge device, the bridge device
    /// (the port is `inPort`).
    public var inInterface: String?
    /// The interface it leaves through (nil: delivered locally or dropped here). When that
    /// is a bridge, the port it leaves through is `outPort`.
    public var outInterface: String?
    public var inPort: String?
    public var outPort: String?
    /// The bridge that forwarded the frame (kind bridge).
    public var bridge: String?
    /// The next hop: the route's gateway (nil: the destination itself is on-link).
    public var gateway: IPAddress?
    public var table: UInt32?
    public var rule: UInt32?
    /// The route's type (`unicast`, `local`, ...) or `bridge`.
    public var type: String
    /// The matched route as `ip route show` prints it.
    public var route: String?
    /// The packet's addresses at this hop.
    public var src: IPAddress?
    public var dst: IPAddress
    /// TTL (hop limit) of the packet as it arrives here (64 at the sender).
    public var ttl: Int
    /// The kernel's error when the packet is dropped here.
    public var error: String?
    /// The namespace has netfilter rules that this trace did not evaluate.
    public var filteringNotEvaluated: Bool

    public init(kind: Kind = .route, netns: String, type: String, dst: IPAddress, ttl: Int) {
        self.kind = kind; self.netns = netns; self.type = type; self.dst = dst; self.ttl = ttl
        filteringNotEvaluated = false
    }
}

/// A socket that accepts (or would accept) the flow.
public struct TraceListener: Sendable, Equatable {
    public var netns: String
    public var `protocol`: String
    public var address: IPAddress
    public var port: UInt16
    /// The device the socket is bound to, if any.
    public var device: String?
    public var description: String {
        let a = address.family == .v6 ? "[\(address)]" : address.description
        return "\(`protocol`)/\(port) on \(a)\(device.map { "%\($0)" } ?? "") in \(netns)"
    }
}

/// One path from start to end, with how it ends.
public struct TracePath: Sendable, Equatable {
    public var hops: [TraceHop]
    public var disposition: TraceDisposition
    /// A sentence on the end: the error, the listener, where it leaves the host.
    public var detail: String
    /// The kernel's error (errno name) for drops.
    public var error: String?
    /// accepted: the socket that takes the flow.
    public var listener: TraceListener?
    /// no-listener: sockets for the same protocol and port elsewhere on the host.
    public var listenersElsewhere: [TraceListener]
    /// exits-host: the device it leaves through and its next hop.
    public var exitDevice: String?
    public var exitNextHop: IPAddress?

    public init(hops: [TraceHop], disposition: TraceDisposition, detail: String) {
        self.hops = hops; self.disposition = disposition; self.detail = detail
        listenersElsewhere = []
    }

    /// The last namespace the path reached.
    public var endNetns: String? { hops.last?.netns }
}

/// Where a path diverges from the request's path reversed.
public struct TraceDivergence: Sendable, Equatable {
    /// Position of the diverging hop in the reply's hops.
    public var hop: Int
    public var netns: String
    /// The interface the reply leaves through there, and the one retracing would use.
    public var out: String?
    public var expectedOut: String?
    /// Why: the reply's decision there.
    public var rule: UInt32?
    public var table: UInt32?
    public var route: String?
    public var why: String
}

/// One request path and its replies.
public struct TraceBranch: Sendable, Equatable {
    public var forward: TracePath
    /// The reply's paths (several when the reply's lookups fork); empty when the request is
    /// not accepted (nothing answers).
    public var reverse: [TracePath]
    /// The reply retraces the request's path, hop for hop, and arrives where it should.
    public var symmetric: Bool
    public var divergence: TraceDivergence?
}

public struct TraceResult: Sendable, Equatable {
    public static let schemaVersion = "nsaudit.trace/v1"
    public var flow: TraceFlow
    /// The source the request carries (given, or chosen by the start namespace's lookup).
    public var source: IPAddress?
    public var branches: [TraceBranch]

    /// Every branch accepted and symmetric.
    public var symmetric: Bool { !branches.isEmpty && branches.allSatisfy(\.symmetric) }
    /// The flow works: every request path accepted and every reply retraces it.
    public var ok: Bool { branches.allSatisfy { $0.forward.disposition == .accepted && $0.symmetric } }
}

/// A point where a capture would see the packet: the namespace, the interface, and whether
/// the packet enters or leaves there.
public struct TraceCrossing: Sendable, Equatable, Hashable {
    public enum Direction: String, Sendable { case ingress = "in", egress = "out" }
    public var netns: String
    public var interface: String
    public var direction: Direction
    public init(netns: String, interface: String, direction: Direction) {
        self.netns = netns; self.interface = interface; self.direction = direction
    }
}

extension TracePath {
    /// The interfaces this path crosses, in order: for each hop its bridge port and
    /// interface in, then its interface and bridge port out. A packet routed by a bridge
    /// device is seen on the port and on the bridge; a bridged frame on both ports only; a
    /// locally generated packet has no ingress; a packet delivered locally no egress (a
    /// packet a namespace sends to itself crosses `lo`). This is what a capture on every
    /// interface of every namespace sees of the packet when the prediction holds.
    /// A path that ends `neighbor-unknown` stops at its last hop's egress: only ARP/ND is
    /// sent there, never the packet, so that egress is not a crossing.
    public var crossings: [TraceCrossing] {
        var out: [TraceCrossing] = []
        for h in hops {
            if let p = h.inPort { out.append(.init(netns: h.netns, interface: p, direction: .ingress)) }
            if let i = h.inInterface { out.append(.init(netns: h.netns, interface: i, direction: .ingress)) }
            if let o = h.outInterface { out.append(.init(netns: h.netns, interface: o, direction: .egress)) }
            if let p = h.outPort { out.append(.init(netns: h.netns, interface: p, direction: .egress)) }
        }
        if disposition == .neighborUnknown { while out.last?.direction == .egress { out.removeLast() } }
        return out
    }
}

/// The trace engine: a flow followed through the namespaces of a snapshot, each namespace's
/// decision asked of its kernel-exact FIB model (`RoutingModel.routeGet`: policy rules,
/// tables, route types, source selection, rp_filter and forwarding on input), each link
/// followed to the namespace on its far side (veth peers, bridge ports, macvlan/ipvlan
/// siblings), local delivery checked against the listening sockets, and the reply traced back
/// the same way from where it is generated.
public enum Trace {
    /// TTL (hop limit) of a packet as its sender sends it.
    public static let initialTTL = 64
    /// More request or reply paths than this in one trace is refused rather than cut short.
    public static let maxPaths = 4096

    /// Traces `flow` on the host of `context`.
    public static func run(_ flow: TraceFlow, in context: TraceContext) throws(TraceError) -> TraceResult {
        guard let start = context.namespaceIndex(flow.netns) else {
            throw .unknownNamespace(flow.netns, known: context.snapshot.namespaces.map(\.id))
        }
        let ns = context.snapshot.namespaces[start]
        guard ns.status == .ok else { throw .namespaceNotRecorded(ns.id, ns.status.rawValue + (ns.error.map { ": \($0)" } ?? "")) }
        for d in [flow.iif, flow.oif].compactMap({ $0 }) where ns.link(named: d) == nil {
            throw .unknownDevice(d, netns: ns.id)
        }
        var walker = Walker(context: context)
        let packet = Packet(src: flow.src, dst: flow.dst, ipproto: flow.isICMP ? (flow.family == .v4 ? IPProto.icmp : IPProto.icmpv6) : flow.ipproto,
                            sport: flow.sport, dport: flow.dport, mark: flow.mark, tos: flow.tos, uid: flow.uid, ttl: initialTTL)
        let role = Walker.Role.request
        let arrival: Walker.Arrival
        if let iif = flow.iif { arrival = .input(ns.link(named: iif)!, port: nil) } else { arrival = .sent(oif: flow.oif) }
        let forward = try walker.step(start, arrival, packet, [], [], role)
        var branches: [TraceBranch] = []
        for f in forward {
            var b = TraceBranch(forward: f.path, reverse: [], symmetric: false, divergence: nil)
            if f.path.disposition == .accepted, let end = f.delivery {
                let origin: Walker.Origin = flow.iif != nil ? .outside(netns: ns.id, device: flow.iif!) : .namespace(start)
                b.reverse = try walker.reply(to: end, origin: origin).map(\.path)
                let verdicts = b.reverse.map { compare(forward: f.path, reply: $0, origin: origin, context: context) }
                b.symmetric = !verdicts.isEmpty && verdicts.allSatisfy { $0 == nil }
                b.divergence = verdicts.compactMap { $0 }.first
            }
            branches.append(b)
        }
        return TraceResult(flow: flow, source: forward.first?.path.hops.first?.src ?? flow.src, branches: branches)
    }

    /// Traces `flow` on `snapshot` (models built as the trace needs them).
    public static func run(snapshot: Snapshot, flow: TraceFlow) throws(TraceError) -> TraceResult {
        try run(flow, in: TraceContext(snapshot))
    }

    /// nil when `reply` retraces `forward` hop for hop (every namespace, interface and bridge
    /// port in reverse order) and ends where the request began; else the first hop where it
    /// does not, and why.
    static func compare(forward: TracePath, reply: TracePath, origin: Walker.Origin, context: TraceContext) -> TraceDivergence? {
        let expected = Array(forward.hops.reversed())
        func divergence(_ i: Int, _ why: String) -> TraceDivergence {
            let h = reply.hops[min(i, reply.hops.count - 1)]
            let e = i < expected.count && expected[i].netns == h.netns ? expected[i].inInterface : nil
            return TraceDivergence(hop: min(i, reply.hops.count - 1), netns: h.netns, out: h.outInterface, expectedOut: e,
                                   rule: h.rule, table: h.table, route: h.route, why: why)
        }
        for (i, h) in reply.hops.enumerated() {
            guard i < expected.count else { return divergence(i, "the reply goes on beyond where the request started") }
            let e = expected[i]
            if h.netns != e.netns {
                return divergence(i, "the reply reaches \(h.netns), where the request did not come from")
            }
            if h.outInterface != e.inInterface || h.outPort != e.inPort {
                let out = h.outInterface.map { "leaves through \($0)\(h.outPort.map { " (port \($0))" } ?? "")" } ?? "ends here"
                let want = e.inInterface.map { "came in on \($0)\(e.inPort.map { " (port \($0))" } ?? "")" } ?? "started here"
                return divergence(i, "the reply \(out) but the request \(want): \(decisionText(h))")
            }
            if h.inInterface != e.outInterface || h.inPort != e.outPort {
                return divergence(i, "the reply arrives on \(h.inPort ?? h.inInterface ?? "-") but the request left through \(e.outPort ?? e.outInterface ?? "-")")
            }
        }
        if reply.hops.count < expected.count {
            return divergence(reply.hops.count - 1, "the reply ends (\(reply.disposition.rawValue)) before it is back where the request started")
        }
        switch origin {
        case .namespace: if reply.disposition != .delivered { return divergence(reply.hops.count - 1, "the reply is \(reply.disposition.rawValue)") }
        case .outside: if reply.disposition != .exitsHost { return divergence(reply.hops.count - 1, "the reply is \(reply.disposition.rawValue)") }
        }
        return nil
    }

    /// "rule 32766, table main: default via 10.20.30.1 dev ens18" for a routing hop.
    static func decisionText(_ h: TraceHop) -> String {
        if h.kind == .bridge { return "bridge \(h.bridge ?? "?") forwards the frame to \(h.outPort ?? h.outInterface ?? "?")" }
        var parts: [String] = []
        if let r = h.rule { parts.append("rule \(r)") }
        if let t = h.table { parts.append("table \(Table.name(t))") }
        let head = parts.joined(separator: ", ")
        guard let route = h.route else { return head.isEmpty ? "its routing decision" : head }
        return head.isEmpty ? route : "\(head): \(route)"
    }
}

/// A packet as the walk carries it.
struct Packet: Sendable {
    var src: IPAddress?
    var dst: IPAddress
    var ipproto: UInt8
    var sport: UInt16
    var dport: UInt16
    var mark: UInt32
    var tos: UInt8
    var uid: UInt32?
    var ttl: Int
}

/// The walk through the namespaces: one step per namespace (a lookup), one crossing per link.
struct Walker {
    let context: TraceContext
    var paths = 0
    /// Neighbour entries the walk's own ARP exchanges created (the sender learns the target,
    /// the target learns the request's sender address: neigh_event_ns), beyond the recorded
    /// neighbour tables: the reply finds the request's neighbours resolved.
    var learned: Set<Learned> = []
    struct Learned: Hashable { var ns: Int; var dev: Int32; var address: IPAddress }

    /// An ARP request a packet waits for: who sends it, on which device, from which address.
    struct ARPRequest { var ns: Int; var dev: Int32; var sender: IPAddress }

    init(context: TraceContext) { self.context = context }

    enum Role: Equatable { case request, reply(Origin) }
    enum Origin: Equatable { case namespace(Int), outside(netns: String, device: String) }

    /// How the packet comes to a namespace: sent by a local process (bound to `oif`), or
    /// arriving on a device (through a bridge `port` when the device is a bridge).
    enum Arrival { case sent(oif: String?), input(Link, port: String?) }

    /// Where a request was delivered, for its reply.
    struct Delivery {
        var ns: Int
        var ingress: Link?
        var packet: Packet
        var listener: Socket?
    }

    struct Outcome {
        var path: TracePath
        var delivery: Delivery?
    }

    struct Seen: Hashable { var ns: Int; var iif: Int32 }

    mutating func end(_ hops: [TraceHop], _ d: TraceDisposition, _ detail: String, error: String? = nil) throws(TraceError) -> [Outcome] {
        paths += 1
        if paths > Trace.maxPaths { throw .badFlow("the trace forks into more than \(Trace.maxPaths) paths (multipath at every hop): trace a narrower flow") }
        var p = TracePath(hops: hops, disposition: d, detail: detail)
        p.error = error
        return [Outcome(path: p, delivery: nil)]
    }

    /// The reply of a delivered request, traced from the namespace that generates it.
    mutating func reply(to d: Delivery, origin: Origin) throws(TraceError) -> [Outcome] {
        let model = context.model(d.ns)
        var oif: String? = nil
        if let b = d.listener?.boundIf { oif = model.name(of: b) }
        else if let i = d.ingress, case let v = model.enslavingVRF(i.index), v != 0 { oif = model.name(of: v) }
        let p = d.packet
        let reply = Packet(src: p.dst, dst: p.src ?? .zero(p.dst.family), ipproto: p.ipproto, sport: p.dport, dport: p.sport,
                           mark: 0, tos: p.tos, uid: d.listener?.uid ?? 0, ttl: Trace.initialTTL)
        return try step(d.ns, .sent(oif: oif), reply, [], [], .reply(origin))
    }

    /// The decision in namespace `ns` for a packet arriving as `how`, and everything after it.
    mutating func step(_ ns: Int, _ how: Arrival, _ pkt: Packet, _ hops: [TraceHop], _ seen: Set<Seen>, _ role: Role) throws(TraceError) -> [Outcome] {
        let snap = context.snapshot.namespaces[ns]
        let model = context.model(ns)
        var q = RouteQuery(dst: pkt.dst, line: "trace")
        q.src = pkt.src; q.mark = pkt.mark; q.tos = pkt.tos; q.ipproto = pkt.ipproto
        if pkt.ipproto == IPProto.tcp || pkt.ipproto == IPProto.udp { q.sport = pkt.sport; q.dport = pkt.dport }
        var hop = TraceHop(netns: snap.id, type: "unicast", dst: pkt.dst, ttl: pkt.ttl)
        hop.filteringNotEvaluated = context.filtersPackets(ns)
        var seen = seen
        switch how {
        case .sent(let oif):
            q.oif = oif; q.uid = pkt.uid ?? 0
        case .input(let l, let port):
            q.iif = l.name
            hop.inInterface = l.name; hop.inPort = port
            if !seen.insert(Seen(ns: ns, iif: l.index)).inserted {
                hop.type = "loop"
                return try end(hops + [hop], .loop, "the packet comes back to \(snap.id) on \(l.name), where it has been before")
            }
        }
        let r: RouteResult
        do { r = try model.routeGet(q) } catch {
            return try end(hops + [hop], .noRoute, "the lookup cannot be asked: \(error)")
        }
        hop.src = pkt.src ?? r.prefsrc
        hop.rule = r.rule; hop.table = r.table
        hop.type = r.type?.name ?? "unicast"
        hop.route = context.routeText(ns, r, path: nil)
        if let e = r.error {
            hop.error = e.rawValue
            return try dropped(ns, how, pkt, r, e, hops + [hop])
        }
        // A local process's TCP or UDP connect() without a bound source (ip_route_connect):
        // the lookup chooses the source, then the route is looked up again with it, so a
        // `from` rule can send the flow elsewhere. Raw and ICMP sockets look up once; IPv6
        // looks up again only after a failed first lookup (ip6_dst_lookup_tail).
        if case .sent = how, pkt.src == nil, pkt.dst.family == .v4, pkt.ipproto == IPProto.tcp || pkt.ipproto == IPProto.udp {
            let sources = r.multipath.isEmpty ? [r.prefsrc] : r.multipath.map { $0.prefsrc ?? r.prefsrc }
            var again: [Outcome] = []
            var tried = Set<IPAddress>()
            for case let s? in sources where tried.insert(s).inserted {
                var p = pkt
                p.src = s
                again += try step(ns, how, p, hops, seen, role)
            }
            if !again.isEmpty { return again }
        }
        if r.type == .local || r.type == .broadcast || r.type == .multicast {
            var pkt = pkt
            if pkt.src == nil { pkt.src = r.prefsrc ?? pkt.dst }
            hop.src = pkt.src
            var all = hops
            var ingress: Link? = nil
            if case .input(let l, _) = how { ingress = l; all.append(hop) }
            else {
                // sent to itself: through the loopback (or the VRF device)
                hop.outInterface = r.dev
                all.append(hop)
                var back = TraceHop(netns: snap.id, type: hop.type, dst: pkt.dst, ttl: pkt.ttl)
                back.inInterface = r.dev; back.src = pkt.src; back.rule = r.rule; back.table = r.table; back.route = hop.route
                back.filteringNotEvaluated = hop.filteringNotEvaluated
                all.append(back)
                ingress = r.dev.flatMap { snap.link(named: $0) }
            }
            return try deliver(ns, ingress, pkt, all, role)
        }
        if case .input = how {
            if pkt.dst.family == .v6 && !snap.settings.forwardsIPv6 {
                hop.error = "forwarding off"
                return try end(hops + [hop], .forwardingDisabled, "\(snap.id) does not forward IPv6 (net.ipv6.conf.all.forwarding=0)")
            }
            if pkt.ttl <= 1 {
                hop.error = "TTL exceeded"
                return try end(hops + [hop], .loop, "the TTL runs out in \(snap.id): the packet goes round in circles")
            }
        }
        // Every path the kernel may choose (multipath: each a branch).
        var choices: [(dev: String, gateway: IPAddress?, prefsrc: IPAddress?, error: KernelError?)] = []
        if r.multipath.isEmpty {
            choices = [(r.dev ?? "", r.gateway, r.prefsrc, nil)]
        } else {
            choices = r.multipath.map { ($0.dev, $0.gateway, $0.prefsrc ?? r.prefsrc, $0.error) }
        }
        var out: [Outcome] = []
        for c in choices {
            var h = hop
            h.outInterface = c.dev; h.gateway = c.gateway
            if !r.multipath.isEmpty {
                h.route = context.routeText(ns, r, path: choices.firstIndex { $0.dev == c.dev && $0.gateway == c.gateway }) ?? hop.route
            }
            var p = pkt
            if p.src == nil { p.src = c.prefsrc }
            h.src = p.src
            if let e = c.error {
                h.error = e.rawValue
                out += try dropped(ns, how, pkt, r, e, hops + [h])
                continue
            }
            if case .input = how { p.ttl -= 1 }
            out += try cross(ns, c.dev, c.gateway ?? p.dst, p, hops + [h], seen, role)
        }
        return out
    }

    /// A lookup that failed: which disposition its error is.
    mutating func dropped(_ ns: Int, _ how: Arrival, _ pkt: Packet, _ r: RouteResult, _ e: KernelError, _ hops: [TraceHop]) throws(TraceError) -> [Outcome] {
        let snap = context.snapshot.namespaces[ns]
        let where_ = "in \(snap.id)"
        if let t = r.type, t == .blackhole || t == .unreachable || t == .prohibit {
            let by = r.table == nil && r.rule != nil ? "rule \(r.rule!)" : "a \(t.name) route"
            return try end(hops, .nullRouted, "\(by) \(where_) drops it (\(t.name): \(e.message))", error: e.rawValue)
        }
        if case .input(let l, _) = how {
            if e == .EINVAL && pkt.dst.family == .v4 && rpFilterRejects(ns, l, pkt) {
                let rpf = snap.settings.effectiveIPv4(l.name).rpFilter
                return try end(hops, .rpFilterDrop, "reverse-path filtering \(where_) drops it on \(l.name) (rp_filter \(rpf == 1 ? "1, strict" : "2, loose")): the route back to \(pkt.src?.description ?? "the source") does not leave through \(l.name)", error: e.rawValue)
            }
            if e == .EHOSTUNREACH && pkt.dst.family == .v4 && !snap.settings.effectiveIPv4(l.name).forwarding {
                return try end(hops, .forwardingDisabled, "\(snap.id) does not forward IPv4 arriving on \(l.name) (net.ipv4.conf.\(l.name).forwarding=0)", error: e.rawValue)
            }
        }
        return try end(hops, .noRoute, "no route \(where_) (\(e.message))", error: e.rawValue)
    }

    /// Reverse-path filtering rejects the packet's source on `l` (fib_validate_source).
    func rpFilterRejects(_ ns: Int, _ l: Link, _ pkt: Packet) -> Bool {
        let model = context.model(ns)
        guard let dev = model.link(l.index), dev.rpFilter != 0, let s = pkt.src else { return false }
        return model.validateSource4(src: s.v4, dst: pkt.dst.v4, tos: pkt.tos, oif: 0, dev: dev, mark: pkt.mark,
                                     proto: pkt.ipproto, sport: pkt.sport, dport: pkt.dport) == .rpfFailed
    }

    /// Local delivery in `ns`: a request is checked against the listening sockets, a reply is
    /// delivered (back at the sender) or misdelivered (at another namespace with its address).
    mutating func deliver(_ ns: Int, _ ingress: Link?, _ pkt: Packet, _ hops: [TraceHop], _ role: Role) throws(TraceError) -> [Outcome] {
        let snap = context.snapshot.namespaces[ns]
        switch role {
        case .reply(let origin):
            if case .namespace(let o) = origin, o == ns {
                return try end(hops, .delivered, "the reply is back at \(snap.id), which sent the request")
            }
            let sender = origin == .namespace(ns) ? "" : " (\(originName(origin)) sent the request)"
            return try end(hops, .misdelivered, "the reply is delivered to \(snap.id), which also holds \(pkt.dst)\(sender)")
        case .request:
            let match = Listeners.match(snap, model: context.model(ns), ingress: ingress, pkt)
            var outcome = try end(hops, match.socket != nil || match.kernel ? .accepted : .noListener, "")
            var p = outcome[0].path
            if match.kernel {
                p.detail = "the kernel of \(snap.id) answers the echo request"
            } else if let s = match.socket {
                p.listener = Listeners.describe(s, snap)
                p.detail = "accepted by the \(p.listener!.description)"
            } else {
                p.listenersElsewhere = Listeners.elsewhere(context, except: ns, pkt)
                let port = "\(IPProto.name(pkt.ipproto))/\(pkt.dport)"
                if p.listenersElsewhere.isEmpty {
                    p.detail = "nothing listens on \(port) for \(pkt.dst) in \(snap.id), nor anywhere else on the host"
                } else {
                    let places = Array(Set(p.listenersElsewhere.map(\.netns))).sorted()
                    p.detail = "nothing listens on \(port) for \(pkt.dst) in \(snap.id); a \(port) listener runs in \(places.joined(separator: ", "))"
                }
            }
            outcome[0].path = p
            outcome[0].delivery = Delivery(ns: ns, ingress: ingress, packet: pkt, listener: match.socket)
            return outcome
        }
    }

    func originName(_ o: Origin) -> String {
        switch o {
        case .namespace(let i): context.snapshot.namespaces[i].id
        case .outside(let n, let d): "a host outside, through \(d) of \(n),"
        }
    }

    /// The link out of `ns` through `devName` toward `nextHop`, to the namespace on its far side.
    mutating func cross(_ ns: Int, _ devName: String, _ nextHop: IPAddress, _ pkt: Packet, _ hops: [TraceHop],
                        _ seen: Set<Seen>, _ role: Role) throws(TraceError) -> [Outcome] {
        let snap = context.snapshot.namespaces[ns]
        guard let l = snap.link(named: devName) else {
            return try exits(hops, devName, nextHop, "leaves \(snap.id) through \(devName)")
        }
        let mac = context.neighborMAC(ns, l.index, nextHop)
        // no resolved neighbour: an ARP request goes first (IPv4), from this address
        let resolved = mac != nil || learned.contains(Learned(ns: ns, dev: l.index, address: nextHop))
        let arp = resolved ? nil : arpSender(ns, l, pkt.src, target: nextHop).map { ARPRequest(ns: ns, dev: l.index, sender: $0) }
        if l.kind == "bridge" {
            var hops = hops
            let ports = context.bridgePorts(ns, l)
            // the forwarding database, for the address the neighbour table resolved; else
            // the port behind which a namespace answers for the next hop
            var port: Link? = nil
            if let mac, case .port(let q)? = context.fdbTarget(ns, l, mac) { port = q }
            if port == nil { port = ports.first { context.leadsTo(ns, $0, nextHop) } }
            if let q = port, let far = context.vethPeer(ns, q) {
                hops[hops.count - 1].outPort = q.name
                return try arrive(far.ns, far.link, nextHop, mac, arp, crossedNetns(ns, far.ns, pkt), hops, seen, role)
            }
            if let q = port {
                hops[hops.count - 1].outPort = q.name
                return try exits(hops, q.name, nextHop, "leaves the host through \(q.name), a port of \(l.name) in \(snap.id)")
            }
            if let q = ports.first(where: { context.leavesHost(ns, $0) }) {
                hops[hops.count - 1].outPort = q.name
                return try exits(hops, q.name, nextHop, "leaves the host through \(q.name), a port of \(l.name) in \(snap.id)")
            }
            return try end(hops, .neighborUnknown, "no namespace behind \(l.name) in \(snap.id) answers for \(nextHop)")
        }
        if let far = context.vethPeer(ns, l) {
            return try arrive(far.ns, far.link, nextHop, mac, arp, crossedNetns(ns, far.ns, pkt), hops, seen, role)
        }
        if let parent = context.upperParent(ns, l) {
            // macvlan/ipvlan: a sibling on the same parent whose namespace answers for the next hop
            for (i, n) in context.snapshot.namespaces.enumerated() where n.status == .ok {
                for s in n.links where !(i == ns && s.index == l.index) {
                    guard let p = context.upperParent(i, s), p == parent, context.answersNeighbor(i, s, nextHop) else { continue }
                    if let why = resolveARP(arp, i, s, nextHop) { return try end(hops, .neighborUnknown, why) }
                    return try step(i, .input(s, port: nil), crossedNetns(ns, i, pkt), hops, seen, role)
                }
            }
            let pname = context.snapshot.namespaces[parent.ns].linkName(parent.index) ?? "if\(parent.index)"
            return try exits(hops, devName, nextHop, "leaves the host through \(devName) (on \(pname))")
        }
        if l.isLoopback {
            return try end(hops, .noRoute, "a route through lo for a non-local address in \(snap.id)")
        }
        return try exits(hops, devName, nextHop, "leaves the host through \(devName) of \(snap.id)")
    }

    mutating func exits(_ hops: [TraceHop], _ dev: String, _ nextHop: IPAddress, _ text: String) throws(TraceError) -> [Outcome] {
        var o = try end(hops, .exitsHost, "\(text), next hop \(nextHop)")
        o[0].path.exitDevice = dev; o[0].path.exitNextHop = nextHop
        return o
    }

    /// The mark does not survive a change of namespace (skb_scrub_packet).
    func crossedNetns(_ from: Int, _ to: Int, _ pkt: Packet) -> Packet {
        var p = pkt
        if from != to { p.mark = 0 }
        return p
    }

    /// The sender address of the ARP request namespace `ns` sends on `dev` for `target`
    /// before a packet from `src` can leave (arp_solicit): the packet's source when it is
    /// one of the namespace's addresses (arp_announce 0), or one on a subnet of `dev` that
    /// also holds the target (arp_announce 1); else the device's address for the target
    /// (inet_select_addr, link scope). nil for IPv6 (neighbour discovery is not modelled).
    func arpSender(_ ns: Int, _ dev: Link, _ src: IPAddress?, target: IPAddress) -> IPAddress? {
        guard target.family == .v4 else { return nil }
        let model = context.model(ns)
        if let src, src.family == .v4, model.isLocalAddr4(src.v4) {
            switch context.snapshot.namespaces[ns].settings.effectiveIPv4(dev.name).arpAnnounce {
            case 0: return src
            case 1:
                // inet_addr_onlink: a subnet of the device holds both
                let onlink = context.snapshot.namespaces[ns].addresses.contains { a in
                    a.index == dev.index && a.family == .v4 && a.prefix.contains(target) && a.prefix.contains(src)
                }
                if onlink { return src }
            default: break
            }
        }
        let a = model.selectAddr4(dev.index, dst: target.v4, scope: Scope.link)
        return a == 0 ? nil : IPAddress(v4: a)
    }

    /// Why namespace `ns` does not answer the ARP request for `target` from `sender` on
    /// `dev` (arp_process: its input route check of the request, source validation and
    /// rp_filter included, must succeed and say local), or nil when it answers.
    func arpRefusal(_ ns: Int, _ dev: Link, _ target: IPAddress, from sender: IPAddress) -> String? {
        guard target.family == .v4 else { return nil }
        var q = RouteQuery(dst: target, line: "arp")
        q.src = sender; q.iif = dev.name
        guard let r = try? context.model(ns).routeGet(q) else { return nil }
        if r.error == nil && r.type == .local { return nil }
        let snap = context.snapshot.namespaces[ns]
        let why: String
        let rpf = snap.settings.effectiveIPv4(dev.name).rpFilter
        if context.model(ns).isLocalAddr4(sender.v4) {
            why = "\(sender) is one of its own addresses"
        } else if r.error != nil && rpf != 0 {
            why = rpf == 1 ? "reverse-path filtering (rp_filter 1) finds no route back to \(sender) through \(dev.name)"
                           : "reverse-path filtering (rp_filter 2) finds no route back to \(sender)"
        } else {
            why = "its input route check of \(sender) " + (r.error.map { "fails (\($0.message))" } ?? "is not local there (\(r.type?.name ?? "unicast"))")
        }
        return "\(snap.id) does not answer the ARP request for \(target) from \(sender) on \(dev.name): \(why); nothing is sent"
    }

    /// The ARP exchange `arp` (nil: none needed) with namespace `ns`, which holds `target`
    /// on `dev`: why it gets no answer, or nil when answered (both ends then know each
    /// other, for the rest of the walk).
    mutating func resolveARP(_ arp: ARPRequest?, _ ns: Int, _ dev: Link, _ target: IPAddress) -> String? {
        guard let arp else { return nil }
        if let why = arpRefusal(ns, dev, target, from: arp.sender) { return why }
        learned.insert(Learned(ns: arp.ns, dev: arp.dev, address: target))
        learned.insert(Learned(ns: ns, dev: dev.index, address: arp.sender))
        return nil
    }

    /// `hops` up to the routing decision that sent the packet (without the bridges it would
    /// cross): where a packet whose neighbour never answers stays.
    func untilSent(_ hops: [TraceHop]) -> [TraceHop] {
        guard let i = hops.lastIndex(where: { $0.kind != .bridge }) else { return hops }
        return Array(hops[...i])
    }

    /// A frame for `nextHop` (link-layer address `mac`, when the sender's neighbour table
    /// has it; else resolved by the ARP request `arp`) arriving on `l` in namespace `ns`.
    mutating func arrive(_ ns: Int, _ l: Link, _ nextHop: IPAddress, _ mac: String?, _ arp: ARPRequest?, _ pkt: Packet, _ hops: [TraceHop],
                         _ seen: Set<Seen>, _ role: Role) throws(TraceError) -> [Outcome] {
        let snap = context.snapshot.namespaces[ns]
        if let b = context.bridge(of: l, in: ns) {
            // the forwarding database decides where it has an entry for the address the
            // sender resolved; else who answers for the next hop
            var target = mac.flatMap { context.fdbTarget(ns, b, $0) }
            if case .port(let q)? = target, q.index == l.index { target = nil }
            let toBridge: Bool
            if let target, case .bridge = target { toBridge = true }
            else { toBridge = target == nil && context.answersNeighbor(ns, b, nextHop) }
            if toBridge {
                if let why = resolveARP(arp, ns, b, nextHop) { return try end(untilSent(hops), .neighborUnknown, why) }
                return try step(ns, .input(b, port: l.name), pkt, hops, seen, role)
            }
            var h = TraceHop(kind: .bridge, netns: snap.id, type: "bridge", dst: pkt.dst, ttl: pkt.ttl)
            h.bridge = b.name; h.inPort = l.name; h.src = pkt.src
            h.filteringNotEvaluated = context.filtersPackets(ns)
            let ports = context.bridgePorts(ns, b).filter { $0.index != l.index }
            var port: Link? = nil
            if case .port(let q)? = target { port = q }
            if port == nil { port = ports.first { context.leadsTo(ns, $0, nextHop) } }
            if let q = port, let far = context.vethPeer(ns, q) {
                h.outPort = q.name
                if hops.contains(where: { $0.kind == .bridge && $0.netns == h.netns && $0.inPort == h.inPort && $0.outPort == h.outPort }) {
                    return try end(hops + [h], .loop, "the frame goes round through \(b.name) in \(snap.id)")
                }
                return try arrive(far.ns, far.link, nextHop, mac, arp, crossedNetns(ns, far.ns, pkt), hops + [h], seen, role)
            }
            if let q = port {
                h.outPort = q.name
                return try exits(hops + [h], q.name, nextHop, "leaves the host through \(q.name), a port of \(b.name) in \(snap.id)")
            }
            if let q = ports.first(where: { context.leavesHost(ns, $0) }) {
                h.outPort = q.name
                return try exits(hops + [h], q.name, nextHop, "leaves the host through \(q.name), a port of \(b.name) in \(snap.id)")
            }
            return try end(hops + [h], .neighborUnknown, "no namespace on \(b.name) in \(snap.id) answers for \(nextHop)")
        }
        if context.answersNeighbor(ns, l, nextHop) {
            if let why = resolveARP(arp, ns, l, nextHop) { return try end(untilSent(hops), .neighborUnknown, why) }
            return try step(ns, .input(l, port: nil), pkt, hops, seen, role)
        }
        return try end(hops, .neighborUnknown, "\(snap.id) does not answer for \(nextHop) on \(l.name) (ARP/ND gets no reply)")
    }
}

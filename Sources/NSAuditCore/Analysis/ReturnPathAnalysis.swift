/// Exhaustive return-path analysis of one namespace: for every local address A and every
/// interface I a request to A may arrive on, the whole client source space is cut into
/// ranges on which every routing decision is constant (`AddressPartition`), and one
/// representative per range is asked of the FIB model twice:
///   - the request, an input lookup `A from S iif I` (local delivery, rp_filter);
///   - the reply, an output lookup `S from A` (locally generated, bound like the socket).
/// Ranges with the same verdict are merged into CIDR sets.
public struct ReturnPathAnalysis {
    public struct Options: Sendable {
        /// Consider every interface as a possible ingress, not only the address's own.
        public var anyIngress = false
        public init(anyIngress: Bool = false) { self.anyIngress = anyIngress }
    }

    /// What happens to clients of one range.
    public enum Verdict: Hashable, Sendable {
        case symmetric
        /// Not a remote client: a local, martian or special source (skipped).
        case notApplicable
        case asymmetric(egress: String, gateway: IPAddress?, table: UInt32?, rule: UInt32?, route: RouteKind)
        case rpFilterDrop(error: String, rule: UInt32?, reverse: RouteKind)
        case requestRejected(error: String)
        case unroutable(type: String, table: UInt32?, rule: UInt32?)
        case ecmpSplit(egress: [String], table: UInt32?, rule: UInt32?, route: RouteKind)
    }

    /// What kind of route a reply takes: onto a connected link, along a route for the
    /// client's own network, or along a default route (the client is not known elsewhere).
    public enum RouteKind: String, Hashable, Sendable { case connected, specific, `default` }

    /// Whether the route matched for `s` in `table` is a default route: no prefix longer
    /// than /0 of that table covers `s`.
    final class Coverage {
        let ns: NamespaceSnapshot
        var byTable: [UInt32: AddressRanges] = [:]
        init(_ ns: NamespaceSnapshot) { self.ns = ns }
        func kind(_ s: IPAddress, table: UInt32?, gateway: Bool) -> RouteKind {
            guard gateway else { return .connected }
            let t = table ?? Table.main
            if byTable[t] == nil {
                var p = ns.routes.filter { $0.family == s.family && $0.dst.length > 0 && ($0.table == t || (table == nil && $0.table == Table.local)) }.map(\.dst)
                p.sort { $0.address.bits < $1.address.bits }
                var r = AddressRanges(family: s.family)
                var cur: (UInt128, UInt128)?
                for x in p {
                    let lo = x.address.bits, hi = x.last.bits
                    if let c = cur, lo <= c.1 &+ 1, c.1 != UInt128.max { cur = (c.0, max(c.1, hi)) } else {
                        if let c = cur { r.append(c.0, c.1) }
                        cur = (lo, hi)
                    }
                }
                if let c = cur { r.append(c.0, c.1) }
                byTable[t] = r
            }
            return byTable[t]!.contains(s) ? .specific : .default
        }
    }

    /// One (address, ingress) pair with the source ranges of each non-symmetric verdict.
    public struct Result: Sendable {
        public var address: Address
        public var ingress: String
        public var byVerdict: [(Verdict, AddressRanges)]
        public var symmetric: AddressRanges
    }

    let ns: NamespaceSnapshot
    let model: RoutingModel
    let options: Options

    public init(_ ns: NamespaceSnapshot, model: RoutingModel? = nil, options: Options = Options()) {
        self.ns = ns
        self.model = model ?? RoutingModel(ns)
        self.options = options
    }

    /// Addresses worth auditing: unicast, not loopback, not IPv6 link-local (reachable only
    /// on-link), on an interface that is administratively up.
    public var auditedAddresses: [Address] {
        ns.addresses.filter { a in
            guard let l = ns.link(index: a.index), l.adminUp, !l.isLoopback, !l.isVRF else { return false }
            if a.local.isLoopback || a.local.isMulticast { return false }
            if a.family == .v6 && (a.local.isLinkLocal || a.scope == Scope.link) { return false }
            if a.flags & AddressFlags.dadfailed != 0 { return false }
            return true
        }
    }

    /// Special source ranges that are never real remote clients.
    static func specialPrefixes(_ f: IPAddress.Family) -> [IPPrefix] {
        let texts = f == .v4
            ? ["0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32"]
            : ["::/128", "::1/128", "ff00::/8", "fe80::/10", "::ffff:0.0.0.0/96"]
        return texts.compactMap { IPPrefix($0) }
    }

    func partition(_ f: IPAddress.Family) -> AddressPartition {
        var prefixes: [IPPrefix] = Self.specialPrefixes(f)
        for r in ns.routes where r.family == f {
            prefixes.append(r.dst)
            if let s = r.src { prefixes.append(s) }
        }
        for r in ns.rules where r.family == f {
            if let s = r.src { prefixes.append(s) }
            if let d = r.dst { prefixes.append(d) }
        }
        for a in ns.addresses where a.family == f {
            prefixes.append(IPPrefix(a.local, f.bitWidth))
            prefixes.append(a.prefix)
        }
        return AddressPartition(family: f, prefixes: prefixes)
    }

    /// The device a reply socket on `a` is bound to: the VRF of its interface (a listener in
    /// a VRF is bound to it, or accepted through tcp_l3mdev_accept, and so are its replies).
    func replyBinding(_ a: Address) -> String? {
        guard let l = ns.link(index: a.index), let m = l.master, let master = ns.link(index: m), master.isVRF else { return nil }
        return master.name
    }

    /// The analysis of one address for one ingress interface (used by declared intents).
    public func analyze(_ a: Address, ingress: Link) -> Result {
        let part = partition(a.family)
        let skip = skipList(part)
        let replies = replyVerdicts(a, part, skip, binding: replyBinding(a))
        return classify(a, ingress: ingress, part, skip, replies)
    }

    /// Ranges that are special or local sources (never remote clients).
    func skipList(_ part: AddressPartition) -> [Bool] {
        let fam = part.family
        let special = Self.specialPrefixes(fam)
        let localSet = Set(ns.addresses.filter { $0.family == fam }.map { $0.local.bits })
        return (0..<part.count).map { i in
            let rep = part.representative(i)
            return special.contains { $0.contains(rep) } || localSet.contains(rep.bits)
                || (fam == .v4 && isSubnetBroadcast(rep))
        }
    }

    public func run() -> [Result] {
        var out: [Result] = []
        let audited = auditedAddresses
        for fam in [IPAddress.Family.v4, .v6] {
            let addrs = audited.filter { $0.family == fam }
            guard !addrs.isEmpty else { continue }
            let part = partition(fam)
            let skip = skipList(part)
            var replyCache: [ReplyKey: [Verdict]] = [:]
            let ingressCandidates = ns.links.filter { $0.adminUp && !$0.isLoopback && !$0.isVRF }
            for a in addrs {
                let binding = replyBinding(a)
                let key = ReplyKey(signature: signature(a), binding: binding)
                let owner = ns.link(index: a.index)!
                let ingresses = options.anyIngress ? ingressCandidates : [owner]
                for ing in ingresses {
                    let replies: [Verdict]
                    if let cached = replyCache[key] { replies = cached } else {
                        replies = replyVerdicts(a, part, skip, binding: binding)
                        replyCache[key] = replies
                    }
                    out.append(classify(a, ingress: ing, part, skip, replies))
                }
            }
        }
        return out
    }

    struct ReplyKey: Hashable {
        var signature: [Int]
        var binding: String?
    }

    /// Rules and source-specific routes whose source selector matches `a`: two addresses with
    /// the same signature get the same reply routing for every destination.
    func signature(_ a: Address) -> [Int] {
        var sig: [Int] = []
        for (i, r) in ns.rules.enumerated() where r.family == a.family {
            if let s = r.src, s.contains(a.local) { sig.append(i) }
        }
        for (i, r) in ns.routes.enumerated() where r.family == a.family {
            if let s = r.src, s.contains(a.local) { sig.append(-1 - i) }
        }
        return sig
    }

    func isSubnetBroadcast(_ s: IPAddress) -> Bool {
        ns.addresses.contains { $0.family == .v4 && $0.prefixlen < 31 && $0.prefix.last == s }
    }

    /// The reply lookup `S from A` for each range, as a verdict relative to no ingress yet:
    /// symmetric is decided later against each ingress, so this keeps the raw egress.
    func replyVerdicts(_ a: Address, _ part: AddressPartition, _ skip: [Bool], binding: String?) -> [Verdict] {
        var out = [Verdict](repeating: .notApplicable, count: part.count)
        let coverage = Coverage(ns)
        var q = RouteQuery(dst: a.local, line: "reply")
        q.src = a.local
        q.oif = binding
        for i in 0..<part.count where !skip[i] {
            q.dst = part.representative(i)
            guard let r = try? model.routeGet(q) else { continue }
            if let e = r.error {
                out[i] = .unroutable(type: r.type?.name ?? e.rawValue, table: r.table, rule: r.rule)
                continue
            }
            switch r.type {
            case .local?, .anycast?: out[i] = .notApplicable  // a local or subnet-router anycast source
            case .unicast?, nil:
                if r.multipath.count > 1 {
                    let devs = Array(Set(r.multipath.map(\.dev))).sorted()
                    if devs.count == 1 {
                        let gw = r.multipath.first?.gateway
                        out[i] = .asymmetric(egress: devs[0], gateway: gw, table: r.table, rule: r.rule,
                                             route: coverage.kind(q.dst, table: r.table, gateway: gw != nil))
                    } else {
                        out[i] = .ecmpSplit(egress: devs, table: r.table, rule: r.rule,
                                            route: coverage.kind(q.dst, table: r.table, gateway: r.multipath.contains { $0.gateway != nil }))
                    }
                } else {
                    out[i] = .asymmetric(egress: r.dev ?? "?", gateway: r.gateway, table: r.table, rule: r.rule,
                                         route: coverage.kind(q.dst, table: r.table, gateway: r.gateway != nil))
                }
            case let t?:
                out[i] = .unroutable(type: t.name, table: r.table, rule: r.rule)
            }
        }
        return out
    }

    func classify(_ a: Address, ingress: Link, _ part: AddressPartition, _ skip: [Bool], _ replies: [Verdict]) -> Result {
        var groups: [Verdict: AddressRanges] = [:]
        var order: [Verdict] = []
        var symmetric = AddressRanges(family: a.family)
        var q = RouteQuery(dst: a.local, line: "request")
        q.iif = ingress.name
        for i in 0..<part.count where !skip[i] {
            let s = part.representative(i)
            q.src = s
            var v: Verdict
            let req = try? model.routeGet(q)
            if let req, let e = req.error {
                let rpf = ingressRPFilter(ingress, a.family)
                v = rpf > 0 ? .rpFilterDrop(error: e.rawValue, rule: req.rule, reverse: Self.routeKind(replies[i]))
                    : .requestRejected(error: e.rawValue)
            } else if let req, req.type != .local {
                v = .notApplicable  // not delivered locally (forwarded): not a reply-path question
            } else {
                if case .asymmetric(let egress, _, _, _, _) = replies[i], egress == ingress.name {
                    v = .symmetric
                } else {
                    v = replies[i]
                }
            }
            let (lo, hi) = part.bounds(i)
            if v == .symmetric { symmetric.append(lo, hi); continue }
            if v == .notApplicable { continue }
            if groups[v] == nil { groups[v] = AddressRanges(family: a.family); order.append(v) }
            groups[v]!.append(lo, hi)
        }
        return Result(address: a, ingress: ingress.name, byVerdict: order.map { ($0, groups[$0]!) }, symmetric: symmetric)
    }

    static func routeKind(_ v: Verdict) -> RouteKind {
        switch v {
        case .asymmetric(_, _, _, _, let k), .ecmpSplit(_, _, _, let k): k
        default: .specific
        }
    }

    /// Effective IPv4 rp_filter on a device: max(all, device). IPv6 has none (0).
    func ingressRPFilter(_ l: Link, _ f: IPAddress.Family) -> Int {
        guard f == .v4 else { return 0 }
        return max(ns.deviceSysctl(.v4, "all", "rp_filter") ?? 0, ns.deviceSysctl(.v4, l.name, "rp_filter") ?? 0)
    }
}

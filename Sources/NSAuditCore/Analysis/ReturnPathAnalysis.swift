import FoundationEssentials

/// Exhaustive return-path analysis of one namespace: for every local address A and every
/// interface I a request to A may arrive on, the whole client source space is cut into
/// ranges on which every routing decision is constant (`AddressPartition`), and one
/// representative per range is asked of the FIB model twice:
///   - the request, an input lookup `A from S iif I` (local delivery, rp_filter);
///   - the reply, an output lookup `S from A` (locally generated, bound like the socket).
/// Ranges with the same verdict are merged into CIDR sets.
public struct ReturnPathAnalysis: Sendable {
    public struct Options: Sendable {
        /// Consider every interface as a possible ingress, not only the address's own.
        public var anyIngress = false
        /// Reuse one address's classification for the addresses that route alike
        /// (`ResultKey`); off only to check that sharing changes nothing (tests).
        @_spi(Testing) public var shareResults = true
        /// Only these addresses (incremental re-audits); nil for all.
        public var only: Set<IPAddress>? = nil
        /// Cut the source space into this many chunks analysed concurrently; nil: one per
        /// core when the partition has 200,000 ranges or more.
        var chunks: Int? = nil
        /// Addresses whose lookups never leave a few tables (`tablesReached`) are analysed on
        /// a copy of the namespace holding only those tables, when that leaves out at least
        /// three quarters of the routes of their family and the family has more routes than
        /// this; 0 does it whenever the tables can be shown (tests), nil never.
        var reduceAbove: Int? = 50_000
        public init(anyIngress: Bool = false, only: Set<IPAddress>? = nil) {
            self.anyIngress = anyIngress; self.only = only
        }
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
    /// than /0 of that table covers `s`. Built once per family (every table's covered
    /// ranges), then only read.
    final class Coverage: Sendable {
        /// Per table; `nil` (no table reported) stands for main and local together.
        let byTable: [UInt32?: AddressRanges]
        /// `packed`: IPv4 gathered as packed spans and sorted by radix (off only to check it).
        init(_ ns: NamespaceSnapshot, _ family: IPAddress.Family, packed: Bool = true) {
            if family == .v4 && packed {
                // Packed spans gathered table by table (routes come grouped by table).
                var spans: [UInt32: [UInt64]] = [:]
                var table = UInt32.max
                var current: [UInt64] = []
                ns.routes.withUnsafeBufferPointer { rs in
                    for i in rs.indices where rs[i].family == .v4 && rs[i].dst.length > 0 {
                        if rs[i].table != table {
                            if table != .max { spans[table] = current }
                            table = rs[i].table
                            current = spans.removeValue(forKey: table) ?? []
                        }
                        current.append(AddressRanges.packedV4(rs[i].dst))
                    }
                }
                if table != .max { spans[table] = current }
                var out: [UInt32?: AddressRanges] = [:]
                var mainAndLocal = (spans[Table.main] ?? []) + (spans[Table.local] ?? [])
                if !mainAndLocal.isEmpty { out[nil as UInt32?] = AddressRanges(packedV4: &mainAndLocal) }
                for (t, var x) in spans { out[t] = AddressRanges(packedV4: &x) }
                byTable = out
                return
            }
            var prefixes: [UInt32?: [IPPrefix]] = [:]
            for r in ns.routes where r.family == family && r.dst.length > 0 {
                prefixes[r.table, default: []].append(r.dst)
                if r.table == Table.main || r.table == Table.local { prefixes[nil as UInt32?, default: []].append(r.dst) }
            }
            byTable = prefixes.mapValues { AddressRanges(union: $0, family: family) }
        }
        func kind(_ s: IPAddress, table: UInt32?, gateway: Bool) -> RouteKind {
            guard gateway else { return .connected }
            return byTable[table]?.contains(s) == true ? .specific : .default
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

    /// What the analysis needs of the namespace besides the FIB model, per family: the
    /// partition of the source space, the skipped ranges, and default-route coverage (so a
    /// caller can build it while the model is being built).
    public struct Prepared: Sendable {
        var byFamily: [IPAddress.Family: (AddressPartition, [Bool], Coverage)] = [:]
        public init(_ ns: NamespaceSnapshot) {
            for f in [IPAddress.Family.v4, .v6] { byFamily[f] = ReturnPathAnalysis.prepare(ns, f) }
        }
    }
    let prepared: Prepared?
    /// The namespace's route facts, when the caller has them.
    let facts: RouteFacts?

    public init(_ ns: NamespaceSnapshot, model: RoutingModel? = nil, options: Options = Options(), prepared: Prepared? = nil) {
        self.init(ns, model: model, options: options, prepared: prepared, facts: nil)
    }

    init(_ ns: NamespaceSnapshot, model: RoutingModel? = nil, options: Options, prepared: Prepared?, facts: RouteFacts?) {
        self.ns = ns
        self.model = model ?? RoutingModel(ns)
        self.options = options
        self.prepared = prepared
        self.facts = facts
    }

    static func prepare(_ ns: NamespaceSnapshot, _ f: IPAddress.Family) -> (AddressPartition, [Bool], Coverage) {
        let part = partition(ns, f)
        return (part, skipList(ns, part), Coverage(ns, f))
    }

    /// Addresses worth auditing: unicast, not loopback, not IPv6 link-local (reachable only
    /// on-link), on an interface that is administratively up.
    public var auditedAddresses: [Address] { Self.auditedAddresses(ns) }

    static func auditedAddresses(_ ns: NamespaceSnapshot) -> [Address] {
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

    func partition(_ f: IPAddress.Family) -> AddressPartition { Self.partition(ns, f) }

    static func partition(_ ns: NamespaceSnapshot, _ f: IPAddress.Family) -> AddressPartition {
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
            // the subnet broadcast address is skipped (`skipList`): a range of its own even
            // where no broadcast route of the tables analysed cuts it out
            if f == .v4 && a.prefixlen < 31 { prefixes.append(IPPrefix(a.prefix.last, 32)) }
        }
        return AddressPartition(family: f, prefixes: prefixes)
    }

    /// The device a reply socket on `a` is bound to: the VRF of its interface (a listener in
    /// a VRF is bound to it, or accepted through tcp_l3mdev_accept, and so are its replies).
    func replyBinding(_ a: Address) -> String? { Self.replyBinding(ns, a) }

    static func replyBinding(_ ns: NamespaceSnapshot, _ a: Address) -> String? {
        guard let l = ns.link(index: a.index), let m = l.master, let master = ns.link(index: m), master.isVRF else { return nil }
        return master.name
    }

    /// Ranges that are special or local sources (never remote clients).
    func skipList(_ part: AddressPartition) -> [Bool] { Self.skipList(ns, part) }

    static func skipList(_ ns: NamespaceSnapshot, _ part: AddressPartition) -> [Bool] {
        let fam = part.family
        var skip = [Bool](repeating: false, count: part.count)
        // Each of these is cut out of the partition as ranges of its own (`partition`).
        for p in Self.specialPrefixes(fam) {
            var i = part.index(of: p.address.bits)
            while i < part.count && part.starts[i] <= p.last.bits { skip[i] = true; i += 1 }
        }
        for a in ns.addresses where a.family == fam {
            skip[part.index(of: a.local.bits)] = true
            // subnet broadcast addresses (of prefixes shorter than /31)
            if fam == .v4 && a.prefixlen < 31 { skip[part.index(of: a.prefix.last.bits)] = true }
        }
        return skip
    }

    public func run() -> [Result] {
        var out: [Result] = []
        var audited = auditedAddresses
        if let only = options.only { audited = audited.filter { only.contains($0.local) } }
        let srcRoutes = sourceRoutes()
        let reduced = reducedAnalyses(audited)
        out += reduced.results
        for fam in [IPAddress.Family.v4, .v6] {
            let addrs = audited.filter { $0.family == fam && !reduced.done.contains($0.local) }
            guard !addrs.isEmpty else { continue }
            let (part, skip, coverage) = prepared?.byFamily[fam] ?? Self.prepare(ns, fam)
            let requestSigs = options.shareResults ? requestSignatures(addrs) : []
            let sigs = addrs.map { signature($0, sourceRoutes: srcRoutes) }
            // A big partition is cut into contiguous chunks analysed on every core (each
            // with its own memos), whose results are then joined in address order.
            let cores = processorCount
            let n = max(1, min(options.chunks ?? (part.count < 200_000 ? 1 : min(cores * 2, 8)), part.count))
            let chunks = (0..<n).map { k in (part.count * k / n)..<(part.count * (k + 1) / n) }
            if n == 1 {
                out += runChunk(addrs, part, skip, sigs, requestSigs, coverage, chunks[0])
                continue
            }
            let me = self
            let parts = parallelMap(n) { k in me.runChunk(addrs, part, skip, sigs, requestSigs, coverage, chunks[k]) }
            var joined = parts[0]
            for k in 1..<n {
                for (j, r) in parts[k].enumerated() { Self.join(&joined[j], r) }
            }
            out += joined
        }
        return out
    }

    /// The results of the addresses whose lookups only reach a few tables of a big namespace
    /// (see `Options.reduceAbove`), each group analysed on a copy with only its tables, and
    /// the addresses done so.
    func reducedAnalyses(_ audited: [Address]) -> (results: [Result], done: Set<IPAddress>) {
        // (a family has no more routes than the namespace: small ones need no route facts)
        guard let above = options.reduceAbove, ns.routes.count > above else { return ([], []) }
        let facts = self.facts ?? RouteFacts(ns.routes)
        // An address held twice (on two interfaces) is left to the full analysis: `only`
        // selects by address.
        var seen: [IPAddress: Int] = [:]
        for a in audited { seen[a.local, default: 0] += 1 }
        struct Group: Hashable { var family: IPAddress.Family; var tables: Set<UInt32> }
        var groups: [Group: [Address]] = [:]
        var order: [Group] = []
        for a in audited where seen[a.local] == 1 {
            let total = facts.routeCount(a.family)
            guard total > above, let tables = ns.tablesReached(by: a, facts: facts, anyIngress: options.anyIngress),
                  above == 0 || facts.routeCount(a.family, tables: tables) * 4 <= total else { continue }
            let g = Group(family: a.family, tables: tables)
            if groups[g] == nil { order.append(g) }
            groups[g, default: []].append(a)
        }
        var results: [Result] = []
        var done: Set<IPAddress> = []
        for g in order {
            let only = Set(groups[g]!.map(\.local))
            var copy = ns
            copy.routes = ns.routes.filter { $0.family == g.family && g.tables.contains($0.table) }
            var o = options
            o.only = only
            o.reduceAbove = nil
            o.chunks = nil
            results += ReturnPathAnalysis(copy, options: o, prepared: nil, facts: nil).run()
            done.formUnion(only)
        }
        return (results, done)
    }

    /// The result of one (address, ingress) over a chunk of the source space, extended by
    /// its result over the next chunk (in place: no copy of what is already joined).
    static func join(_ a: inout Result, _ b: Result) {
        a.symmetric.append(b.symmetric)
        for (v, r) in b.byVerdict {
            if let i = a.byVerdict.firstIndex(where: { $0.0 == v }) { a.byVerdict[i].1.append(r) } else { a.byVerdict.append((v, r)) }
        }
    }

    /// The analysis of every address of one family over the ranges of one chunk.
    func runChunk(_ addrs: [Address], _ part: AddressPartition, _ skip: [Bool], _ sigs: [[Int]], _ requestSigs: [[Int]],
                  _ coverage: Coverage, _ chunk: Range<Int>) -> [Result] {
        var out: [Result] = []
        let shared = Shared(model, part, ruleSourceCuts(part.family), coverage: coverage, chunk: chunk)
        var replyCache: [ReplyKey: ReplyMap] = [:]
        var signatureIDs: [[Int]: Int] = [:]
        var resultCache: [ResultKey: Result] = [:]
        let ingressCandidates = ns.links.filter { $0.adminUp && !$0.isLoopback && !$0.isVRF }
        for (n, a) in addrs.enumerated() {
            let binding = replyBinding(a)
            let sig = sigs[n]
            let sigID: Int
            if let id = signatureIDs[sig] { sigID = id } else { sigID = signatureIDs.count; signatureIDs[sig] = sigID }
            let key = ReplyKey(signature: sig, binding: binding)
            let owner = ns.link(index: a.index)!
            let ingresses = options.anyIngress ? ingressCandidates : [owner]
            for ing in ingresses {
                // Addresses that route alike get the same classification (see ResultKey).
                let rk = options.shareResults ? ResultKey(reply: key, ingress: ing.index, request: requestSigs[n]) : nil
                if let rk, var shared = resultCache[rk] {
                    shared.address = a
                    out.append(shared)
                    continue
                }
                let replies: ReplyMap
                if let cached = replyCache[key] { replies = cached } else {
                    replies = replyVerdicts(a, part, skip, binding: binding, shared: shared, sigID: sigID, chunk: chunk)
                    replyCache[key] = replies
                }
                let r = classify(a, ingress: ing, part, skip, replies, shared: shared, sigID: sigID, chunk: chunk)
                if let rk { resultCache[rk] = r }
                out.append(r)
            }
        }
        return out
    }

    struct ReplyKey: Hashable {
        var signature: [Int]
        var binding: String?
    }

    /// What a classification depends on besides the namespace: the reply lookups (signature
    /// and binding, as for `ReplyMap`), the ingress, and the request's forward lookup toward
    /// the address, which depends on it only through the rules whose destination selector
    /// holds it and the routes that cover it (`requestSignatures`). Rp_filter's reverse
    /// lookup, like the reply, depends on the address only through its signature. Two
    /// addresses with equal keys get the same ranges and verdicts.
    struct ResultKey: Hashable {
        var reply: ReplyKey
        var ingress: Int32
        var request: [Int]
    }

    /// For each address: the rules whose destination selector holds it, the routes of a
    /// shorter prefix that cover it (by position), and the table and type of the host routes
    /// for it (its own local route is one, the same for every address of a table). One pass
    /// over the routes, with a binary search among the addresses.
    func requestSignatures(_ addrs: [Address]) -> [[Int]] {
        guard let fam = addrs.first?.family else { return [] }
        let width = fam.bitWidth
        var sigs = [[Int]](repeating: [], count: addrs.count)
        let order = addrs.indices.sorted { addrs[$0].local.bits < addrs[$1].local.bits }
        let keys = order.map { addrs[$0].local.bits }
        func each(_ p: IPPrefix, _ body: (Int) -> Void) {
            let lo = p.address.bits, hi = p.last.bits
            var i = 0, n = keys.count  // first key >= lo
            while i < n { let m = (i + n) / 2; if keys[m] < lo { i = m + 1 } else { n = m } }
            while i < keys.count, keys[i] <= hi { body(order[i]); i += 1 }
        }
        for (i, r) in ns.rules.enumerated() where r.family == fam {
            if let d = r.dst { each(d) { sigs[$0].append(i) } }
        }
        for (i, r) in ns.routes.enumerated() where r.family == fam {
            if Int(r.dst.length) < width {
                each(r.dst) { sigs[$0].append(-1 - i) }
            } else {
                each(r.dst) { sigs[$0].append(Int.min / 2 + Int(r.table) << 8 | Int(r.type.rawValue)) }
            }
        }
        return sigs
    }

    /// Rules and source-specific routes whose source selector matches `a`: two addresses with
    /// the same signature get the same reply routing for every destination.
    func signature(_ a: Address, sourceRoutes: [Int]) -> [Int] {
        var sig: [Int] = []
        for (i, r) in ns.rules.enumerated() where r.family == a.family {
            if let s = r.src, s.contains(a.local) { sig.append(i) }
        }
        for i in sourceRoutes where ns.routes[i].family == a.family {
            if let s = ns.routes[i].src, s.contains(a.local) { sig.append(-1 - i) }
        }
        return sig
    }

    /// Positions of the routes with a source selector (IPv6 source-specific routes).
    func sourceRoutes() -> [Int] { ns.routes.indices.filter { ns.routes[$0].src != nil } }

    /// The reply lookup `S from A` for each range, as a verdict relative to no ingress yet:
    /// symmetric is decided later against each ingress, so this keeps the raw egress.
    func replyVerdicts(_ a: Address, _ part: AddressPartition, _ skip: [Bool], binding: String?,
                       shared: Shared, sigID: Int, chunk: Range<Int>) -> ReplyMap {
        var out = ReplyMap(count: part.count)
        let coverage = shared.coverage
        var q = RouteQuery(dst: a.local, line: "reply")
        q.src = a.local
        q.oif = binding
        // IPv4: the output lookup itself, with fib_lookup answered through the shared memo
        // (what routeGet does for this query: resolve the device, then output4).
        let memo = shared.memo
        var oif4: Int32? = nil
        if a.family == .v4 {
            if let b = binding { oif4 = model.index(of: b) } else { oif4 = 0 }
        }
        let hook: FIBLookupHook = { memo.lookup(&$0) }
        memo.sig = sigID
        // IPv4 verdicts shared per lookup decision (off when checking sharing against
        // one-by-one).
        if let oif4, options.shareResults {
            replyVerdicts4(a, oif: oif4, q, part, skip, chunk: chunk, coverage: coverage, memo: memo, hook: hook, into: &out)
            return out
        }
        for i in chunk where !skip[i] {
            q.dst = part.representative(i)
            let t: VerdictTemplate
            if let oif4 {
                memo.index = i
                t = VerdictTemplate(model.output4(q, oif: oif4, lookup: hook))
            } else {
                guard let x = try? model.routeGet(q) else { continue }
                t = VerdictTemplate(x)
            }
            out.set(i, t.verdict(q.dst, coverage))
        }
        return out
    }

    /// The IPv4 reply verdicts of one chunk, one lookup decision per range (the model's
    /// `replyDecision4`, a ReplyDecision4):
    /// replies that reach the same decision (error, rule, table, type, device, path gateway;
    /// the route itself when several paths are possible) get the same verdict but for the
    /// default-route coverage, so the full answer is rendered once per decision and each
    /// verdict interned once per decision and route kind.
    func replyVerdicts4(_ a: Address, oif: Int32, _ query: RouteQuery, _ part: AddressPartition, _ skip: [Bool],
                        chunk: Range<Int>, coverage: Coverage, memo: ReverseLookupMemo, hook: @escaping FIBLookupHook,
                        into out: inout ReplyMap) {
        var q = query
        var templates: [ReplyDecision4: Int] = [:]
        var made: [VerdictTemplate] = []
        var ids: [Int32] = []  // per template, per kind slot
        var last: (ReplyDecision4, Int)? = nil
        let src = a.local.v4
        for i in chunk where !skip[i] {
            q.dst = part.representative(i)
            memo.index = i
            let key = model.replyDecision4(dst: q.dst.v4, src: src, oif: oif, mark: q.mark, tos: q.tos, proto: q.ipproto,
                                           sport: q.sport, dport: q.dport, uid: q.uid ?? 0, lookup: hook)
            let n: Int
            if let l = last, l.0 == key { n = l.1 } else if let x = templates[key] { n = x } else {
                var x = VerdictTemplate(model.output4(q, oif: oif, lookup: hook))
                x.defaultRoute = key.defaultRoute
                n = made.count
                made.append(x)
                ids += [-1, -1, -1, -1]
                templates[key] = n
            }
            last = (key, n)
            let slot = n * 4 + made[n].kindSlot(q.dst, coverage)
            if ids[slot] < 0 { ids[slot] = out.intern(made[n].verdict(slot % 4)) }
            out.ids[i] = ids[slot]
        }
    }

    /// A reply's verdict from its full answer, but for the default-route coverage of the
    /// client (asked per range when the reply goes through a gateway).
    struct VerdictTemplate {
        var base: Verdict?  // nil: the answer could not be had (not applicable)
        var coverageTable: UInt32?
        var gateway = false
        var needsCoverage = false
        /// Whether the route taken may be a default route (unknown: yes).
        var defaultRoute = true

        init(_ r: RouteResult) {
            if let e = r.error {
                base = .unroutable(type: r.type?.name ?? e.rawValue, table: r.table, rule: r.rule)
                return
            }
            switch r.type {
            case .local?, .anycast?: base = .notApplicable  // a local or subnet-router anycast source
            case .unicast?, nil:
                coverageTable = r.table; needsCoverage = true
                if r.multipath.count > 1 {
                    let devs = Array(Set(r.multipath.map(\.dev))).sorted()
                    if devs.count == 1 {
                        let gw = r.multipath.first?.gateway
                        gateway = gw != nil
                        base = .asymmetric(egress: devs[0], gateway: gw, table: r.table, rule: r.rule, route: .connected)
                    } else {
                        gateway = r.multipath.contains { $0.gateway != nil }
                        base = .ecmpSplit(egress: devs, table: r.table, rule: r.rule, route: .connected)
                    }
                } else {
                    gateway = r.gateway != nil
                    base = .asymmetric(egress: r.dev ?? "?", gateway: r.gateway, table: r.table, rule: r.rule, route: .connected)
                }
            case let t?:
                base = .unroutable(type: t.name, table: r.table, rule: r.rule)
            }
        }

        func verdict(_ dst: IPAddress, _ coverage: Coverage) -> Verdict {
            guard base != nil, needsCoverage else { return base ?? .notApplicable }
            return verdict(with: coverage.kind(dst, table: coverageTable, gateway: gateway))
        }

        /// 0...2 the route kind (connected, specific, default) of the reply to `dst`; 3 when
        /// the verdict has none. A route longer than /0 covers the client in its table.
        func kindSlot(_ dst: IPAddress, _ coverage: Coverage) -> Int {
            guard base != nil, needsCoverage else { return 3 }
            let kind = gateway && !defaultRoute ? .specific : coverage.kind(dst, table: coverageTable, gateway: gateway)
            return kind == .connected ? 0 : kind == .specific ? 1 : 2
        }

        func verdict(_ slot: Int) -> Verdict {
            slot == 3 ? base ?? .notApplicable : verdict(with: slot == 0 ? .connected : slot == 1 ? .specific : .default)
        }

        func verdict(with kind: RouteKind) -> Verdict {
            guard let base else { return .notApplicable }
            switch base {
            case .asymmetric(let e, let g, let t, let r, _): return .asymmetric(egress: e, gateway: g, table: t, rule: r, route: kind)
            case .ecmpSplit(let e, let t, let r, _): return .ecmpSplit(egress: e, table: t, rule: r, route: kind)
            default: return base
            }
        }
    }

    /// The request `A from S iif I` as classify needs it.
    enum Request: Equatable {
        case none               // the query could not be asked (unknown device)
        case error(KernelError, rule: UInt32?)
        case notLocal
        case local
        init(_ r: RouteResult?) {
            guard let r else { self = .none; return }
            if let e = r.error { self = .error(e, rule: r.rule) } else if r.type != .local { self = .notLocal } else { self = .local }
        }
    }

    /// Reply verdicts per range as indexes into their distinct values (filled range by range:
    /// a verdict equal to the previous one costs a comparison, not a hash).
    struct ReplyMap {
        var ids: [Int32]
        var verdicts: [Verdict] = [.notApplicable]
        private var index: [Verdict: Int32] = [.notApplicable: 0]
        private var last: (Verdict, Int32) = (.notApplicable, 0)
        /// Every range not applicable until set.
        init(count: Int) { ids = [Int32](repeating: 0, count: count) }
        mutating func set(_ i: Int, _ v: Verdict) {
            if last.0 == v { ids[i] = last.1; return }
            let id = intern(v)
            ids[i] = id
            last = (v, id)
        }
        /// The id of `v`, given it is new.
        mutating func intern(_ v: Verdict) -> Int32 {
            if let x = index[v] { return x }
            let id = Int32(verdicts.count)
            verdicts.append(v); index[v] = id
            return id
        }
    }

    func classify(_ a: Address, ingress: Link, _ part: AddressPartition, _ skip: [Bool], _ replies: ReplyMap,
                  shared: Shared, sigID: Int, chunk: Range<Int>) -> Result {
        var order: [Verdict] = []
        var groups: [AddressRanges] = []
        var groupOf: [Verdict: Int32] = [:]
        var symmetric = AddressRanges(family: a.family)
        var q = RouteQuery(dst: a.local, line: "request")
        q.iif = ingress.name
        let rpf = ingressRPFilter(ingress, a.family)
        var requests = RequestSource(self, a, ingress, q, part, skip, shared: shared, sigID: sigID)
        // Verdicts as group numbers: -1 symmetric, -2 not applicable, else groups[n] (in order
        // of first appearance, like the verdicts themselves).
        let symmetricID: Int32 = -1, notApplicableID: Int32 = -2
        func group(_ v: Verdict) -> Int32 {
            if v == .symmetric { return symmetricID }
            if v == .notApplicable { return notApplicableID }
            if let g = groupOf[v] { return g }
            let g = Int32(order.count)
            order.append(v); groups.append(AddressRanges(family: a.family)); groupOf[v] = g
            return g
        }
        let unknown = Int32.min
        var byReply = [Int32](repeating: unknown, count: replies.verdicts.count)
        struct ErrorKey: Hashable { var e: KernelError; var rule: UInt32?; var reply: Int32 }
        var byError: [ErrorKey: Int32] = [:]
        // Consecutive ranges with one verdict are added as one run.
        var runG: Int32 = notApplicableID
        var runLo: UInt128 = 0, runHi: UInt128 = 0
        var inRun = false
        func flush() {
            guard inRun else { return }
            inRun = false
            if runG == symmetricID { symmetric.append(runLo, runHi); return }
            if runG == notApplicableID { return }
            groups[Int(runG)].append(runLo, runHi)
        }
        for i in chunk {
            if skip[i] { flush(); continue }
            let rid = replies.ids[i]
            let g: Int32
            switch requests.request(i) {
            case .error(let e, let rule):
                let k = ErrorKey(e: e, rule: rule, reply: rpf > 0 ? rid : -1)
                if let x = byError[k] { g = x } else {
                    let v: Verdict = rpf > 0 ? .rpFilterDrop(error: e.rawValue, rule: rule, reverse: Self.routeKind(replies.verdicts[Int(rid)]))
                        : .requestRejected(error: e.rawValue)
                    g = group(v)
                    byError[k] = g
                }
            case .notLocal:
                g = notApplicableID  // not delivered locally (forwarded): not a reply-path question
            case .local, .none:
                let x = byReply[Int(rid)]
                if x != unknown { g = x } else {
                    let r = replies.verdicts[Int(rid)]
                    if case .asymmetric(let egress, _, _, _, _) = r, egress == ingress.name {
                        g = symmetricID
                    } else {
                        g = group(r)
                    }
                    byReply[Int(rid)] = g
                }
            }
            let (lo, hi) = part.bounds(i)
            if inRun && g == runG && runHi &+ 1 == lo { runHi = hi; continue }
            flush()
            runG = g; runLo = lo; runHi = hi; inRun = true
        }
        flush()
        requests.finish()
        return Result(address: a, ingress: ingress.name, byVerdict: Array(zip(order, groups)), symmetric: symmetric)
    }

    static func routeKind(_ v: Verdict) -> RouteKind {
        switch v {
        case .asymmetric(_, _, _, _, let k), .ecmpSplit(_, _, _, let k): k
        default: .specific
        }
    }

    /// IPv4 rule source selectors: the request's forward lookup depends on its source only
    /// through them, so it is constant between two consecutive cuts.
    func ruleSourceCuts(_ f: IPAddress.Family) -> [UInt128] {
        var cuts: Set<UInt128> = [0]
        for r in ns.rules where r.family == f {
            guard let p = r.src else { continue }
            cuts.insert(p.address.bits)
            if p.last.bits < (f == .v4 ? 0xffff_ffff : UInt128.max) { cuts.insert(p.last.bits + 1) }
        }
        return cuts.sorted()
    }

    /// Effective IPv4 rp_filter on a device: max(all, device). IPv6 has none (0).
    func ingressRPFilter(_ l: Link, _ f: IPAddress.Family) -> Int {
        guard f == .v4 else { return 0 }
        return ns.settings.effectiveIPv4(l.name).rpFilter
    }
}

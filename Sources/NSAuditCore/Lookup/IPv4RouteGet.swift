/// IPv4 `ip route get`: output lookups (ip_route_output_key_hash_rcu + __mkroute_output) and
/// input lookups (ip_route_input_slow + __mkroute_input), with the kernel's errors.

/// Return-path analysis hooks (internal; `routeGet` passes none, so its answers are
/// unchanged): `FIBLookupHook` answers fib_lookup for a flow in place of `fibLookup4` and must
/// give what `fibLookup4` gives (e.g. a memoized answer); `SourceValidationHook` answers
/// fib_validate_source for (src, dst, oif) in place of `validateSource4` with the query's
/// other fields.
typealias FIBLookupHook = (inout Flow) -> PolicyOutcome
typealias SourceValidationHook = (_ src: UInt32, _ dst: UInt32, _ oif: Int32) -> RoutingModel.SourceVerdict

extension RoutingModel {
    /// The kernel's decision for an IPv4 output lookup, before rendering: plain data, no
    /// allocation on the common path (single path, no error).
    public struct OutputDecision4: Sendable, Equatable {
        public var error: KernelError? = nil
        var rejectType: RouteType? = nil
        var rule: UInt32? = nil
        var type: RouteType = .unicast
        var devOut: Int32 = 0
        var hit: Hit? = nil
        var local = false
        /// The source address (given or selected); 0 when paths disagree (multipath).
        var saddr: UInt32 = 0
        var daddr: UInt32 = 0
        var l3mdev: Int32 = 0
        /// More than one path is possible (multipath hash or fib_select_default).
        var multipath = false
        var defaultAlternatives = false
        /// The leaf the table lookup answered from, when it is the hit's route and path.
        var resolved = Leaf4.none
        public var routeIndex: Int32 { hit?.route ?? -1 }
    }

    /// ip_route_output_key_hash_rcu up to the route: errors, the rules, the table, the
    /// path and the source address.
    @inline(__always)
    public func decideOutput4(dst: UInt32, src: UInt32 = 0, oif queryOif: Int32 = 0, mark: UInt32 = 0, tos: UInt8 = 0,
                              proto: UInt8 = 0, sport: UInt16 = 0, dport: UInt16 = 0, uid: UInt32 = 0) -> OutputDecision4 {
        decideOutput4(dst: dst, src: src, oif: queryOif, mark: mark, tos: tos, proto: proto, sport: sport, dport: dport,
                      uid: uid, lookup: nil)
    }

    @inline(__always)
    func decideOutput4(dst: UInt32, src: UInt32, oif queryOif: Int32, mark: UInt32, tos: UInt8,
                       proto: UInt8, sport: UInt16, dport: UInt16, uid: UInt32, lookup: FIBLookupHook?) -> OutputDecision4 {
        if lookup == nil && queryOif == 0 && src == 0 && mark == 0 && tos == 0 && (proto == 0 || proto == 17)
            && sport == 0 && dport == 0 && uid == 0 && dst != 0, let d = accel4.destinationOnlyDecision(dst) {
            // `route get DST`: the block's answer, when the index holds one
            return d
        }
        var d = OutputDecision4()
        var daddr = dst
        var saddr = src
        var fl = Flow(dst: UInt128(daddr), src: UInt128(saddr), iif: loopbackIndex, oif: queryOif,
                      mark: mark, tos: tos, proto: proto == 0 ? 17 : proto, sport: sport, dport: dport, uid: uid)
        d.daddr = dst
        route: do {
            if saddr != 0 {
                if v4IsMulticast(saddr) || v4IsLbcast(saddr) || isZeronet4(saddr) { d.error = .EINVAL; return d }
                if queryOif == 0 && (v4IsMulticast(daddr) || v4IsLbcast(daddr)) {
                    guard let dv = deviceOf4(saddr) else { d.error = .ENETUNREACH; return d }
                    d.devOut = dv; fl.oif = dv
                    break route
                }
                if deviceOf4(saddr) == nil { d.error = .ENETUNREACH; return d }
            }
            if queryOif != 0 {
                guard let dv = link(queryOif) else { d.error = .ENODEV; return d }
                if !dv.up { d.error = .ENETUNREACH; return d }
                d.devOut = queryOif
                if v4IsLocalMulticast(daddr) || v4IsLbcast(daddr) || proto == 2 {
                    if saddr == 0 { saddr = selectAddr4(d.devOut, dst: 0, scope: Scope.link) }
                    break route
                }
                if saddr == 0 {
                    if v4IsMulticast(daddr) { saddr = selectAddr4(d.devOut, dst: 0, scope: Scope.universe) }
                    else if daddr == 0 { saddr = selectAddr4(d.devOut, dst: 0, scope: Scope.host) }
                }
            }
            if daddr == 0 {
                daddr = saddr
                if daddr == 0 { daddr = RoutingModel.loopbackV4; saddr = daddr }
                d.daddr = daddr
                d.devOut = loopbackIndex; fl.oif = loopbackIndex
                d.type = .local; d.local = true
                break route
            }
            fl.src = UInt128(saddr)
            var found = Leaf4.none
            let o: PolicyOutcome
            if let lookup {
                o = lookup(&fl)
            } else if queryOif == 0 && saddr == 0 && mark == 0 && tos == 0 && fl.proto == 17 && sport == 0 && dport == 0 && uid == 0 {
                // the shape of `route get DST`: only the rules such a flow can match
                o = fibLookup4(&fl, ignoreLinkstate: false, program: accel4.outputRules, found: &found)
            } else {
                o = fibLookup4(&fl, ignoreLinkstate: false, program: allRules4, found: &found)
            }
            d.rule = o.rule
            d.l3mdev = fl.l3mdev
            if let e = o.error {
                if fl.oif != 0 && (v4IsMulticast(daddr) || fl.l3mdev == 0) {
                    if saddr == 0 { saddr = selectAddr4(d.devOut, dst: 0, scope: Scope.link) }
                    d.type = .unicast
                    break route
                }
                d.error = e; d.rejectType = o.rejectType
                return d
            }
            guard let h = o.hit else { d.error = .ENETUNREACH; return d }
            d.hit = h
            // the route's type, path count and chosen path: from the leaf the table lookup
            // answered from (the same route and its first path), else from the route arrays
            let nhDev: Int32, nhSrc: UInt32, multiPath: Bool
            if found.route == h.route && h.nhSel == 0 {
                d.resolved = found
                d.type = found.type
                nhDev = found.dev; nhSrc = found.src; multiPath = found.flags & Leaf4.multi != 0
            } else {
                let r = hot4.withUnsafeBufferPointer { $0[Int(h.route)] }
                d.type = RouteType(rawValue: r.type) ?? .unicast
                let nh = pathHot.withUnsafeBufferPointer { $0[Int(r.pathStart + h.nhSel)] }
                nhDev = nh.dev; nhSrc = nh.src; multiPath = r.pathCount > 1
            }
            if d.type == .local {
                if saddr == 0 { saddr = routes4[Int(h.route)].prefsrc?.v4 ?? daddr }
                let vrf = enslavingVRF(nhDev)
                d.devOut = vrf != 0 ? vrf : loopbackIndex
                d.local = true
                break route
            }
            // fib_select_path
            if fl.oif == 0 {
                if multiPath {
                    d.multipath = true
                } else if h.prefixLen == 0, routeTables.numDefault4(h.table) > 1, d.type == .unicast {
                    d.defaultAlternatives = true
                }
            }
            d.devOut = nhDev
            if saddr == 0 && !d.multipath {
                let l3 = fl.l3mdev
                saddr = (l3 == 0 || enslavingVRF(nhDev) == l3) ? nhSrc : selectAddr4(l3, dst: 0, scope: Scope.link)
            }
        }
        // __mkroute_output
        if v4IsLoopback(saddr) {
            guard let dOut = link(d.devOut) else { d.error = .ENODEV; return d }
            if !dOut.loopback && !dOut.isVRF && !dOut.routeLocalnet { d.error = .EINVAL; return d }
        }
        if v4IsLbcast(daddr) { d.type = .broadcast }
        else if v4IsMulticast(daddr) { d.type = .multicast }
        d.saddr = saddr
        return d
    }

    func output4(_ q: RouteQuery, oif queryOif: Int32, lookup: FIBLookupHook? = nil) -> RouteResult {
        let d = decideOutput4(dst: q.dst.v4, src: q.src?.v4 ?? 0, oif: queryOif, mark: q.mark, tos: q.tos,
                              proto: q.ipproto, sport: q.sport, dport: q.dport, uid: q.uid ?? 0, lookup: lookup)
        if let e = d.error {
            var r = RouteResult.failure(q, e, rule: d.rule, type: d.rejectType)
            r.from = q.src
            return r
        }
        var res = RouteResult(query: q.line, family: .v4, dst: q.dst)
        res.from = q.src
        res.uid = q.uid ?? 0
        res.mark = q.mark
        res.fibmatch = q.fibmatch
        res.type = d.type
        res.dev = name(of: d.devOut)
        res.rule = d.rule
        var src = d.saddr
        let givenSrc = q.src?.v4 ?? 0
        if merged4 { res.features.append("lookup:merged-local-main") }
        if let h = d.hit {
            res.table = h.table == 0 ? nil : h.table
            let r = routes4[Int(h.route)]
            res.tos = r.tos
            res.match = FIBMatch(route: Int(origin4[Int(h.route)]), table: h.table, type: d.type)
            res.features += routeFeatures(r, paths[Int(r.pathStart + h.nhSel)])
            // __mkroute_output drops the fib_info for broadcasts and for multicast through a
            // prefix shorter than /4: no gateway, no metrics then.
            let useFi = d.type != .broadcast && !(d.type == .multicast && h.prefixLen < 4)
            if useFi { res.metrics = snapshotRoutes[Int(origin4[Int(h.route)])].metrics }
            if useFi && !d.local {
                let nh = paths[Int(r.pathStart + h.nhSel)]
                res.gateway = nh.gateway
            }
            if d.multipath || d.defaultAlternatives {
                var candidates: [(route: Int32, sel: Int32)] = []
                if d.multipath {
                    for k in 0..<r.pathCount where hashCandidate4(r, paths[Int(r.pathStart + k)]) {
                        candidates.append((h.route, k))
                    }
                } else {
                    candidates = selectDefaultCandidates4(h, tos: q.tos)
                }
                func prefsrcFor(_ route: FIBRoute, _ nh: FIBNexthop) -> UInt32 {
                    if givenSrc != 0 { return givenSrc }
                    if d.l3mdev == 0 || enslavingVRF(nh.dev) == d.l3mdev { return resultPrefsrc4(route, nh) }
                    return selectAddr4(d.l3mdev, dst: 0, scope: Scope.link)
                }
                let paths4 = candidates.map { c -> RoutePath in
                    let rr = routes4[Int(c.route)]
                    let nh = paths[Int(rr.pathStart + c.sel)]
                    var p = RoutePath(dev: name(of: nh.dev) ?? "if\(nh.dev)", gateway: useFi ? nh.gateway : nil, weight: nh.weight,
                                      prefsrc: IPAddress(v4: prefsrcFor(rr, nh)))
                    p.nexthop = Int(c.sel)
                    if c.route != h.route { p.route = Int(origin4[Int(c.route)]) }
                    return p
                }
                if paths4.count > 1 {
                    res.multipath = paths4
                    if Set(paths4.map(\.dev)).count > 1 { res.dev = nil }
                    if Set(paths4.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
                    let srcs = Set(paths4.map { $0.prefsrc?.description ?? "" })
                    src = srcs.count == 1 ? (paths4[0].prefsrc?.v4 ?? 0) : 0
                } else if let p = paths4.first {
                    res.dev = p.dev; res.gateway = p.gateway; src = p.prefsrc?.v4 ?? 0
                }
            }
        }
        if src != 0 && src != givenSrc { res.prefsrc = IPAddress(v4: src) }
        res.cacheFlags = cacheFlags4(d, link(d.devOut))
        if q.notify { res.cacheFlags |= RouteCacheFlags.notify }
        return res
    }

    /// The RTCF_* flags of the route an output lookup caches (`cache <...>`).
    @inline(__always) func cacheFlags4(_ d: OutputDecision4, _ devOut: LinkInfo?) -> UInt32 {
        switch d.type {
        case .broadcast: return RouteCacheFlags.local | RouteCacheFlags.broadcast
        case .multicast:
            // ip_check_mc_rcu: the group must be joined on the output device. Memberships are
            // not in the snapshot; every device that is up has joined all-hosts (224.0.0.1).
            return RouteCacheFlags.multicast | (d.daddr == 0xe000_0001 ? RouteCacheFlags.local : 0)
        default:
            if let l = devOut, l.loopback || d.local { return RouteCacheFlags.local }
            return 0
        }
    }

    /// fib_select_multipath: whether the hash may pick this path of a multipath route. It
    /// needs an upper bound from fib_rebalance: a path on a device that is down was
    /// rebalanced out for good. A linkdown path on a device with ignore_routes_with_linkdown
    /// (which the dump shows as dead) is out only if that sysctl was set before the route's
    /// last rebalance, which no snapshot can date: it stays a candidate (found by the
    /// differential test: the kernel hashes onto such a path when the sysctl was set after the
    /// route). Nexthop objects keep their own dead flag.
    @inline(__always) func hashCandidate4(_ r: FIBRoute, _ nh: FIBNexthop) -> Bool {
        if r.usesObject { return !nh.dead }
        if let l = link(nh.dev), !l.up { return false }
        return !(nh.dead && !nh.linkdown)
    }

    /// fib_select_default: default routes of the same priority the kernel may rotate among
    /// (by neighbour state, unknowable offline).
    func selectDefaultCandidates4(_ h: Hit, tos: UInt8) -> [(route: Int32, sel: Int32)] {
        guard let t = table4(h.table) else { return [(h.route, h.nhSel)] }
        let e = t.lookup(0)
        guard e >= 0, t.entries[Int(e)].length == 0 else { return [(h.route, h.nhSel)] }
        let ent = t.entries[Int(e)]
        let first = routes4[Int(h.route)]
        var out: [(route: Int32, sel: Int32)] = []
        for p in Int(ent.start)..<Int(ent.start + ent.count) {
            let ri = t.payload[p]
            let r = routes4[Int(ri)]
            if r.tos != 0 && r.tos & 0xfc != tos & 0x1c { continue }
            if r.metric != first.metric || r.tos != first.tos { continue }
            if r.dead || r.type != .unicast || r.scope != first.scope || r.pathCount != 1 { continue }
            if paths[Int(r.pathStart)].gateway == nil { continue }
            out.append((ri, 0))
        }
        return out.count > 1 ? out : [(h.route, h.nhSel)]
    }
}

extension RoutingModel {
    func input4(_ q: RouteQuery, iif: Int32, validate: SourceValidationHook? = nil) -> RouteResult {
        var res = RouteResult(query: q.line, family: .v4, dst: q.dst)
        res.from = q.src
        guard let dev = link(iif) else { return RouteResult.failure(q, .ENODEV) }
        func validateSource4(src: UInt32, dst: UInt32, tos: UInt8, oif: Int32, dev: LinkInfo, mark: UInt32,
                             proto: UInt8, sport: UInt16, dport: UInt16) -> SourceVerdict {
            if let validate { return validate(src, dst, oif) }
            return self.validateSource4(src: src, dst: dst, tos: tos, oif: oif, dev: dev, mark: mark, proto: proto, sport: sport, dport: dport)
        }
        res.iif = dev.name
        res.uid = q.uid
        res.mark = q.mark
        res.fibmatch = q.fibmatch
        let notify = q.notify ? RouteCacheFlags.notify : 0
        let daddr = q.dst.v4, saddr = q.src?.v4 ?? 0
        func fail(_ e: KernelError, _ o: PolicyOutcome? = nil) -> RouteResult {
            var r = RouteResult.failure(q, e, rule: o?.rule, type: o?.rejectType)
            r.from = q.src; r.iif = dev.name
            return r
        }
        func localInput(_ type: RouteType, _ devIndex: Int32, _ h: Hit?, _ rule: UInt32?) -> RouteResult {
            var r = res
            r.type = type
            let vrf = devIndex != 0 ? enslavingVRF(devIndex) : 0
            r.dev = name(of: vrf != 0 ? vrf : loopbackIndex)
            r.table = h.flatMap { $0.table == 0 ? nil : $0.table }
            r.rule = rule
            if let h { r.match = FIBMatch(route: Int(origin4[Int(h.route)]), table: h.table, type: type) }
            r.cacheFlags = (type == .broadcast ? RouteCacheFlags.local | RouteCacheFlags.broadcast : RouteCacheFlags.local) | notify
            return r
        }
        if v4IsMulticast(daddr) {
            // ip_route_input_mc. Group memberships are not in the snapshot: every device that
            // is up is taken to have joined 224.0.0.1 (all-hosts, joined by ip_mc_up) and no
            // other group; multicast forwarding (mc_forwarding) is taken as off.
            guard daddr == 0xe000_0001 && dev.up else { return fail(.EINVAL) }
            if v4IsMulticast(saddr) || v4IsLbcast(saddr) { return fail(.EINVAL) }
            if v4IsLoopback(saddr) && !dev.routeLocalnet { return fail(.EINVAL) }
            // ip_mc_validate_source: a zeronet source skips validation (the group is local).
            if !isZeronet4(saddr) && validateSource4(src: saddr, dst: 0, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            var r = res
            r.type = .multicast; r.dev = name(of: loopbackIndex)
            r.cacheFlags = RouteCacheFlags.local | RouteCacheFlags.multicast | notify
            return r
        }
        if v4IsMulticast(saddr) || v4IsLbcast(saddr) { return fail(.EINVAL) }
        if v4IsLbcast(daddr) || (saddr == 0 && daddr == 0) {
            // brd_input: sources in zeronet are not validated.
            if !isZeronet4(saddr), validateSource4(src: saddr, dst: 0, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            return localInput(.broadcast, 0, nil, nil)
        }
        if isZeronet4(saddr) { return fail(.EINVAL) }
        // Only 0.0.0.0 itself is a martian destination here; the rest of 0.0.0.0/8 is routed
        // (found by the differential test on 6.18).
        if daddr == 0 { return fail(.EINVAL) }
        if v4IsLoopback(daddr) { if !dev.routeLocalnet { return fail(.EINVAL) } }
        else if v4IsLoopback(saddr) { if !dev.routeLocalnet { return fail(.EINVAL) } }
        var fl = Flow(dst: UInt128(daddr), src: UInt128(saddr), iif: iif, oif: 0, mark: q.mark, tos: q.tos,
                      proto: 0, sport: 0, dport: 0, uid: 0)
        if requireFlowDissect4 {
            // fib4_rules_early_flow_dissect: the packet built by inet_rtm_getroute carries
            // UDP unless told otherwise; only TCP and UDP headers yield ports.
            fl.proto = q.ipproto == 0 ? 17 : q.ipproto
            if fl.proto == 6 || fl.proto == 17 { fl.sport = q.sport; fl.dport = q.dport }
        }
        let o = fibLookup4(&fl)
        if let e = o.error {
            return fail(dev.forwarding ? e : .EHOSTUNREACH, o)
        }
        guard let h = o.hit else { return fail(.ENETUNREACH) }
        let r = routes4[Int(h.route)]
        res.features = ["rp_filter:" + ["off", "strict", "loose"][min(dev.rpFilter, 2)], dev.forwarding ? "forwarding:on" : "forwarding:off"]
            + routeFeatures(r, paths[Int(r.pathStart + h.nhSel)])
        if r.type == .broadcast {
            if dev.bcForwarding { return forward4(q, dev, h, o.rule, res, validate: validate) }
            if !isZeronet4(saddr), validateSource4(src: saddr, dst: 0, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            return localInput(.broadcast, 0, h, o.rule)
        }
        if r.type == .local {
            if validateSource4(src: saddr, dst: daddr, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            return localInput(.local, paths[Int(r.pathStart + h.nhSel)].dev, h, o.rule)
        }
        if !dev.forwarding { return fail(.EHOSTUNREACH) }
        if r.type != .unicast { return fail(.EINVAL) }
        return forward4(q, dev, h, o.rule, res, validate: validate)
    }

    /// ip_mkroute_input / __mkroute_input.
    func forward4(_ q: RouteQuery, _ dev: LinkInfo, _ h: Hit, _ rule: UInt32?, _ base: RouteResult,
                  validate: SourceValidationHook? = nil) -> RouteResult {
        let r = routes4[Int(h.route)]
        var sels: [Int32] = [h.nhSel]
        if r.pathCount > 1 {
            sels = []
            for k in 0..<r.pathCount where hashCandidate4(r, paths[Int(r.pathStart + k)]) { sels.append(k) }
            if sels.isEmpty { sels = [h.nhSel] }
        }
        var res = base
        var errors: [KernelError?] = [], redirects: [Bool] = []
        for k in sels {
            let nh = paths[Int(r.pathStart + k)]
            let v: SourceVerdict
            var hostScope = false
            if let validate {
                v = validate(q.src?.v4 ?? 0, q.dst.v4, nh.dev)
            } else {
                (v, hostScope) = validateSource4Scoped(src: q.src?.v4 ?? 0, dst: q.dst.v4, tos: q.tos, oif: nh.dev, dev: dev,
                                                       mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport)
            }
            errors.append(v == .ok ? nil : .EINVAL)
            // IPSKB_DOREDIRECT: back out of the input device, the source on-link (the reverse
            // route's nexthop has host scope), redirects sent there (shared_media taken as
            // its default, 1: the snapshot does not record it).
            redirects.append(v == .ok && hostScope && nh.dev == dev.index && dev.forwarding && dev.sendRedirects)
        }
        if let e = errors.first ?? nil, errors.allSatisfy({ $0 == e }) {
            var f = RouteResult.failure(q, e, rule: rule)
            f.from = q.src; f.iif = dev.name
            return f
        }
        // __mkroute_input keeps the route's type: a directed broadcast forwarded with
        // bc_forwarding (ip_route_input_slow's make_route for RTN_BROADCAST) is `broadcast`.
        res.type = r.type == .broadcast ? .broadcast : .unicast
        res.rule = rule
        res.table = h.table
        res.tos = r.tos
        res.match = FIBMatch(route: Int(origin4[Int(h.route)]), table: h.table, type: .unicast)
        res.metrics = snapshotRoutes[Int(origin4[Int(h.route)])].metrics
        let okSel = sels.indices.first { errors[$0] == nil } ?? 0
        let first = paths[Int(r.pathStart + sels[okSel])]
        res.dev = name(of: first.dev)
        res.gateway = first.gateway
        if redirects[okSel] { res.cacheFlags |= RouteCacheFlags.doRedirect }
        if q.notify { res.cacheFlags |= RouteCacheFlags.notify }
        if sels.count > 1 {
            res.multipath = sels.enumerated().map { i, k in
                let nh = paths[Int(r.pathStart + k)]
                var p = RoutePath(dev: name(of: nh.dev) ?? "if\(nh.dev)", gateway: nh.gateway, weight: nh.weight)
                p.error = errors[i]
                p.redirect = redirects[i]
                p.nexthop = Int(k)
                return p
            }
            if Set(res.multipath.map(\.dev)).count > 1 { res.dev = nil }
            if Set(res.multipath.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
        }
        return res
    }
}

extension RoutingModel {
    /// `route get DST` for an IPv4 destination alone, answered straight from the decision with
    /// no RouteResult in between, and rendered by RouteGetFormat's and IPRouteText's printers
    /// from the values output4 and RouteGetFormat.message would give them (text, or JSON with
    /// `line` as the query). Returns false, leaving `o` alone, for answers that list several
    /// paths (multipath, or default routes fib_select_default may rotate among): those go
    /// through output4. Errors are rendered too (`isError` set): in text mode the caller sends
    /// them to the error stream.
    func appendDestinationOnly4<Out: ByteSink>(_ dst: UInt32, line: UnsafeBufferPointer<UInt8>, json: Bool, names: IPRouteNames = .builtin,
                                               out o: inout Out, err: inout Out, isError: inout Bool) -> Bool {
        let d = decideOutput4(dst: dst)
        if let e = d.error {
            isError = true
            if json {
                let answer = RouteGetFormat.JSONAnswer(error: e, type: d.rejectType, rule: d.rule)
                JSONWriter.append(to: &o, escaping: .common) { answer.write(query: line, to: &$0) }
            } else {
                RouteGetFormat.appendKernelError(e, to: &err)
            }
            return true
        }
        if d.multipath || d.defaultAlternatives { return false }
        var gateway: IPAddress? = nil
        var table: UInt32? = nil
        if let h = d.hit {
            table = h.table == 0 ? nil : h.table
            let lf = d.resolved
            let fastLeaf = lf.route == h.route && lf.flags & Leaf4.fast != 0
            // a route with a TOS or with metrics prints them: the general path renders those
            if !fastLeaf && hot4.withUnsafeBufferPointer({ $0[Int(h.route)].tos }) != 0 { return false }
            if routesWithMetrics4 && snapshotRoutes[Int(origin4[Int(h.route)])].metrics != nil { return false }
            let useFi = d.type != .broadcast && !(d.type == .multicast && h.prefixLen < 4)
            if useFi && !d.local { gateway = gateway4(d, h) }
        }
        isError = false
        let devLink = link(d.devOut)
        let prefsrc = d.saddr != 0 ? IPAddress(v4: d.saddr) : nil
        if json {
            let answer = RouteGetFormat.JSONAnswer(type: d.type, dev: devLink?.name, gateway: gateway, table: table,
                                                   prefsrc: prefsrc, rule: d.rule)
            JSONWriter.append(to: &o, escaping: .common) { answer.write(query: line, to: &$0) }
            return true
        }
        // rt_fill_info: the message RouteGetFormat.message makes of output4's answer
        var m = IPRouteMessage(family: .v4, type: d.type, dst: IPAddress(v4: dst), dstLength: 32)
        m.gateway = gateway; m.dev = devLink?.name; m.table = table ?? 0; m.prefsrc = prefsrc
        m.flags = IPRouteMessage.cloned | cacheFlags4(d, devLink)
        m.uid = 0
        IPRouteText.write(m, names: names, to: &o)
        return true
    }
}

extension RoutingModel {
    /// `route get DST` output lookups for many destinations: for each, the decision
    /// decideOutput4(dst:) gives, in order, into `out` (which must have room for them all).
    /// The large tables' memory for each group of 16 destinations is read for all of them
    /// first, so that their cache misses overlap instead of following one another (as bulk
    /// LPM lookups do); the lookups that follow are the unchanged ones. Returns a checksum of
    /// what was read (it keeps those reads from being optimized away).
    @discardableResult
    public func decideOutput4(destinations: UnsafeBufferPointer<UInt32>, into out: UnsafeMutablePointer<OutputDecision4>) -> Int {
        var check = 0
        var i = 0
        let n = destinations.count
        while i < n {
            let end = min(i + 16, n)
            check &+= touch4(UnsafeBufferPointer(rebasing: destinations[i..<end]))
            for k in i..<end { (out + k).initialize(to: decideOutput4(dst: destinations[k])) }
            i = end
        }
        return check
    }

    /// Reads, for each destination, what its lookup will read (LookupAccelerator4.touch).
    @inline(__always)
    func touch4(_ dsts: UnsafeBufferPointer<UInt32>) -> Int { accel4.touch(dsts) }
}

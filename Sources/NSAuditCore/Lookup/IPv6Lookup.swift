/// IPv6: fib6_table_lookup (fib6_node_lookup with source subtrees, rt6_select/find_rr_leaf
/// scoring, fib6_backtrack), fib6_rule_lookup, ip6_route_output / ip6_route_input_lookup and
/// the RFC 6724 source address selection of ipv6_dev_get_saddr.
extension RoutingModel {
    @inline(__always) static func rejectError6(_ t: RouteType) -> KernelError? {
        switch t {
        case .blackhole: .EINVAL
        case .prohibit: .EACCES
        case .throw: .EAGAIN
        case .unreachable: .EHOSTUNREACH
        default: nil
        }
    }

    @inline(__always) static func decodePref(_ p: UInt8?) -> Int {
        guard let p else { return 2 }
        return p == 2 ? 0 : Int(p ^ 2)
    }

    /// find_match + rt6_score_route; -1 when the nexthop cannot be used.
    @inline(__always) func score6(_ r: FIBRoute, _ nh: FIBNexthop, oif: Int32, strict: Bool) -> Int {
        if nh.dead { return -1 }
        if nh.linkdown, let l = link(nh.dev), l.ignoreLinkdown6 { return -1 }
        var m = (oif == 0 || nh.dev == oif) ? 2 : 0
        if m == 0 && strict { return -1 }
        m |= RoutingModel.decodePref(r.pref) << 2
        return m
    }

    /// score6 on the compact copies (RouteHot6, PathHot).
    @inline(__always) func score6(_ pref: Int, _ nh: UnsafePointer<PathHot>, oif: Int32, strict: Bool) -> Int {
        let f = nh.pointee.flags
        if f & NexthopFlags.dead != 0 { return -1 }
        if f & NexthopFlags.linkdown != 0, let l = link(nh.pointee.dev), l.ignoreLinkdown6 { return -1 }
        var m = (oif == 0 || nh.pointee.dev == oif) ? 2 : 0
        if m == 0 && strict { return -1 }
        m |= pref << 2
        return m
    }

    /// fib6_select_path: whether the multipath hash may pick this sibling. It needs an upper
    /// bound (the path was not dead at the siblings' last rebalance) and rt6_score_route's
    /// approval, which tests the oif only, not dead or linkdown. A path on a device that is
    /// down was rebalanced out for good. A linkdown path on a device with
    /// ignore_routes_with_linkdown is out only if that sysctl was set before its last
    /// rebalance (a carrier change or a sibling added), which no snapshot can date: it stays
    /// a candidate (found by the differential test: the kernel hashes onto such a path when
    /// the sysctl was set after the route).
    @inline(__always) func hashCandidate6(_ nh: FIBNexthop, oif: Int32, strict: Bool) -> Bool {
        if let l = link(nh.dev), !l.up { return false }
        if nh.dead && !nh.linkdown { return false }
        return !(strict && oif != 0 && nh.dev != oif)
    }

    /// rt6_select over the routes of one fib6 node (already in leaf order).
    func select6(_ node: ArraySlice<Int32>, oif: Int32, strict: Bool) -> Hit? {
        guard let first = node.first else { return nil }
        return hot6.withUnsafeBufferPointer { rh in pathHot.withUnsafeBufferPointer { ph in
            let metric = rh[Int(first)].metric
            var best: Hit? = nil
            var mpri = -1
            func consider(_ ri: Int32) {
                let r = rh.baseAddress! + Int(ri)
                let start = Int(r.pointee.pathStart), pref = Int(r.pointee.pref)
                for k in 0..<Int(r.pointee.pathCount) {
                    let s = score6(pref, ph.baseAddress! + start + k, oif: oif, strict: strict)
                    if s > mpri {
                        mpri = s
                        best = Hit(route: ri, nhSel: Int32(k), prefixLen: r.pointee.dstLength, table: r.pointee.table)
                        if r.pointee.usesObject { break }
                    }
                }
            }
            var contAt = -1
            for (i, ri) in node.enumerated() {
                if rh[Int(ri)].metric != metric { contAt = i; break }
                consider(ri)
            }
            if best == nil && contAt >= 0 {
                for ri in node[(node.startIndex + contAt)...] { consider(ri) }
            }
            return best
        } }
    }

    /// fib6_table_lookup; .EAGAIN when the table has no usable route (the null entry).
    func tableLookup6(_ tid: UInt32, dst: UInt128, src: UInt128, oif: Int32, strict: Bool) -> PolicyOutcome {
        guard let t = table6(tid) else { return PolicyOutcome(error: .EAGAIN) }
        var e = t.lookup(dst)
        // Whether fib6_node_lookup has returned a node: from then on the walk up is
        // fib6_backtrack's, which treats nodes with a source subtree differently (below).
        var landed = false
        while e >= 0 {
            let ent = t.entries[Int(e)]
            let items = t.payload[Int(ent.start)..<Int(ent.start + ent.count)]
            var hasSrcRoutes = false
            hot6.withUnsafeBufferPointer { rh in
                for ri in items where rh[Int(ri)].hasSrc { hasSrcRoutes = true; break }
            }
            func answer(_ g: ArraySlice<Int32>) -> PolicyOutcome? {
                // aliases are in fib6 leaf order (by metric) already: the model sorts them
                // once when it is built
                guard var h = select6(g, oif: oif, strict: strict) else { return nil }
                h.prefixLen = ent.length
                let r = hot6.withUnsafeBufferPointer { $0[Int(h.route)] }
                if let err = RoutingModel.rejectError6(r.type) {
                    return PolicyOutcome(error: err, hit: h, rejectType: r.type)
                }
                if r.usesObject && r.blackholeObject {
                    return PolicyOutcome(error: .EINVAL, hit: h, rejectType: .blackhole)
                }
                return PolicyOutcome(error: nil, hit: h)
            }
            if !hasSrcRoutes {
                landed = true
                if let o = answer(items) { return o }
            } else {
                // fib6_node_lookup: a node with a source subtree is entered through the
                // subtree only; when no source prefix matches, the node is skipped entirely
                // (its routes without source included) and the lookup goes on upward.
                // fib6_backtrack, after a node's routes all failed, looks a parent's subtree
                // up the same way but, when no source prefix matches, climbs from the
                // subtree's root to the parent itself: its routes without source are tried
                // (found by the differential test: `oif` lookups that fail on a longer prefix).
                var byLen: [UInt8: [Int32]] = [:]
                var srcMatched = false
                for ri in items {
                    let sp = routes6[Int(ri)].src ?? IPPrefix.any(.v6)
                    guard (src ^ sp.address.bits) & sp.mask == 0 else { continue }
                    if sp.length > 0 { srcMatched = true }
                    byLen[sp.length, default: []].append(ri)
                }
                // The table root (::/0) is the exception: fib6_node_lookup falls back to it.
                let groups = srcMatched || landed || ent.length == 0 ? byLen.keys.sorted(by: >).map { byLen[$0]! } : []
                if srcMatched { landed = true }
                for g in groups {
                    if let o = answer(g[...]) { return o }
                }
            }
            e = ent.parent
        }
        return PolicyOutcome(error: .EAGAIN)
    }

    /// How a `suppress_ifgroup` rule judges a multipath result. fib6_rule_suppress tests the
    /// device of the rt6_info ip6_pol_route made, after fib6_select_path's hash chose the
    /// path: with candidates in and out of the group the outcome depends on that hash.
    enum IfgroupSuppression { case everyCandidate, anyCandidate }

    /// The paths of a hit the multipath hash may choose (fib6_select_path; for nexthop
    /// groups nexthop_path_fib6_result, which ignores the oif): selectors into the route's paths.
    func hashCandidates6(_ h: Hit, oif: Int32, strict: Bool) -> [Int32] {
        let r = routes6[Int(h.route)]
        guard r.pathCount > 1 else { return [h.nhSel] }
        var out: [Int32] = []
        for k in 0..<r.pathCount {
            let p = paths[Int(r.pathStart + k)]
            if r.usesObject { if p.dead { continue } }
            else if k != h.nhSel && !hashCandidate6(p, oif: oif, strict: strict) { continue }
            out.append(k)
        }
        return out
    }

    func fibLookup6(_ fl: inout Flow, input: Bool, strict: Bool, ifgroup: IfgroupSuppression = .everyCandidate) -> PolicyOutcome {
        let oif = input ? fl.iif : fl.oif
        if !customRules6 {
            var o = tableLookup6(Table.local, dst: fl.dst, src: fl.src, oif: oif, strict: strict)
            if o.error != .EAGAIN { o.rule = 0; return o }
            o = tableLookup6(Table.main, dst: fl.dst, src: fl.src, oif: oif, strict: strict)
            if o.error == .EAGAIN { o.error = .ENETUNREACH } else { o.rule = 32766 }
            return o
        }
        updateL3mdev(&fl)
        let flow = fl
        let scoringOif = input ? flow.iif : flow.oif
        return runRules(rules6, allRules6, flow, v6: true, lookup: { table in
            self.tableLookup6(table, dst: flow.dst, src: flow.src, oif: scoringOif, strict: strict)
        }, suppress: { rule, hit in
            if Int(hit.prefixLen) <= rule.pointee.suppressPrefixlen { return true }
            if rule.pointee.suppressIfgroup >= 0 {
                let r = self.routes6[Int(hit.route)]
                let inGroup = self.hashCandidates6(hit, oif: scoringOif, strict: strict).map { k in
                    self.link(self.resultDev6(r, self.paths[Int(r.pathStart + k)])).map { Int64($0.group) == rule.pointee.suppressIfgroup } ?? false
                }
                return ifgroup == .anyCandidate ? inGroup.contains(true) : inGroup.allSatisfy { $0 }
            }
            return false
        })
    }

    /// ip6_rt_get_dev_rcu: local and anycast routes answer on the loopback (or the VRF).
    func resultDev6(_ r: FIBRoute, _ nh: FIBNexthop) -> Int32 {
        if r.type == .local || r.type == .anycast {
            let vrf = enslavingVRF(nh.dev)
            if vrf != 0 && !need6Strict(r.dst.address.bits) { return vrf }
            if link(nh.dev)?.isVRF != true { return loopbackIndex }
        }
        return nh.dev
    }

    func route6(_ q: RouteQuery, oif queryOif: Int32, iif: Int32) -> RouteResult {
        let dst = q.dst.bits
        let input = iif != 0
        var fl = Flow(dst: dst, src: q.src?.bits ?? 0, iif: input ? iif : loopbackIndex, oif: input ? 0 : queryOif,
                      mark: q.mark, tos: q.tos, proto: q.ipproto, sport: q.sport, dport: q.dport,
                      uid: q.uid ?? (input ? UInt32.max : 0))
        fl.hasSaddr = q.src != nil && q.src!.bits != 0
        let strict: Bool
        let scoringOif: Int32
        if input {
            guard link(iif) != nil else { return RouteResult.failure(q, .ENODEV) }
            strict = need6Strict(dst)
            scoringOif = iif
        } else {
            if queryOif != 0 && link(queryOif) == nil { return RouteResult.failure(q, .ENODEV) }
            strict = need6Strict(dst) || (queryOif != 0 && !fl.hasSaddr)
            scoringOif = queryOif
        }
        var res = RouteResult(query: q.line, family: .v6, dst: q.dst)
        res.from = q.src ?? .zero(.v6)
        res.fibmatch = q.fibmatch
        if input { res.iif = name(of: iif) }
        let flow = fl
        let o = fibLookup6(&fl, input: input, strict: strict)
        // With suppress_ifgroup rules a multipath result may be suppressed for some of its
        // paths only: `alternate` is the outcome when the hash picks one of those.
        var alternate: PolicyOutcome? = nil
        if ifgroupRules6 {
            var fl2 = flow
            let a = fibLookup6(&fl2, input: input, strict: strict, ifgroup: .anyCandidate)
            if a.error != o.error || a.hit?.route != o.hit?.route || a.rule != o.rule { alternate = a }
        }
        if let e = o.error {
            var f = RouteResult.failure(q, e == .EAGAIN ? .ENETUNREACH : e, rule: o.rule, type: o.rejectType)
            f.from = res.from; f.iif = res.iif
            return f
        }
        guard let h = o.hit else { return RouteResult.failure(q, .ENETUNREACH) }
        if input && kernel.ipv6MulticastRouting && v6IsMulticast(routes6[Int(h.route)].dst.address.bits) {
            // With CONFIG_IPV6_MROUTE, rt6_fill_node asks ip6mr_get_route when the route's own
            // prefix is multicast; without a multicast route cache entry the reply cannot be
            // built and the kernel answers EMSGSIZE. Without it the answer is the route itself
            // (`multicast ff02::1 ... dev DEV table local`).
            var f = RouteResult.failure(q, .EMSGSIZE, rule: o.rule)
            f.from = res.from; f.iif = res.iif
            return f
        }
        let r = routes6[Int(h.route)]
        let nh = paths[Int(r.pathStart + h.nhSel)]
        res.type = r.type
        res.table = r.table
        res.rule = o.rule
        res.metric = r.metric
        res.routeProtocol = r.proto
        res.pref = r.pref ?? 0
        res.dev = name(of: resultDev6(r, nh))
        res.gateway = nh.gateway
        res.features = routeFeatures(r, nh)
        let origin = Int(origin6[Int(h.route)])
        res.match = FIBMatch(route: origin, table: r.table, type: r.type)
        res.metrics = snapshotRoutes[origin].metrics
        // fib6_select_path: the hash may pick any live sibling that scores.
        if r.pathCount > 1 {
            var c: [RoutePath] = []
            for k in hashCandidates6(h, oif: scoringOif, strict: strict) {
                let p = paths[Int(r.pathStart + k)]
                var path = RoutePath(dev: name(of: p.dev) ?? "if\(p.dev)", gateway: p.gateway, weight: p.weight)
                path.nexthop = Int(k)
                if let a = alternate, let l = link(resultDev6(r, p)), ifgroupSuppressors6.contains(Int64(l.group)) {
                    // the hash's choice of this path suppresses the result: the later rules answer
                    if let e = a.error { path.error = e == .EAGAIN ? .ENETUNREACH : e }
                    else if let ah = a.hit {
                        let ar = routes6[Int(ah.route)], ap = paths[Int(ar.pathStart + ah.nhSel)]
                        path = RoutePath(dev: name(of: resultDev6(ar, ap)) ?? "if\(ap.dev)", gateway: ap.gateway, weight: p.weight)
                    }
                }
                c.append(path)
            }
            if c.count > 1 {
                res.multipath = c
                if Set(c.map(\.dev)).count > 1 { res.dev = nil }
                if Set(c.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
            }
        }
        if input {
            // rt6_fill_node reports the route's own preferred source for input answers too.
            res.prefsrc = r.prefsrc
        } else {
            // ip6_route_get_saddr on the route the answer came from.
            if let p = r.prefsrc { res.prefsrc = p }
            else {
                let dev = r.usesObject ? paths[Int(r.pathStart)].dev : nh.dev
                if res.multipath.isEmpty || r.usesObject {
                    res.prefsrc = selectAddr6(dev: dev, dst: dst).map { IPAddress(v6: $0) }
                } else {
                    for i in res.multipath.indices {
                        let d = index(of: res.multipath[i].dev) ?? 0
                        res.multipath[i].prefsrc = selectAddr6(dev: d, dst: dst).map { IPAddress(v6: $0) }
                    }
                    let s = Set(res.multipath.map { $0.prefsrc?.description ?? "" })
                    if s.count == 1 { res.prefsrc = res.multipath[0].prefsrc }
                }
            }
        }
        return res
    }

    // MARK: source address selection (ipv6_dev_get_saddr)

    func selectAddr6(dev: Int32, dst: UInt128) -> UInt128? {
        let dstScope = v6SrcScope(dst)
        let dstLabel = v6Label(dst)
        let useOif = dev != 0 && (v6IsMulticast(dst) || dstScope <= 2 || useOifAddrsOnly6(dev))
        var best: (addr: UInt128, keys: SaddrKeys6)? = nil
        func consider(_ a: Address, _ ifindex: Int32) {
            if a.flags & AddressFlags.tentative != 0 && a.flags & AddressFlags.optimistic == 0 { return }
            let x = a.local.bits
            if x == 0 || v6IsMulticast(x) { return }
            let s = v6SrcScope(x)
            let scopeKey = s >= dstScope ? -s : s - 128
            let preferred = (x == 1 || (x >> 32) == 0xffff) ? 1 : (a.flags & (AddressFlags.deprecated | AddressFlags.optimistic) == 0 ? 1 : 0)
            let oifKey = (dev == 0 || dev == ifindex) ? 1 : 0
            let labelKey = v6Label(x) == dstLabel ? 1 : 0
            let privacy = a.flags & 0x01 /* IFA_F_TEMPORARY == IFA_F_SECONDARY */ == 0 ? 1 : 0
            let orchid = (v6IsOrchid(x) == v6IsOrchid(dst)) ? 1 : 0
            let common = (x ^ dst) == 0 ? 128 : (x ^ dst).leadingZeroBitCount
            let prefixKey = min(common, Int(a.prefixlen))
            let notOptimistic = a.flags & AddressFlags.optimistic == 0 ? 1 : 0
            let keys = SaddrKeys6(k: (x == dst ? 1 : 0, scopeKey, preferred, oifKey, labelKey, privacy, orchid, prefixKey, notOptimistic))
            if let b = best {
                if keys.isBetter(than: b.keys) { best = (x, keys) }
            } else { best = (x, keys) }
        }
        // candidates in the order the kernel walks them
        if useOif {
            if let l = link(dev) { for a in l.addrs6 { consider(a, dev) } }
        } else {
            let master = enslavingVRF(dev)
            if master != 0 {
                if let l = link(dev) { for a in l.addrs6 { consider(a, dev) } }
                if let m = link(master) { for a in m.addrs6 { consider(a, master) } }
            }
            for l in links where l3mdevMaster(l.index) == master || (master == 0 && l3mdevMaster(l.index) == 0) {
                if master != 0 && (l.index == dev || l.index == master) { continue }
                for a in l.addrs6 { consider(a, l.index) }
            }
        }
        return best?.addr
    }
}

/// The rules of ipv6_dev_get_saddr as a key per candidate, compared in order: the first
/// differing rule decides, and a candidate replaces the best only when strictly better.
struct SaddrKeys6 {
    var k: (Int, Int, Int, Int, Int, Int, Int, Int, Int)
    @inline(__always) func isBetter(than b: SaddrKeys6) -> Bool {
        var a = k, c = b.k
        return withUnsafeBytes(of: &a) { pa in withUnsafeBytes(of: &c) { pc in
            let x = pa.bindMemory(to: Int.self), y = pc.bindMemory(to: Int.self)
            for i in 0..<9 where x[i] != y[i] { return x[i] > y[i] }
            return false
        } }
    }
}

extension RoutingModel {
    /// net.ipv6.conf.DEV.use_oif_addrs_only (read once per device when the model is built).
    @inline(__always) func useOifAddrsOnly6(_ dev: Int32) -> Bool { link(dev)?.useOifAddrsOnly6 ?? false }
}

@inline(__always) func v6IsMulticast(_ a: UInt128) -> Bool { a >> 120 == 0xff }
@inline(__always) func v6IsLinkLocal(_ a: UInt128) -> Bool { a >> 118 == 0x3fa }
@inline(__always) func need6Strict(_ a: UInt128) -> Bool { v6IsMulticast(a) || v6IsLinkLocal(a) || a == 1 }
func v6IsOrchid(_ a: UInt128) -> Bool { a >> 100 == 0x2001001 }
/// __ipv6_addr_src_scope (the unspecified address has the invalid scope, -1: every source
/// address is of an appropriate scope for it, the smallest preferred).
func v6SrcScope(_ a: UInt128) -> Int {
    if a == 0 { return -1 }
    if v6IsMulticast(a) { return Int((a >> 112) & 0xf) }
    if a == 1 || v6IsLinkLocal(a) { return 2 }
    if a >> 118 == 0x3fb { return 5 }   // fec0::/10 site-local
    return 14
}
/// The kernel's default address label table (net/ipv6/addrlabel.c).
func v6Label(_ a: UInt128) -> Int {
    if a == 1 { return 0 }
    if a >> 32 == 0xffff { return 4 }
    if a >> 32 == 0 { return 3 }
    if a >> 100 == 0x2001001 { return 7 }
    if a >> 96 == 0x2001_0000 { return 6 }
    if a >> 112 == 0x2002 { return 2 }
    if a >> 112 == 0x3ffe { return 12 }
    if a >> 118 == 0x3fb { return 11 }
    if a >> 121 == 0x7e { return 5 }
    return 1
}

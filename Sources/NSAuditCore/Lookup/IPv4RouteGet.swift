/// IPv4 `ip route get`: output lookups (ip_route_output_key_hash_rcu + __mkroute_output) and
/// input lookups (ip_route_input_slow + __mkroute_input), with the kernel's errors.
extension RoutingModel {
    func output4(_ q: RouteQuery, oif queryOif: Int32) -> RouteResult {
        var res = RouteResult(query: q.line, family: .v4, dst: q.dst)
        res.from = q.src
        res.uid = q.uid ?? 0
        var daddr = q.dst.v4
        var saddr = q.src?.v4 ?? 0
        var fl = Flow(dst: UInt128(daddr), src: UInt128(saddr), iif: loopbackIndex, oif: queryOif,
                      mark: q.mark, tos: q.tos, proto: q.ipproto == 0 ? 17 : q.ipproto, sport: q.sport, dport: q.dport, uid: q.uid ?? 0)
        func fail(_ e: KernelError, _ o: PolicyOutcome? = nil) -> RouteResult {
            var r = RouteResult.failure(q, e, rule: o?.rule, type: o?.rejectType)
            r.from = q.src
            return r
        }
        var devOut: Int32 = 0
        var hit: Hit? = nil
        var type: RouteType = .unicast
        var rule: UInt32? = nil
        var candidates: [(route: Int32, sel: Int32)] = []   // paths the kernel may choose among
        var local = false
        route: do {
            if saddr != 0 {
                if v4IsMulticast(saddr) || v4IsLbcast(saddr) || v4IsZeronet(saddr) { return fail(.EINVAL) }
                if queryOif == 0 && (v4IsMulticast(daddr) || v4IsLbcast(daddr)) {
                    guard let d = deviceOf4(saddr) else { return fail(.ENETUNREACH) }
                    devOut = d; fl.oif = d
                    break route
                }
                if deviceOf4(saddr) == nil { return fail(.ENETUNREACH) }
            }
            if queryOif != 0 {
                guard let d = link(queryOif) else { return fail(.ENODEV) }
                if !d.up { return fail(.ENETUNREACH) }
                devOut = queryOif
                if v4IsLocalMulticast(daddr) || v4IsLbcast(daddr) || q.ipproto == 2 {
                    if saddr == 0 { saddr = selectAddr4(devOut, dst: 0, scope: Scope.link) }
                    break route
                }
                if saddr == 0 {
                    if v4IsMulticast(daddr) { saddr = selectAddr4(devOut, dst: 0, scope: Scope.universe) }
                    else if daddr == 0 { saddr = selectAddr4(devOut, dst: 0, scope: Scope.host) }
                }
            }
            if daddr == 0 {
                daddr = saddr
                if daddr == 0 { daddr = RoutingModel.loopbackV4; saddr = daddr }
                devOut = loopbackIndex; fl.oif = loopbackIndex
                type = .local; local = true
                break route
            }
            fl.src = UInt128(saddr)
            let o = fibLookup4(&fl)
            rule = o.rule
            if let e = o.error {
                if fl.oif != 0 && (v4IsMulticast(daddr) || fl.l3mdev == 0) {
                    if saddr == 0 { saddr = selectAddr4(devOut, dst: 0, scope: Scope.link) }
                    type = .unicast
                    break route
                }
                return fail(e, o)
            }
            guard let h = o.hit else { return fail(.ENETUNREACH) }
            hit = h
            let r = routes4[Int(h.route)]
            type = r.type
            if r.type == .local {
                let nh = paths[Int(r.pathStart) + Int(h.nhSel)]
                if saddr == 0 { saddr = r.prefsrc?.v4 ?? daddr }
                let vrf = enslavingVRF(nh.dev)
                devOut = vrf != 0 ? vrf : loopbackIndex
                local = true
                break route
            }
            // fib_select_path
            if fl.oif == 0 {
                if r.pathCount > 1 {
                    for k in 0..<r.pathCount {
                        let nh = paths[Int(r.pathStart + k)]
                        if nh.dead { continue }
                        if nh.linkdown, let l = link(nh.dev), l.ignoreLinkdown4 { continue }
                        candidates.append((h.route, k))
                    }
                    if candidates.isEmpty { candidates = [(h.route, h.nhSel)] }
                } else if h.prefixLen == 0, (numDefault4[h.table] ?? 0) > 1, r.type == .unicast {
                    candidates = selectDefaultCandidates4(h, tos: q.tos)
                }
            }
            if candidates.count == 1 { hit?.route = candidates[0].route; hit?.nhSel = candidates[0].sel; candidates = [] }
            let sel = candidates.first ?? (hit!.route, hit!.nhSel)
            let nh = paths[Int(routes4[Int(sel.route)].pathStart + sel.sel)]
            devOut = nh.dev
        }
        // __mkroute_output
        guard let dOut = link(devOut) else { return fail(.ENODEV) }
        func prefsrcFor(_ route: FIBRoute, _ nh: FIBNexthop) -> UInt32 {
            if saddr != 0 { return saddr }
            let l3 = fl.l3mdev
            if l3 == 0 || enslavingVRF(nh.dev) == l3 { return resultPrefsrc4(route, nh) }
            return selectAddr4(l3, dst: 0, scope: Scope.link)
        }
        var src = saddr
        if let h = hit, !local {
            let r = routes4[Int(h.route)]
            src = prefsrcFor(r, paths[Int(r.pathStart + h.nhSel)])
        }
        if v4IsLoopback(src) && !dOut.loopback && !dOut.isVRF && !dOut.routeLocalnet { return fail(.EINVAL) }
        if v4IsLbcast(daddr) { type = .broadcast }
        else if v4IsMulticast(daddr) { type = .multicast }
        res.type = type
        res.dev = dOut.name
        res.rule = rule
        if let h = hit {
            res.table = h.table == 0 ? nil : h.table
            let r = routes4[Int(h.route)]
            let useFi = type != .broadcast && !(type == .multicast && h.prefixLen < 4)
            if useFi && !local {
                let nh = paths[Int(r.pathStart + h.nhSel)]
                res.gateway = nh.gateway
                if nh.linkdown { res.flags.append("linkdown") }
            }
            if !candidates.isEmpty {
                res.multipath = candidates.map { c in
                    let r = routes4[Int(c.route)]
                    let nh = paths[Int(r.pathStart + c.sel)]
                    let d = name(of: nh.dev) ?? "if\(nh.dev)"
                    return RoutePath(dev: d, gateway: useFi ? nh.gateway : nil, weight: nh.weight,
                                     prefsrc: IPAddress(v4: prefsrcFor(r, nh)))
                }
                let devs = Set(res.multipath.map(\.dev)), gws = Set(res.multipath.map { $0.gateway?.description ?? "" })
                if devs.count > 1 { res.dev = nil }
                if gws.count > 1 { res.gateway = nil }
                let srcs = Set(res.multipath.map { $0.prefsrc?.description ?? "" })
                if srcs.count > 1 { src = 0 }
            }
        }
        if src != 0 && src != (q.src?.v4 ?? 0) { res.prefsrc = IPAddress(v4: src) }
        if dOut.loopback || local { res.cache.append("local") }
        if type == .broadcast { res.cache = ["local", "brd"] }
        if type == .multicast { res.cache = ["local", "mc"] }
        if daddr != q.dst.v4 { res.dst = IPAddress(v4: daddr) }
        return res
    }

    /// fib_select_default: default routes of the same priority the kernel may rotate among
    /// (by neighbour state, unknowable offline).
    func selectDefaultCandidates4(_ h: Hit, tos: UInt8) -> [(route: Int32, sel: Int32)] {
        guard let t = tables4[h.table] else { return [(h.route, h.nhSel)] }
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
    func input4(_ q: RouteQuery, iif: Int32) -> RouteResult {
        var res = RouteResult(query: q.line, family: .v4, dst: q.dst)
        res.from = q.src
        guard let dev = link(iif) else { return RouteResult.failure(q, .ENODEV) }
        res.iif = dev.name
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
            r.table = h.map { $0.table }
            r.rule = rule
            r.cache = type == .broadcast ? ["local", "brd"] : ["local"]
            return r
        }
        if v4IsMulticast(daddr) {
            // ip_route_input_mc. Group memberships are not in the snapshot: every device that
            // is up is taken to have joined 224.0.0.1 (all-hosts, joined by ip_mc_up) and no
            // other group; multicast forwarding (mc_forwarding) is taken as off.
            guard daddr == 0xe000_0001 && dev.up else { return fail(.EINVAL) }
            if v4IsMulticast(saddr) || v4IsLbcast(saddr) { return fail(.EINVAL) }
            if v4IsLoopback(saddr) && !dev.routeLocalnet { return fail(.EINVAL) }
            if saddr != 0 && validateSource4(src: saddr, dst: 0, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            var r = res
            r.type = .multicast; r.dev = name(of: loopbackIndex); r.cache = ["local", "mc"]
            return r
        }
        if v4IsMulticast(saddr) || v4IsLbcast(saddr) { return fail(.EINVAL) }
        if v4IsLbcast(daddr) || (saddr == 0 && daddr == 0) {
            if saddr != 0, validateSource4(src: saddr, dst: 0, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            return localInput(.broadcast, 0, nil, nil)
        }
        if v4IsZeronet(saddr) { return fail(.EINVAL) }
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
        if r.type == .broadcast {
            if dev.bcForwarding { return forward4(q, dev, h, o.rule, res) }
            if saddr != 0, validateSource4(src: saddr, dst: 0, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            return localInput(.broadcast, 0, nil, nil)
        }
        if r.type == .local {
            if validateSource4(src: saddr, dst: daddr, tos: q.tos, oif: 0, dev: dev, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport) != .ok {
                return fail(.EINVAL)
            }
            return localInput(.local, paths[Int(r.pathStart + h.nhSel)].dev, h, o.rule)
        }
        if !dev.forwarding { return fail(.EHOSTUNREACH) }
        if r.type != .unicast { return fail(.EINVAL) }
        return forward4(q, dev, h, o.rule, res)
    }

    /// ip_mkroute_input / __mkroute_input.
    func forward4(_ q: RouteQuery, _ dev: LinkInfo, _ h: Hit, _ rule: UInt32?, _ base: RouteResult) -> RouteResult {
        let r = routes4[Int(h.route)]
        var sels: [Int32] = [h.nhSel]
        if r.pathCount > 1 {
            sels = []
            for k in 0..<r.pathCount {
                let nh = paths[Int(r.pathStart + k)]
                if nh.dead { continue }
                if nh.linkdown, let l = link(nh.dev), l.ignoreLinkdown4 { continue }
                sels.append(k)
            }
            if sels.isEmpty { sels = [h.nhSel] }
        }
        var res = base
        var errors: [KernelError?] = []
        for k in sels {
            let nh = paths[Int(r.pathStart + k)]
            let v = validateSource4(src: q.src?.v4 ?? 0, dst: q.dst.v4, tos: q.tos, oif: nh.dev, dev: dev, mark: q.mark,
                                    proto: q.ipproto, sport: q.sport, dport: q.dport)
            errors.append(v == .ok ? nil : .EINVAL)
        }
        if let e = errors.first ?? nil, errors.allSatisfy({ $0 == e }) {
            var f = RouteResult.failure(q, e, rule: rule)
            f.from = q.src; f.iif = dev.name
            return f
        }
        res.type = .unicast
        res.rule = rule
        res.table = h.table
        let okSel = sels.indices.first { errors[$0] == nil } ?? 0
        let first = paths[Int(r.pathStart + sels[okSel])]
        res.dev = name(of: first.dev)
        res.gateway = first.gateway
        if sels.count > 1 {
            res.multipath = sels.enumerated().map { i, k in
                let nh = paths[Int(r.pathStart + k)]
                var p = RoutePath(dev: name(of: nh.dev) ?? "if\(nh.dev)", gateway: nh.gateway, weight: nh.weight)
                p.error = errors[i]
                return p
            }
            if Set(res.multipath.map(\.dev)).count > 1 { res.dev = nil }
            if Set(res.multipath.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
        }
        if first.linkdown && sels.count == 1 { res.flags.append("linkdown") }
        return res
    }
}

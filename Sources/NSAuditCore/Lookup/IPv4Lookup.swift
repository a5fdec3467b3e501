/// IPv4: fib_table_lookup (with check_leaf semantics), fib_lookup through the policy rules,
/// ip_route_output_key_hash_rcu and ip_route_input_slow as `ip route get` exercises them.
extension RoutingModel {
    static let loopbackV4: UInt32 = 0x7f00_0001

    @inline(__always) func goodNH4(_ nh: UnsafePointer<PathHot>, oif: Int32, ignoreLinkstate: Bool) -> Bool {
        let f = nh.pointee.flags
        if f & NexthopFlags.dead != 0 { return false }
        if f & NexthopFlags.linkdown != 0 && !ignoreLinkstate, let l = link(nh.pointee.dev), l.ignoreLinkdown4 { return false }
        if oif != 0 && oif != nh.pointee.dev { return false }
        return true
    }

    static func rejectError(_ t: RouteType) -> KernelError {
        switch t {
        case .unreachable: .EHOSTUNREACH
        case .prohibit: .EACCES
        case .throw: .EAGAIN
        default: .EINVAL
        }
    }

    /// fib_table_lookup: the longest prefix with an alias that fits, backtracking to less
    /// specific prefixes. Returns .EAGAIN when nothing matches.
    func tableLookup4(_ tid: UInt32, dst: UInt32, tos: UInt8, oif: Int32, ignoreLinkstate: Bool) -> PolicyOutcome {
        var found = Leaf4.none
        return tableLookup4(tid, dst: dst, tos: tos, oif: oif, ignoreLinkstate: ignoreLinkstate, found: &found)
    }

    /// The same; `found` is set to the entry's Leaf4 when the answer came from it (its first
    /// alias with its first path), else left alone.
    @inline(__always)
    func tableLookup4(_ tid: UInt32, dst: UInt32, tos: UInt8, oif: Int32, ignoreLinkstate: Bool,
                      found: inout Leaf4) -> PolicyOutcome {
        if let lf = accel4.blockLeaf(table: tid, dst: dst, oif: oif) {
            // the table's /24 index is the output block index: the block's (fast) leaf
            found = lf
            return PolicyOutcome(error: nil, hit: Hit(route: lf.route, nhSel: 0, prefixLen: lf.length, table: tid))
        }
        guard let t = table4(tid) else { return PolicyOutcome(error: .EAGAIN) }
        let e = t.lookup(dst)
        if e >= 0, let lf = accel4.fastLeaf(table: tid, entry: e, oif: oif) {
            found = lf
            return PolicyOutcome(error: nil, hit: Hit(route: lf.route, nhSel: 0, prefixLen: lf.length, table: tid))
        }
        return tableWalk4(t, e, tid, tos: tos, oif: oif, ignoreLinkstate: ignoreLinkstate)
    }

    /// fib_table_lookup from entry `e` of table `t` up its parent links.
    func tableWalk4(_ t: PrefixTable<UInt32>, _ start: Int32, _ tid: UInt32, tos: UInt8, oif: Int32,
                    ignoreLinkstate: Bool) -> PolicyOutcome {
        return hot4.withUnsafeBufferPointer { rp in pathHot.withUnsafeBufferPointer { pp in
        t.entries.withUnsafeBufferPointer { ep in t.payload.withUnsafeBufferPointer { pl in
        var e = start
        var skipKey: UInt32? = nil
        let qtos = tos & 0x1c
        while e >= 0 {
            let ent = ep.baseAddress! + Int(e)
            if let sk = skipKey, ent.pointee.key == sk { e = ent.pointee.parent; continue }
            skipKey = nil
            var missed = false
            let count = Int(ent.pointee.count)
            aliases: for p in 0..<count {
                let ri = count == 1 ? ent.pointee.first : pl[Int(ent.pointee.start) + p]
                let r = rp.baseAddress! + Int(ri)
                let f = r.pointee.flags
                if r.pointee.tos != 0 && r.pointee.tos & 0xfc != qtos { continue }
                let hit = Hit(route: ri, nhSel: -1, prefixLen: ent.pointee.length, table: tid)
                if f & RouteHot.reject != 0 {
                    let type = RouteType(rawValue: r.pointee.type) ?? .blackhole
                    return PolicyOutcome(error: RoutingModel.rejectError(type), hit: hit, rejectType: type)
                }
                if f & RouteHot.dead != 0 { continue }
                if f & RouteHot.blackholeObject != 0 {
                    return PolicyOutcome(error: .EINVAL, hit: hit, rejectType: .blackhole)
                }
                let start = Int(r.pointee.pathStart)
                for k in 0..<Int(r.pointee.pathCount) {
                    if goodNH4(pp.baseAddress! + start + k, oif: oif, ignoreLinkstate: ignoreLinkstate) {
                        var h = hit; h.nhSel = Int32(k)
                        return PolicyOutcome(error: nil, hit: h)
                    }
                }
                if f & RouteHot.object != 0 { missed = true; break aliases }
            }
            if missed { skipKey = ent.pointee.key }
            e = ent.pointee.parent
        }
        return PolicyOutcome(error: .EAGAIN)
        } } } }
    }

    /// fib_lookup: the fast path without custom rules, else the policy rules.
    func fibLookup4(_ fl: inout Flow, ignoreLinkstate: Bool = false) -> PolicyOutcome {
        var found = Leaf4.none
        return fibLookup4(&fl, ignoreLinkstate: ignoreLinkstate, program: allRules4, found: &found)
    }

    /// The same over the rules of `program` (all rules, or those the flow's shape can
    /// match); `found` as tableLookup4 sets it for the lookup that gave the answer.
    @inline(__always)
    func fibLookup4(_ fl: inout Flow, ignoreLinkstate: Bool, program: RuleProgram, found: inout Leaf4) -> PolicyOutcome {
        let dst = UInt32(truncatingIfNeeded: fl.dst)
        if merged4 {
            var o = tableLookup4(Table.main, dst: dst, tos: fl.tos, oif: fl.oif, ignoreLinkstate: ignoreLinkstate, found: &found)
            if o.error == nil || o.error != .EAGAIN {
                if let h = o.hit {
                    // the route's own table (local or main) names the rule
                    let local = found.route == h.route ? found.flags & Leaf4.localTable != 0
                        : routes4.withUnsafeBufferPointer { $0[Int(h.route)].table } == Table.local
                    o.rule = local ? 0 : 32766
                }
                return o
            }
            o = tableLookup4(Table.default, dst: dst, tos: fl.tos, oif: fl.oif, ignoreLinkstate: ignoreLinkstate, found: &found)
            if o.error == .EAGAIN { o.error = .ENETUNREACH } else { o.rule = 32767 }
            return o
        }
        updateL3mdev(&fl)
        var actions = RuleActions4(dst: dst, tos: fl.tos, oif: fl.oif, ignoreLinkstate: ignoreLinkstate, found: found)
        let o = runRules(rules4, program, fl, v6: false, &actions)
        found = actions.found
        return o
    }

    /// fib4_rule_action and fib4_rule_suppress.
    struct RuleActions4: RuleActions {
        let dst: UInt32
        let tos: UInt8
        let oif: Int32
        let ignoreLinkstate: Bool
        var found: Leaf4
        @inline(__always) mutating func lookup(_ model: RoutingModel, _ table: UInt32) -> PolicyOutcome {
            model.tableLookup4(table, dst: dst, tos: tos, oif: oif, ignoreLinkstate: ignoreLinkstate, found: &found)
        }
        @inline(__always) func suppress(_ model: RoutingModel, _ rule: UnsafePointer<FIBRule>, _ hit: Hit) -> Bool {
            if Int(hit.prefixLen) <= rule.pointee.suppressPrefixlen { return true }
            if rule.pointee.suppressIfgroup >= 0 {
                let r = model.routes4[Int(hit.route)]
                if r.pathCount > 0, let l = model.link(model.paths[Int(r.pathStart)].dev), Int64(l.group) == rule.pointee.suppressIfgroup { return true }
            }
            return false
        }
    }

    // MARK: source address selection

    /// inet_select_addr.
    func selectAddr4(_ dev: Int32, dst: UInt32, scope: UInt8) -> UInt32 { devices.selectAddr4(dev, dst: dst, scope: scope) }

    /// fib_result_prefsrc for a path of a route.
    func resultPrefsrc4(_ r: FIBRoute, _ nh: FIBNexthop) -> UInt32 { devices.resultPrefsrc4(r, nh) }

    /// __ip_dev_find: the device holding a local address (or covered by a local route in
    /// the local table).
    func deviceOf4(_ a: UInt32) -> Int32? {
        for l in links { for x in l.addrs4 where x.local.v4 == a { return l.index } }
        let o = tableLookup4(merged4 ? Table.main : Table.local, dst: a, tos: 0, oif: 0, ignoreLinkstate: false)
        if o.error == nil, let h = o.hit, routes4[Int(h.route)].type == .local {
            let r = routes4[Int(h.route)]
            return paths[Int(r.pathStart) + Int(h.nhSel)].dev
        }
        return nil
    }

    func isLocalAddr4(_ a: UInt32) -> Bool { devices.isLocalAddr4(a) }
}

@inline(__always) func v4IsMulticast(_ a: UInt32) -> Bool { a >> 28 == 0xe }
@inline(__always) func v4IsLocalMulticast(_ a: UInt32) -> Bool { a & 0xffff_ff00 == 0xe000_0000 }
@inline(__always) func v4IsLbcast(_ a: UInt32) -> Bool { a == 0xffff_ffff }
/// 0.0.0.0/8 (ipv4_is_zeronet before Linux 5.3; see `RoutingModel.isZeronet4`).
@inline(__always) func v4IsZeronet(_ a: UInt32) -> Bool { a >> 24 == 0 }

extension RoutingModel {
    /// ipv4_is_zeronet on the snapshot's kernel: 0.0.0.0/8 before Linux 5.3, 0.0.0.0 itself
    /// since (`KernelFacts.zeronetIsSlash8`).
    @inline(__always) func isZeronet4(_ a: UInt32) -> Bool { zeronetIsSlash8 ? a >> 24 == 0 : a == 0 }
}
@inline(__always) func v4IsLoopback(_ a: UInt32) -> Bool { a >> 24 == 127 }

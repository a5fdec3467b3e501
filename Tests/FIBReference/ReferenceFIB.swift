import NSAuditCore

/// A plain reference model of the kernel's `ip route get` decisions over a namespace
/// snapshot, for testing the model (RoutingModel) and its accelerators against.
///
/// It follows the kernel's functions one by one, the way RoutingModel's general path mirrors
/// them, with none of its machinery: no prefix tables, indexes, leaves, hot copies, rule
/// programs or memos. Rules are walked in order with every selector and action; a table
/// lookup tries each prefix length from the longest down, the aliases of a prefix in the
/// order the kernel keeps them. It is slow and meant to be read: every step names the
/// kernel function it stands for. Only the public snapshot types are used.
///
/// It answers what the recorded kernel answers are compared on (error, type, device,
/// gateway, the multipath candidates) and what the model's decision holds besides (rule,
/// table, the IPv4 source address). IPv6 source address selection is not covered.
public struct ReferenceFIB: Sendable {
    /// A device with its addresses and effective sysctls.
    struct Device: Sendable {
        let link: Link
        let v4: RoutingSettings.EffectiveIPv4
        let v6: RoutingSettings.EffectiveIPv6
        var addrs4: [Address] = []
        var addrs6: [Address] = []
    }

    /// One nexthop of a route.
    struct Path: Sendable {
        var dev: Int32
        /// The gateway, nil when none or when it is a local address (fib_check_nh: host scope).
        var gateway: IPAddress?
        /// A local address given as gateway (inet_select_addr's hint).
        var localGateway: IPAddress?
        var weight: UInt16
        var flags: UInt32
        var dead: Bool { flags & NexthopFlags.dead != 0 }
        var linkdown: Bool { flags & NexthopFlags.linkdown != 0 }
    }

    /// A route (fib_info / fib6_info) with its nexthops resolved.
    struct Entry: Sendable {
        /// Position in the snapshot's routes.
        let position: Int
        let route: Route
        var paths: [Path] = []
        var usesObject = false
        var blackholeObject = false
        /// fib_info is dead: every nexthop is dead.
        var dead = false
        var isReject: Bool {
            switch route.type {
            case .blackhole, .unreachable, .prohibit, .throw, .nat, .xresolve: true
            default: false
            }
        }
    }

    struct PrefixKey: Hashable, Sendable {
        let table: UInt32
        let length: UInt8
        let bits: UInt128
    }

    let ns: NamespaceSnapshot
    let devices: [Int32: Device]
    let names: [String: Int32]
    let loopback: Int32
    let rules4: [Rule]
    let rules6: [Rule]
    /// IPv4 local and main searched as one table, reported as main (fib_has_custom_rules false).
    public let merged4: Bool
    let entries: [Entry]
    /// The routes of each prefix of each table, in the kernel's alias order.
    let prefixes4: [PrefixKey: [Int]]
    let prefixes6: [PrefixKey: [Int]]
    let tables4: Set<UInt32>
    let tables6: Set<UInt32>

    /// `mergeLocalAndMain`: nil for the kernel's choice (merged when the IPv4 rules are the
    /// three default ones), false to keep local and main apart as the kernel does with
    /// custom rules.
    public init(_ ns: NamespaceSnapshot, mergeLocalAndMain: Bool? = nil) {
        self.ns = ns
        var devices: [Int32: Device] = [:], names: [String: Int32] = [:]
        var lo: Int32 = 1
        for l in ns.links {
            devices[l.index] = Device(link: l, v4: ns.settings.effectiveIPv4(l.name), v6: ns.settings.effectiveIPv6(l.name))
            names[l.name] = l.index
            if l.isLoopback { lo = l.index }
        }
        for a in ns.addresses where devices[a.index] != nil {
            if a.family == .v4 { devices[a.index]!.addrs4.append(a) } else { devices[a.index]!.addrs6.append(a) }
        }
        self.devices = devices; self.names = names; loopback = lo
        func sorted(_ f: IPAddress.Family) -> [Rule] {
            ns.rules.enumerated().filter { $0.element.family == f }
                .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
        }
        rules4 = sorted(.v4); rules6 = sorted(.v6)
        let merged = mergeLocalAndMain ?? Rule.onlyDefaults4(ns.rules)
        merged4 = merged

        let objects = Dictionary(ns.nexthops.map { ($0.id, $0) }, uniquingKeysWith: { _, b in b })
        let local4 = Set(ns.addresses.filter { $0.family == .v4 }.map(\.local))
        var entries: [Entry] = []
        var p4: [PrefixKey: [Int]] = [:], p6: [PrefixKey: [Int]] = [:]
        var t4 = Set<UInt32>(), t6 = Set<UInt32>()
        // In the merged IPv4 table the local table's aliases come before main's.
        func isLocal4(_ r: Route) -> Bool { r.family == .v4 && r.table == Table.local }
        let order = merged ? ns.routes.indices.filter { isLocal4(ns.routes[$0]) } + ns.routes.indices.filter { !isLocal4(ns.routes[$0]) }
            : Array(ns.routes.indices)
        for position in order {
            let r = ns.routes[position]
            var e = Entry(position: position, route: r)
            func path(_ dev: Int32?, _ gw: IPAddress?, _ weight: UInt16, _ flags: UInt32) -> Path {
                // fib_check_nh: a local gateway gives the nexthop host scope, no gateway
                if let g = gw, g.family == .v4, local4.contains(g) {
                    return Path(dev: dev ?? 0, gateway: nil, localGateway: g, weight: weight, flags: flags)
                }
                return Path(dev: dev ?? 0, gateway: gw, localGateway: nil, weight: weight, flags: flags)
            }
            if let id = r.nhid {
                e.usesObject = true
                if let o = objects[id] {
                    if o.blackhole { e.blackholeObject = true }
                    if let g = o.group {
                        for m in g {
                            guard let mo = objects[m.id] else { continue }
                            if mo.blackhole { e.blackholeObject = true }
                            e.paths.append(path(mo.oif, mo.gateway, m.weight, mo.flags))
                        }
                    } else if !o.blackhole {
                        e.paths.append(path(o.oif, o.gateway, 1, o.flags))
                    }
                }
            } else if let nhs = r.nexthops, !nhs.isEmpty {
                e.paths = nhs.map { path($0.oif, $0.gateway, $0.weight, $0.flags) }
            } else {
                e.paths = [path(r.oif, r.gateway, 1, r.flags & 0xff)]
            }
            if !e.usesObject {
                let liveTypes: [RouteType] = [.unicast, .local, .broadcast, .multicast, .anycast]
                e.dead = !e.paths.isEmpty && e.paths.allSatisfy(\.dead) && liveTypes.contains(r.type)
            }
            let i = entries.count
            entries.append(e)
            if r.family == .v4 {
                let table = merged && r.table == Table.local ? Table.main : r.table
                p4[PrefixKey(table: table, length: r.dst.length, bits: r.dst.address.bits & r.dst.mask), default: []].append(i)
                t4.insert(table)
            } else {
                p6[PrefixKey(table: r.table, length: r.dst.length, bits: r.dst.address.bits & r.dst.mask), default: []].append(i)
                t6.insert(r.table)
            }
        }
        // fib6 keeps a node's routes ordered by metric (insertion order among equals)
        for (k, v) in p6 {
            p6[k] = v.enumerated().sorted { (entries[$0.element].route.metric, $0.offset) < (entries[$1.element].route.metric, $1.offset) }
                .map(\.element)
        }
        self.entries = entries; prefixes4 = p4; prefixes6 = p6; tables4 = t4; tables6 = t6
    }

    // MARK: devices

    func device(_ i: Int32) -> Device? { i > 0 ? devices[i] : nil }
    func name(_ i: Int32) -> String? { device(i)?.link.name }

    /// l3mdev_master_ifindex.
    func l3mdevMaster(_ i: Int32) -> Int32 {
        guard let d = device(i) else { return 0 }
        if d.link.isVRF { return i }
        if let m = d.link.master, let md = device(m), md.link.isVRF { return m }
        return 0
    }

    /// l3mdev_master_dev_rcu (the VRF of an enslaved device, not the VRF itself).
    func enslavingVRF(_ i: Int32) -> Int32 {
        guard let d = device(i), let m = d.link.master, let md = device(m), md.link.isVRF else { return 0 }
        return m
    }

    // MARK: flows and policy rules

    struct Flow {
        var dst: UInt128
        var src: UInt128
        var iif: Int32
        var oif: Int32
        var l3mdev: Int32 = 0
        var l3mdevFromOif = false
        var mark: UInt32 = 0
        var tos: UInt8 = 0
        var proto: UInt8 = 0
        var sport: UInt16 = 0
        var dport: UInt16 = 0
        var uid: UInt32 = 0
        var hasSaddr = false
    }

    struct Hit: Equatable {
        var entry: Int
        var nh: Int
        var prefixLen: UInt8
        var table: UInt32
    }

    struct Outcome {
        var error: KernelError?
        var hit: Hit?
        var rule: UInt32?
        var rejectType: RouteType?
        static let again = Outcome(error: .EAGAIN)
    }

    /// l3mdev_update_flow.
    func updateL3mdev(_ fl: inout Flow) {
        if fl.oif != 0, device(fl.oif) != nil {
            if fl.l3mdev == 0 { fl.l3mdev = l3mdevMaster(fl.oif); fl.l3mdevFromOif = true }
            if device(fl.oif)!.link.isVRF { fl.oif = 0 }
            return
        }
        if fl.iif > loopback && fl.l3mdev == 0 { fl.l3mdev = l3mdevMaster(fl.iif) }
    }

    /// A rule's device selector: 0 none, -1 a device that is not there, else its index.
    func ruleDevice(_ name: String?, detached: Bool) -> Int32 {
        guard let name else { return 0 }
        if detached { return -1 }
        return names[name] ?? -1
    }

    /// fib_rule_match with fib4_rule_match / fib6_rule_match; the table an l3mdev rule
    /// looks up comes back in `table`.
    func ruleMatches(_ r: Rule, _ fl: Flow, table: inout UInt32) -> Bool {
        let v6 = r.family == .v6
        func match() -> Bool {
            let iif = ruleDevice(r.iif, detached: r.flags & RuleFlags.iifDetached != 0)
            if iif != 0 {
                if iif > 0, device(iif)?.link.isVRF == true { if fl.l3mdevFromOif || fl.l3mdev != iif { return false } }
                else if iif != fl.iif { return false }
            }
            let oif = ruleDevice(r.oif, detached: r.flags & RuleFlags.oifDetached != 0)
            if oif != 0 {
                if oif > 0, device(oif)?.link.isVRF == true { if !fl.l3mdevFromOif || fl.l3mdev != oif { return false } }
                else if oif != fl.oif { return false }
            }
            let mask = r.fwmark != nil ? (r.fwmask ?? 0xffff_ffff) : (r.fwmask ?? 0)
            if ((r.fwmark ?? 0) ^ fl.mark) & mask != 0 { return false }
            if r.l3mdev {
                guard fl.l3mdev != 0, let d = device(fl.l3mdev), d.link.isVRF, let t = d.link.vrfTable else { return false }
                table = t
            }
            if let u = r.uidrange, !u.contains(fl.uid) { return false }
            if let p = r.dst, (fl.dst ^ p.address.bits) & p.mask != 0 { return false }
            if let p = r.src {
                // an IPv6 source selector needs a source (RT6_LOOKUP_F_HAS_SADDR)
                if v6 && p.mask != 0 && !fl.hasSaddr { return false }
                if (fl.src ^ p.address.bits) & p.mask != 0 { return false }
            }
            if r.tos != 0 && r.tos & 0xfc != fl.tos & (v6 ? 0xfc : 0x1c) { return false }
            if let p = r.ipproto, p != 0, p != fl.proto { return false }
            if let p = r.sport, !p.contains(fl.sport) { return false }
            if let p = r.dport, !p.contains(fl.dport) { return false }
            return true
        }
        return match() != r.invert
    }

    /// fib_rules_lookup: each rule in order; goto jumps to the first rule of the target
    /// priority, nop goes on; a table action's -EAGAIN (no route, a throw route) goes on, as
    /// does a suppressed result.
    func fibRules(_ rules: [Rule], _ fl: Flow, lookup: (UInt32) -> Outcome, suppressed: (Rule, Hit) -> Bool) -> Outcome {
        var i = 0
        while i < rules.count {
            let r = rules[i]
            var table = r.table
            guard ruleMatches(r, fl, table: &table) else { i += 1; continue }
            switch r.action {
            case RuleAction.goto:
                if let t = r.gotoTarget, let j = rules.firstIndex(where: { $0.priority == t }) { i = j } else { i += 1 }
            case RuleAction.nop:
                i += 1
            case RuleAction.toTable:
                var o = lookup(table)
                if o.error == nil, let h = o.hit, suppressed(r, h) { i += 1; continue }
                if o.error == .EAGAIN { i += 1; continue }
                o.rule = r.priority
                return o
            case RuleAction.unreachable:
                return Outcome(error: .ENETUNREACH, rule: r.priority, rejectType: .unreachable)
            case RuleAction.prohibit:
                return Outcome(error: .EACCES, rule: r.priority, rejectType: .prohibit)
            default:
                return Outcome(error: .EINVAL, rule: r.priority, rejectType: .blackhole)
            }
        }
        return Outcome(error: .ENETUNREACH)
    }

    /// fib_rule_suppress (both families): a prefix no longer than suppress_prefixlength.
    func suppressedByPrefix(_ r: Rule, _ h: Hit) -> Bool {
        if let p = r.suppressPrefixlen, p >= 0, Int(h.prefixLen) <= Int(p) { return true }
        return false
    }
    /// The rule's suppress_ifgroup, if any (each family's lookup judges the device).
    func ifgroup(_ r: Rule) -> Int64? {
        guard let g = r.suppressIfgroup, g != UInt32.max else { return nil }
        return Int64(g)
    }
}

// MARK: IPv4

extension ReferenceFIB {
    static func rejectError4(_ t: RouteType) -> KernelError {
        switch t {
        case .unreachable: .EHOSTUNREACH
        case .prohibit: .EACCES
        case .throw: .EAGAIN
        default: .EINVAL
        }
    }

    /// fib_table_lookup: from the longest prefix containing `dst` to the shortest, the first
    /// alias whose tos fits and that has a usable nexthop (check_leaf); a reject route
    /// answers with its error. A route on a nexthop object without a usable nexthop ends the
    /// prefix, and the shorter prefixes of the same key are passed over.
    func tableLookup4(_ table: UInt32, dst: UInt32, tos: UInt8, oif: Int32, ignoreLinkstate: Bool) -> Outcome {
        guard tables4.contains(table) else { return .again }
        var skipKey: UInt32? = nil
        for len in stride(from: 32, through: 0, by: -1) {
            let key = len == 0 ? 0 : dst & ~UInt32(0) << UInt32(32 - len)
            guard let aliases = prefixes4[PrefixKey(table: table, length: UInt8(len), bits: UInt128(key))] else { continue }
            if let s = skipKey, s == key { continue }
            skipKey = nil
            aliases: for i in aliases {
                let e = entries[i]
                let rtos = e.route.tos
                if rtos != 0 && rtos & 0xfc != tos & 0x1c { continue }
                let hit = Hit(entry: i, nh: -1, prefixLen: UInt8(len), table: table)
                if e.isReject {
                    return Outcome(error: Self.rejectError4(e.route.type), hit: hit, rejectType: e.route.type)
                }
                if e.dead { continue }
                if e.blackholeObject { return Outcome(error: .EINVAL, hit: hit, rejectType: .blackhole) }
                for (k, p) in e.paths.enumerated() {
                    if p.dead { continue }
                    if p.linkdown && !ignoreLinkstate, let d = device(p.dev), d.v4.ignoreRoutesWithLinkdown { continue }
                    if oif != 0 && oif != p.dev { continue }
                    var h = hit
                    h.nh = k
                    return Outcome(hit: h)
                }
                if e.usesObject { skipKey = key; break aliases }
            }
        }
        return .again
    }

    /// fib_lookup: local and main (merged), then default, without custom rules; else the
    /// policy rules (fib4_rule_action, fib4_rule_suppress).
    func fibLookup4(_ fl: inout Flow, ignoreLinkstate: Bool = false) -> Outcome {
        let dst = UInt32(truncatingIfNeeded: fl.dst)
        if merged4 {
            var o = tableLookup4(Table.main, dst: dst, tos: fl.tos, oif: fl.oif, ignoreLinkstate: ignoreLinkstate)
            if o.error != .EAGAIN {
                if let h = o.hit { o.rule = entries[h.entry].route.table == Table.local ? 0 : 32766 }
                return o
            }
            o = tableLookup4(Table.default, dst: dst, tos: fl.tos, oif: fl.oif, ignoreLinkstate: ignoreLinkstate)
            if o.error == .EAGAIN { o.error = .ENETUNREACH } else { o.rule = 32767 }
            return o
        }
        updateL3mdev(&fl)
        let flow = fl
        return fibRules(rules4, flow, lookup: {
            tableLookup4($0, dst: dst, tos: flow.tos, oif: flow.oif, ignoreLinkstate: ignoreLinkstate)
        }, suppressed: { r, h in
            if suppressedByPrefix(r, h) { return true }
            if let g = ifgroup(r), let p = entries[h.entry].paths.first, let d = device(p.dev), Int64(d.link.group) == g { return true }
            return false
        })
    }

    /// inet_select_addr.
    func selectAddr4(_ dev: Int32, dst: UInt32, scope: UInt8) -> UInt32 {
        var first: UInt32 = 0
        if let d = device(dev) {
            let localnet: UInt8 = d.v4.routeLocalnet ? Scope.link : Scope.host
            for a in d.addrs4 where a.flags & AddressFlags.secondary == 0 && min(a.scope, localnet) <= scope {
                let mask = UInt32(truncatingIfNeeded: IPPrefix.mask(Int(a.prefixlen), 32))
                if dst == 0 || (dst ^ a.local.v4) & mask == 0 { return a.local.v4 }
                if first == 0 { first = a.local.v4 }
            }
            if first != 0 { return first }
        }
        // in_dev_select_addr on the VRF, then on every device of the same l3 domain
        func onDevice(_ d: Device) -> UInt32? {
            d.addrs4.first { $0.flags & AddressFlags.secondary == 0 && $0.scope != Scope.link && $0.scope <= scope }?.local.v4
        }
        let master = l3mdevMaster(dev)
        if master != 0, let m = device(master), let a = onDevice(m) { return a }
        for l in ns.links where l3mdevMaster(l.index) == master {
            if let d = device(l.index), let a = onDevice(d) { return a }
        }
        return 0
    }

    /// fib_result_prefsrc.
    func prefsrc4(_ e: Entry, _ p: Path) -> UInt32 {
        if let s = e.route.prefsrc { return s.v4 }
        let gw = (p.gateway ?? p.localGateway).flatMap { $0.family == .v4 ? $0.v4 : nil } ?? 0
        let scope = e.usesObject ? (p.gateway != nil ? Scope.link : Scope.host) - 1 : e.route.scope
        return selectAddr4(p.dev, dst: gw, scope: scope)
    }

    /// __ip_dev_find: the device of a local address.
    func deviceOf4(_ a: UInt32) -> Int32? {
        for l in ns.links { if let d = device(l.index), d.addrs4.contains(where: { $0.local.v4 == a }) { return l.index } }
        let o = tableLookup4(merged4 ? Table.main : Table.local, dst: a, tos: 0, oif: 0, ignoreLinkstate: false)
        if o.error == nil, let h = o.hit, entries[h.entry].route.type == .local { return entries[h.entry].paths[h.nh].dev }
        return nil
    }

    func isZeronet4(_ a: UInt32) -> Bool { ns.kernel.zeronetIsSlash8 ? a >> 24 == 0 : a == 0 }
    static func isMulticast4(_ a: UInt32) -> Bool { a >> 28 == 0xe }
    static func isLocalMulticast4(_ a: UInt32) -> Bool { a & 0xffff_ff00 == 0xe000_0000 }
    static func isLoopback4(_ a: UInt32) -> Bool { a >> 24 == 127 }

    /// fib_select_multipath's candidates (see RoutingModel.hashCandidate4 for why a linkdown
    /// path stays one).
    func multipathCandidate4(_ e: Entry, _ p: Path) -> Bool {
        if e.usesObject { return !p.dead }
        if let d = device(p.dev), !d.link.adminUp { return false }
        return !(p.dead && !p.linkdown)
    }

    /// fib_select_default's candidates: the default routes of the same metric, tos and
    /// scope as the one found, live, unicast, one nexthop with a gateway.
    func defaultCandidates4(_ h: Hit, tos: UInt8) -> [(entry: Int, nh: Int)] {
        let first = entries[h.entry].route
        var out: [(entry: Int, nh: Int)] = []
        for i in prefixes4[PrefixKey(table: h.table, length: 0, bits: 0)] ?? [] {
            let e = entries[i], r = e.route
            if r.tos != 0 && r.tos & 0xfc != tos & 0x1c { continue }
            if r.metric != first.metric || r.tos != first.tos || e.dead || r.type != .unicast || r.scope != first.scope { continue }
            if e.paths.count != 1 || e.paths[0].gateway == nil { continue }
            out.append((i, 0))
        }
        return out.count > 1 ? out : [(h.entry, h.nh)]
    }

    /// ip_route_output_key_hash_rcu, fib_select_path and __mkroute_output.
    func output4(_ q: RouteQuery, oif: Int32) -> RouteResult {
        let given = q.src?.v4 ?? 0
        var daddr = q.dst.v4, saddr = given
        let proto = q.ipproto == 0 ? 17 : q.ipproto
        var fl = Flow(dst: UInt128(daddr), src: UInt128(saddr), iif: loopback, oif: oif, mark: q.mark, tos: q.tos, proto: proto,
                      sport: q.sport, dport: q.dport, uid: q.uid ?? 0)
        var res = RouteResult(query: q.line, family: .v4, dst: q.dst)
        func fail(_ e: KernelError, _ o: Outcome? = nil) -> RouteResult {
            RouteResult.failure(q, e, rule: o?.rule, type: o?.rejectType)
        }
        var type = RouteType.unicast, devOut: Int32 = 0, local = false
        var hit: Hit? = nil, rule: UInt32? = nil, l3mdev: Int32 = 0, multipath = false, alternatives = false
        route: do {
            if saddr != 0 {
                if Self.isMulticast4(saddr) || saddr == 0xffff_ffff || isZeronet4(saddr) { return fail(.EINVAL) }
                if oif == 0 && (Self.isMulticast4(daddr) || daddr == 0xffff_ffff) {
                    guard let d = deviceOf4(saddr) else { return fail(.ENETUNREACH) }
                    devOut = d; fl.oif = d
                    break route
                }
                if deviceOf4(saddr) == nil { return fail(.ENETUNREACH) }
            }
            if oif != 0 {
                guard let d = device(oif) else { return fail(.ENODEV) }
                if !d.link.adminUp { return fail(.ENETUNREACH) }
                devOut = oif
                if Self.isLocalMulticast4(daddr) || daddr == 0xffff_ffff || q.ipproto == 2 {
                    if saddr == 0 { saddr = selectAddr4(oif, dst: 0, scope: Scope.link) }
                    break route
                }
                if saddr == 0 {
                    if Self.isMulticast4(daddr) { saddr = selectAddr4(oif, dst: 0, scope: Scope.universe) }
                    else if daddr == 0 { saddr = selectAddr4(oif, dst: 0, scope: Scope.host) }
                }
            }
            if daddr == 0 {
                daddr = saddr == 0 ? 0x7f00_0001 : saddr
                if saddr == 0 { saddr = daddr }
                devOut = loopback; fl.oif = loopback
                type = .local; local = true
                break route
            }
            fl.src = UInt128(saddr)
            let o = fibLookup4(&fl)
            rule = o.rule
            l3mdev = fl.l3mdev
            if let e = o.error {
                if fl.oif != 0 && (Self.isMulticast4(daddr) || fl.l3mdev == 0) {
                    if saddr == 0 { saddr = selectAddr4(devOut, dst: 0, scope: Scope.link) }
                    type = .unicast
                    break route
                }
                return fail(e, o)
            }
            guard let h = o.hit else { return fail(.ENETUNREACH) }
            hit = h
            let e = entries[h.entry], p = e.paths[h.nh]
            type = e.route.type
            if type == .local {
                if saddr == 0 { saddr = e.route.prefsrc?.v4 ?? daddr }
                let vrf = enslavingVRF(p.dev)
                devOut = vrf != 0 ? vrf : loopback
                local = true
                break route
            }
            if fl.oif == 0 {
                if e.paths.count > 1 { multipath = true }
                else if h.prefixLen == 0 && type == .unicast && (prefixes4[PrefixKey(table: h.table, length: 0, bits: 0)]?.count ?? 0) > 1 {
                    alternatives = true
                }
            }
            devOut = p.dev
            if saddr == 0 && !multipath {
                saddr = l3mdev == 0 || enslavingVRF(p.dev) == l3mdev ? prefsrc4(e, p) : selectAddr4(l3mdev, dst: 0, scope: Scope.link)
            }
        }
        if Self.isLoopback4(saddr) {
            // (the answer keeps the rule the lookup went through)
            guard let d = device(devOut) else { return RouteResult.failure(q, .ENODEV, rule: rule) }
            if !d.link.isLoopback && !d.link.isVRF && !d.v4.routeLocalnet { return RouteResult.failure(q, .EINVAL, rule: rule) }
        }
        if daddr == 0xffff_ffff { type = .broadcast } else if Self.isMulticast4(daddr) { type = .multicast }
        res.type = type
        res.rule = rule
        res.dev = name(devOut)
        var src = saddr
        if let h = hit {
            let e = entries[h.entry]
            res.table = h.table == 0 ? nil : h.table
            // __mkroute_output keeps no fib_info for broadcasts and short multicast prefixes
            let useFi = type != .broadcast && !(type == .multicast && h.prefixLen < 4)
            if useFi && !local { res.gateway = e.paths[h.nh].gateway }
            if multipath || alternatives {
                let candidates = multipath ? e.paths.indices.filter { multipathCandidate4(e, e.paths[$0]) }.map { (entry: h.entry, nh: $0) }
                    : defaultCandidates4(h, tos: q.tos)
                let paths = candidates.map { c -> RoutePath in
                    let ce = entries[c.entry], p = ce.paths[c.nh]
                    let s = given != 0 ? given
                        : l3mdev == 0 || enslavingVRF(p.dev) == l3mdev ? prefsrc4(ce, p) : selectAddr4(l3mdev, dst: 0, scope: Scope.link)
                    var rp = RoutePath(dev: name(p.dev) ?? "if\(p.dev)", gateway: useFi ? p.gateway : nil, weight: p.weight,
                                       prefsrc: IPAddress(v4: s))
                    rp.nexthop = c.nh
                    if c.entry != h.entry { rp.route = ce.position }
                    return rp
                }
                if paths.count > 1 {
                    res.multipath = paths
                    if Set(paths.map(\.dev)).count > 1 { res.dev = nil }
                    if Set(paths.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
                    let srcs = Set(paths.map { $0.prefsrc?.description ?? "" })
                    src = srcs.count == 1 ? paths[0].prefsrc?.v4 ?? 0 : 0
                } else if let p = paths.first {
                    res.dev = p.dev; res.gateway = p.gateway; src = p.prefsrc?.v4 ?? 0
                }
            }
        }
        if src != 0 && src != given { res.prefsrc = IPAddress(v4: src) }
        return res
    }

    enum Verdict { case ok, invalid, rpfFailed }

    /// fib_validate_source / __fib_validate_source; `hostScope`: the route back to the source
    /// has a nexthop without gateway (the source is on-link).
    func validateSource4(src: UInt32, dst: UInt32, tos: UInt8, oif: Int32, dev: Device, q: RouteQuery) -> (Verdict, hostScope: Bool) {
        let rpf = dev.v4.rpFilter
        let index = dev.link.index
        if rpf == 0 && (index != oif || !(dev.v4.forwarding && dev.v4.sendRedirects)) {
            if dev.v4.acceptLocal { return (.ok, false) }
            // only the kernel's own local routes, in the merged table: no lookup, a local
            // source is refused
            let customLocal = ns.routes.contains { $0.family == .v4 && $0.type == .local && ($0.table != Table.local || $0.protocol != 2) }
            if !customLocal && merged4 {
                let local = devices.values.contains { $0.addrs4.contains { $0.local.v4 == src } }
                return (local ? .invalid : .ok, false)
            }
        }
        var fl = Flow(dst: UInt128(src), src: UInt128(dst), iif: oif != 0 ? oif : loopback, oif: 0,
                      mark: dev.v4.srcValidMark ? q.mark : 0, tos: tos)
        fl.l3mdev = l3mdevMaster(index)
        if requiresDissect4 {
            fl.proto = q.ipproto == 0 ? 17 : q.ipproto
            if fl.proto == 6 || fl.proto == 17 { fl.sport = q.dport; fl.dport = q.sport }
        }
        var f1 = fl
        let o = fibLookup4(&f1)
        guard o.error == nil, let h = o.hit else { return (rpf != 0 ? .rpfFailed : .ok, false) }
        let e = entries[h.entry]
        if e.route.type != .unicast && (e.route.type != .local || !dev.v4.acceptLocal) { return (.invalid, false) }
        if e.paths.contains(where: { $0.dev == index }) || (e.route.type == .local && dev.link.isLoopback) {
            return (.ok, !e.paths.isEmpty && e.paths[h.nh].gateway == nil)
        }
        if dev.addrs4.isEmpty { return (rpf != 0 ? .rpfFailed : .ok, false) }
        if rpf == 1 { return (.rpfFailed, false) }
        // loose: the lookup through the input device only decides the scope
        var f2 = fl
        f2.oif = index
        let o2 = fibLookup4(&f2, ignoreLinkstate: true)
        if o2.error == nil, let h2 = o2.hit, entries[h2.entry].route.type == .unicast {
            let e2 = entries[h2.entry]
            return (.ok, !e2.paths.isEmpty && e2.paths[h2.nh].gateway == nil)
        }
        return (.ok, false)
    }

    /// fib_rule_requires_fldissect for IPv4: a rule (not on iif lo) with ipproto or ports.
    var requiresDissect4: Bool {
        rules4.contains { r in
            ruleDevice(r.iif, detached: r.flags & RuleFlags.iifDetached != 0) != loopback
                && ((r.ipproto ?? 0) != 0 || r.sport != nil || r.dport != nil)
        }
    }

    /// ip_route_input_slow, ip_mkroute_input / __mkroute_input.
    func input4(_ q: RouteQuery, iif: Int32) -> RouteResult {
        guard let dev = device(iif) else { return RouteResult.failure(q, .ENODEV) }
        var res = RouteResult(query: q.line, family: .v4, dst: q.dst)
        res.iif = dev.link.name
        let daddr = q.dst.v4, saddr = q.src?.v4 ?? 0
        func fail(_ e: KernelError, _ o: Outcome? = nil) -> RouteResult {
            var r = RouteResult.failure(q, e, rule: o?.rule, type: o?.rejectType)
            r.iif = dev.link.name
            return r
        }
        func validate(_ dst: UInt32, oif: Int32 = 0) -> Verdict { validateSource4(src: saddr, dst: dst, tos: q.tos, oif: oif, dev: dev, q: q).0 }
        func localInput(_ type: RouteType, _ nhDev: Int32, _ h: Hit?, _ rule: UInt32?) -> RouteResult {
            var r = res
            r.type = type
            let vrf = nhDev != 0 ? enslavingVRF(nhDev) : 0
            r.dev = name(vrf != 0 ? vrf : loopback)
            r.table = h.flatMap { $0.table == 0 ? nil : $0.table }
            r.rule = rule
            return r
        }
        if Self.isMulticast4(daddr) {
            // ip_route_input_mc: only 224.0.0.1 is taken as joined, on every device that is up
            guard daddr == 0xe000_0001 && dev.link.adminUp else { return fail(.EINVAL) }
            if Self.isMulticast4(saddr) || saddr == 0xffff_ffff { return fail(.EINVAL) }
            if Self.isLoopback4(saddr) && !dev.v4.routeLocalnet { return fail(.EINVAL) }
            if !isZeronet4(saddr) && validate(0) != .ok { return fail(.EINVAL) }
            var r = res
            r.type = .multicast; r.dev = name(loopback)
            return r
        }
        if Self.isMulticast4(saddr) || saddr == 0xffff_ffff { return fail(.EINVAL) }
        if daddr == 0xffff_ffff || (saddr == 0 && daddr == 0) {
            if !isZeronet4(saddr) && validate(0) != .ok { return fail(.EINVAL) }
            return localInput(.broadcast, 0, nil, nil)
        }
        if isZeronet4(saddr) || daddr == 0 { return fail(.EINVAL) }
        if (Self.isLoopback4(daddr) || Self.isLoopback4(saddr)) && !dev.v4.routeLocalnet { return fail(.EINVAL) }
        var fl = Flow(dst: UInt128(daddr), src: UInt128(saddr), iif: iif, oif: 0, mark: q.mark, tos: q.tos)
        if requiresDissect4 {
            fl.proto = q.ipproto == 0 ? 17 : q.ipproto
            if fl.proto == 6 || fl.proto == 17 { fl.sport = q.sport; fl.dport = q.dport }
        }
        let o = fibLookup4(&fl)
        if let e = o.error { return fail(dev.v4.forwarding ? e : .EHOSTUNREACH, o) }
        guard let h = o.hit else { return fail(.ENETUNREACH) }
        let e = entries[h.entry]
        if e.route.type == .broadcast {
            if dev.v4.bcForwarding { return forward4(q, dev, h, o.rule, res) }
            if !isZeronet4(saddr) && validate(0) != .ok { return fail(.EINVAL) }
            return localInput(.broadcast, 0, h, o.rule)
        }
        if e.route.type == .local {
            if validate(daddr) != .ok { return fail(.EINVAL) }
            return localInput(.local, e.paths[h.nh].dev, h, o.rule)
        }
        if !dev.v4.forwarding { return fail(.EHOSTUNREACH) }
        if e.route.type != .unicast { return fail(.EINVAL) }
        return forward4(q, dev, h, o.rule, res)
    }

    /// __mkroute_input: each path the hash may choose, with its source validation.
    func forward4(_ q: RouteQuery, _ dev: Device, _ h: Hit, _ rule: UInt32?, _ base: RouteResult) -> RouteResult {
        let e = entries[h.entry]
        var sels = [h.nh]
        if e.paths.count > 1 {
            sels = e.paths.indices.filter { multipathCandidate4(e, e.paths[$0]) }
            if sels.isEmpty { sels = [h.nh] }
        }
        let errors: [KernelError?] = sels.map { k in
            validateSource4(src: q.src?.v4 ?? 0, dst: q.dst.v4, tos: q.tos, oif: e.paths[k].dev, dev: dev, q: q).0 == .ok ? nil : .EINVAL
        }
        if let first = errors[0], errors.allSatisfy({ $0 == first }) {
            var f = RouteResult.failure(q, first, rule: rule)
            f.iif = dev.link.name
            return f
        }
        var res = base
        res.type = e.route.type == .broadcast ? .broadcast : .unicast
        res.rule = rule
        res.table = h.table
        let ok = sels.indices.first { errors[$0] == nil } ?? 0
        let p = e.paths[sels[ok]]
        res.dev = name(p.dev)
        res.gateway = p.gateway
        if sels.count > 1 {
            res.multipath = sels.enumerated().map { i, k in
                let p = e.paths[k]
                var rp = RoutePath(dev: name(p.dev) ?? "if\(p.dev)", gateway: p.gateway, weight: p.weight)
                rp.error = errors[i]
                rp.nexthop = k
                return rp
            }
            if Set(res.multipath.map(\.dev)).count > 1 { res.dev = nil }
            if Set(res.multipath.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
        }
        return res
    }
}

// MARK: IPv6

extension ReferenceFIB {
    static func rejectError6(_ t: RouteType) -> KernelError? {
        switch t {
        case .blackhole: .EINVAL
        case .prohibit: .EACCES
        case .throw: .EAGAIN
        case .unreachable: .EHOSTUNREACH
        default: nil
        }
    }
    static func isMulticast6(_ a: UInt128) -> Bool { a >> 120 == 0xff }
    static func needStrict6(_ a: UInt128) -> Bool { isMulticast6(a) || a >> 118 == 0x3fa || a == 1 }

    /// rt6_score_route: -1 when the nexthop cannot be used, else the device match (2) and
    /// the router preference (decoded: high 3, medium 2, low 1) above it.
    func score6(_ e: Entry, _ p: Path, oif: Int32, strict: Bool) -> Int {
        if p.dead { return -1 }
        if p.linkdown, let d = device(p.dev), d.v6.ignoreRoutesWithLinkdown { return -1 }
        var m = oif == 0 || p.dev == oif ? 2 : 0
        if m == 0 && strict { return -1 }
        let pref = e.route.pref.map { $0 == 2 ? 0 : Int($0 ^ 2) } ?? 2
        m |= pref << 2
        return m
    }

    /// rt6_select / find_rr_leaf: the best scoring nexthop among the routes of the first
    /// metric, or, when none scores, among the routes of the other metrics.
    func select6(_ node: [Int], oif: Int32, strict: Bool) -> (entry: Int, nh: Int)? {
        guard let first = node.first else { return nil }
        let metric = entries[first].route.metric
        var best: (entry: Int, nh: Int)? = nil, bestScore = -1
        func consider(_ i: Int) {
            let e = entries[i]
            for (k, p) in e.paths.enumerated() {
                let s = score6(e, p, oif: oif, strict: strict)
                if s > bestScore {
                    bestScore = s; best = (i, k)
                    if e.usesObject { break }
                }
            }
        }
        let firstMetric = node.prefix { entries[$0].route.metric == metric }
        for i in firstMetric { consider(i) }
        if best == nil { for i in node.dropFirst(firstMetric.count) { consider(i) } }
        return best
    }

    /// fib6_table_lookup: fib6_node_lookup down to the longest prefix, source subtrees, and
    /// fib6_backtrack up the shorter ones.
    func tableLookup6(_ table: UInt32, dst: UInt128, src: UInt128, oif: Int32, strict: Bool) -> Outcome {
        guard tables6.contains(table) else { return .again }
        var landed = false
        for len in stride(from: 128, through: 0, by: -1) {
            let key = dst & IPPrefix.mask(len, 128)
            guard let node = prefixes6[PrefixKey(table: table, length: UInt8(len), bits: key)] else { continue }
            func answer(_ g: [Int]) -> Outcome? {
                guard let (i, k) = select6(g, oif: oif, strict: strict) else { return nil }
                let e = entries[i]
                let hit = Hit(entry: i, nh: k, prefixLen: UInt8(len), table: e.route.table)
                if let err = Self.rejectError6(e.route.type) { return Outcome(error: err, hit: hit, rejectType: e.route.type) }
                if e.usesObject && e.blackholeObject { return Outcome(error: .EINVAL, hit: hit, rejectType: .blackhole) }
                return Outcome(hit: hit)
            }
            if !node.contains(where: { (entries[$0].route.src?.length ?? 0) > 0 }) {
                landed = true
                if let o = answer(node) { return o }
                continue
            }
            // A node with a source subtree: its routes by source prefix, longest first, those
            // whose source prefix holds the flow's source. Entered from fib6_node_lookup only
            // when a source prefix matches (the table root always); from fib6_backtrack also
            // without one (then its routes without source are tried).
            var byLen: [UInt8: [Int]] = [:]
            var matched = false
            for i in node {
                let sp = entries[i].route.src ?? IPPrefix.any(.v6)
                guard (src ^ sp.address.bits) & sp.mask == 0 else { continue }
                if sp.length > 0 { matched = true }
                byLen[sp.length, default: []].append(i)
            }
            guard matched || landed || len == 0 else { continue }
            if matched { landed = true }
            for l in byLen.keys.sorted(by: >) { if let o = answer(byLen[l]!) { return o } }
        }
        return .again
    }

    /// fib6_select_path's candidates (nexthop groups: every live member).
    func hashCandidates6(_ h: Hit, oif: Int32, strict: Bool) -> [Int] {
        let e = entries[h.entry]
        guard e.paths.count > 1 else { return [h.nh] }
        return e.paths.indices.filter { k in
            let p = e.paths[k]
            if e.usesObject { return !p.dead }
            if k == h.nh { return true }
            if let d = device(p.dev), !d.link.adminUp { return false }
            if p.dead && !p.linkdown { return false }
            return !(strict && oif != 0 && p.dev != oif)
        }
    }

    /// ip6_rt_get_dev_rcu: local and anycast routes answer on the loopback or the VRF.
    func resultDev6(_ e: Entry, _ p: Path) -> Int32 {
        if e.route.type == .local || e.route.type == .anycast {
            let vrf = enslavingVRF(p.dev)
            if vrf != 0 && !Self.needStrict6(e.route.dst.address.bits) { return vrf }
            if device(p.dev)?.link.isVRF != true { return loopback }
        }
        return p.dev
    }

    /// The IPv6 rules are the two default ones (local, main), plain.
    var defaultRules6: Bool {
        rules6.count == 2 && zip(rules6, [(UInt32(0), Table.local), (UInt32(32766), Table.main)]).allSatisfy { r, d in
            r.priority == d.0 && r.table == d.1 && r.action == RuleAction.toTable && r.hasNoSelector && !r.l3mdev
        }
    }

    /// The interface groups of the IPv6 table rules with suppress_ifgroup.
    var suppressedGroups6: Set<Int64> {
        Set(rules6.filter { $0.action == RuleAction.toTable }.compactMap { ifgroup($0) })
    }

    /// fib6_rule_lookup: local then main without custom rules; else the rules
    /// (fib6_rule_action, fib6_rule_suppress). A suppress_ifgroup rule judges the device of
    /// the path the hash chose: `anyCandidate` false suppresses a result when every path the
    /// hash may choose is in the group, true when one is.
    func fibLookup6(_ fl: inout Flow, input: Bool, strict: Bool, anyCandidate: Bool = false) -> Outcome {
        let defaults = defaultRules6
        if defaults {
            let oif = input ? fl.iif : fl.oif
            var o = tableLookup6(Table.local, dst: fl.dst, src: fl.src, oif: oif, strict: strict)
            if o.error != .EAGAIN { o.rule = 0; return o }
            o = tableLookup6(Table.main, dst: fl.dst, src: fl.src, oif: oif, strict: strict)
            if o.error == .EAGAIN { o.error = .ENETUNREACH } else { o.rule = 32766 }
            return o
        }
        updateL3mdev(&fl)
        let flow = fl
        // the nexthops are scored against the flow's device after l3mdev_update_flow
        let oif = input ? flow.iif : flow.oif
        return fibRules(rules6, flow, lookup: { tableLookup6($0, dst: flow.dst, src: flow.src, oif: oif, strict: strict) },
                        suppressed: { r, h in
            if suppressedByPrefix(r, h) { return true }
            if let g = ifgroup(r) {
                let e = entries[h.entry]
                let inGroup = hashCandidates6(h, oif: oif, strict: strict).map { k in
                    device(resultDev6(e, e.paths[k])).map { Int64($0.link.group) == g } ?? false
                }
                return anyCandidate ? inGroup.contains(true) : inGroup.allSatisfy { $0 }
            }
            return false
        })
    }

    /// ip6_route_output / ip6_route_input_lookup as `ip route get` asks them.
    func route6(_ q: RouteQuery, oif: Int32, iif: Int32) -> RouteResult {
        let dst = q.dst.bits
        let input = iif != 0
        var fl = Flow(dst: dst, src: q.src?.bits ?? 0, iif: input ? iif : loopback, oif: input ? 0 : oif, mark: q.mark, tos: q.tos,
                      proto: q.ipproto, sport: q.sport, dport: q.dport, uid: q.uid ?? (input ? UInt32.max : 0))
        fl.hasSaddr = (q.src?.bits ?? 0) != 0
        if input { guard device(iif) != nil else { return RouteResult.failure(q, .ENODEV) } }
        else if oif != 0 && device(oif) == nil { return RouteResult.failure(q, .ENODEV) }
        let strict = Self.needStrict6(dst) || (!input && oif != 0 && !fl.hasSaddr)
        let scoringOif = input ? iif : oif
        var res = RouteResult(query: q.line, family: .v6, dst: q.dst)
        if input { res.iif = name(iif) }
        let flow = fl
        let o = fibLookup6(&fl, input: input, strict: strict)
        // Under suppress_ifgroup rules a multipath result may be suppressed for some of its
        // paths only: `alternate` answers when the hash picks one of those.
        var alternate: Outcome? = nil
        let groups = suppressedGroups6
        if !defaultRules6 && !groups.isEmpty {
            var f2 = flow
            let a = fibLookup6(&f2, input: input, strict: strict, anyCandidate: true)
            if a.error != o.error || a.hit?.entry != o.hit?.entry || a.rule != o.rule { alternate = a }
        }
        if let e = o.error {
            var f = RouteResult.failure(q, e == .EAGAIN ? .ENETUNREACH : e, rule: o.rule, type: o.rejectType)
            f.iif = res.iif
            return f
        }
        guard let h = o.hit else { return RouteResult.failure(q, .ENETUNREACH) }
        let e = entries[h.entry]
        if input && ns.kernel.ipv6MulticastRouting && Self.isMulticast6(e.route.dst.address.bits) {
            // rt6_fill_node asks ip6mr_get_route, which has no cache entry: EMSGSIZE
            var f = RouteResult.failure(q, .EMSGSIZE, rule: o.rule)
            f.iif = res.iif
            return f
        }
        let p = e.paths[h.nh]
        res.type = e.route.type
        res.table = e.route.table
        res.rule = o.rule
        res.dev = name(resultDev6(e, p))
        res.gateway = p.gateway
        if e.paths.count > 1 {
            let ks = hashCandidates6(h, oif: scoringOif, strict: strict)
            if ks.count > 1 {
                res.multipath = ks.map { k in
                    let p = e.paths[k]
                    var rp = RoutePath(dev: name(p.dev) ?? "if\(p.dev)", gateway: p.gateway, weight: p.weight)
                    rp.nexthop = k
                    if let a = alternate, let d = device(resultDev6(e, p)), groups.contains(Int64(d.link.group)) {
                        // the hash's choice of this path suppresses the result: the later rules answer
                        if let err = a.error { rp.error = err == .EAGAIN ? .ENETUNREACH : err }
                        else if let ah = a.hit {
                            let ae = entries[ah.entry], ap = ae.paths[ah.nh]
                            rp = RoutePath(dev: name(resultDev6(ae, ap)) ?? "if\(ap.dev)", gateway: ap.gateway, weight: p.weight)
                        }
                    }
                    return rp
                }
                if Set(res.multipath.map(\.dev)).count > 1 { res.dev = nil }
                if Set(res.multipath.map { $0.gateway?.description ?? "" }).count > 1 { res.gateway = nil }
            }
        }
        return res
    }
}

// MARK: entry point

extension ReferenceFIB {
    /// The answer to one `ip route get` query, or nil when the query names a device the
    /// namespace does not have (ip refuses it).
    public func routeGet(_ q: RouteQuery) -> RouteResult? {
        var oif: Int32 = 0, iif: Int32 = 0
        if let o = q.oif { guard let i = names[o] else { return nil }; oif = i }
        if let v = q.vrf {
            guard let i = names[v], device(i)?.link.isVRF == true else { return nil }
            oif = i
        }
        if let n = q.iif { guard let i = names[n] else { return nil }; iif = i }
        if q.family == .v4 { return iif != 0 ? input4(q, iif: iif) : output4(q, oif: oif) }
        return route6(q, oif: oif, iif: iif)
    }

    public func routeGet(line: String) -> RouteResult? {
        guard let q = try? RouteQuery.parse(line) else { return nil }
        return routeGet(q)
    }
}

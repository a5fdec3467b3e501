/// Per-namespace lookup structures built once from a `NamespaceSnapshot`: devices with their
/// addresses and routing sysctls, policy rules per family, and one `PrefixTable` per
/// (family, table). Pure data: no syscalls.
public final class RoutingModel: Sendable {
    public let namespace: String
    let links: [LinkInfo]
    /// ifindex → position in `links` (-1: none).
    let slotOf: [Int32]
    let byName: [String: Int32]
    let loopbackIndex: Int32
    public let rules4: [FIBRule]
    public let rules6: [FIBRule]
    let routes4: [FIBRoute]
    let routes6: [FIBRoute]
    let paths: [FIBNexthop]
    /// Hot, compact copies for the IPv4 lookup loop (fewer cache lines per lookup).
    let hot4: [RouteHot]
    let hot6: [RouteHot6]
    let pathHot: [PathHot]
    let tables4: [UInt32: PrefixTable<UInt32>]
    let tables6: [UInt32: PrefixTable<UInt128>]
    /// Tables 0...255 by id, so the common lookups need no hashing.
    let small4: [PrefixTable<UInt32>?]
    let small6: [PrefixTable<UInt128>?]
    /// small4 without reference counting in the lookup loop (the tables are held by tables4).
    let small4Unmanaged: [UnmanagedTable4?]
    /// Number of default (prefix length 0) routes per IPv4 table (fib_table.tb_num_default).
    let numDefault4: [UInt32: Int]
    let smallNumDefault4: [Int32]
    /// IPv4 with only the three default rules: the kernel keeps local and main in one trie
    /// (fib_has_custom_rules is false), so both are searched together and reported as main.
    public let merged4: Bool
    public let customRules6: Bool
    /// IPv6 rules with suppress_ifgroup, and their groups (see IfgroupSuppression).
    let ifgroupRules6: Bool
    let ifgroupSuppressors6: Set<Int64>
    let customLocalRoutes4: Bool
    let ipv6Forwarding: Bool
    let requireFlowDissect4: Bool
    /// The kernel's release and build options (the model's branches on them).
    public let kernel: KernelFacts
    /// kernel.zeronetIsSlash8, read on the lookup path.
    let zeronetIsSlash8: Bool
    /// Per prefix entry of every IPv4 table (at leafBase4 of the table + entry index): the
    /// first alias's route with its first path resolved, so the common lookup needs one
    /// memory access after the prefix table (see Leaf4).
    let leaves4: [Leaf4]
    let leafBase4: [UInt32: Int32]
    let smallLeafBase4: [Int32]
    /// Every rule, in order (the general lookups).
    let allRules4: RuleProgram
    let allRules6: RuleProgram
    /// The IPv4 rules an output lookup can match when it gives only a destination (iif lo,
    /// no oif, mark, tos, ports, uid or source; protocol UDP as inet_rtm_getroute sets it).
    let outputRules4: RuleProgram
    /// The tables with a /24 index such a lookup may consult (see decideOutput4(destinations:)).
    let touchTables4: [TouchTable4]
    /// Destination-only IPv4 output lookups decided per /24 block (see OutputBlockIndex4).
    let outputBlocks4: OutputBlockIndex4
    /// Each route's position in `snapshotRoutes`, by model route index (IPv4, IPv6).
    let origin4: [Int32], origin6: [Int32]
    /// The snapshot's routes (shared with the snapshot, not copied): what `ip route get`
    /// prints of a route beyond what the lookup needs (nexthop flags and ids, metrics).
    public let snapshotRoutes: [Route]
    /// Some IPv4 route has metrics (the batch fast path then checks each answer's route).
    let routesWithMetrics4: Bool

    public convenience init(_ ns: NamespaceSnapshot) {
        self.init(ns, forceUnmerged: false)
    }

    /// `outputIndexMinimum`: the fewest prefixes of the table for which OutputBlockIndex4 is
    /// built (tests lower it to check the index on small tables against the general path).
    init(_ ns: NamespaceSnapshot, forceUnmerged: Bool, outputIndexMinimum: Int = PrefixTable<UInt32>.dirThreshold) {
        namespace = ns.id
        kernel = ns.kernel
        zeronetIsSlash8 = ns.kernel.zeronetIsSlash8
        // Devices.
        var links: [LinkInfo] = []
        var maxIndex: Int32 = 0
        for l in ns.links { maxIndex = max(maxIndex, l.index) }
        var slot = [Int32](repeating: -1, count: Int(maxIndex) + 1)
        var byName: [String: Int32] = [:]
        var lo: Int32 = 1
        for l in ns.links {
            let info = LinkInfo(l, ipv4: ns.settings.effectiveIPv4(l.name), ipv6: ns.settings.effectiveIPv6(l.name))
            if l.isLoopback { lo = l.index }
            slot[Int(l.index)] = Int32(links.count)
            byName[l.name] = l.index
            links.append(info)
        }
        for a in ns.addresses {
            guard a.index >= 0, Int(a.index) < slot.count, slot[Int(a.index)] >= 0 else { continue }
            let s = Int(slot[Int(a.index)])
            if a.family == .v4 { links[s].addrs4.append(a) } else { links[s].addrs6.append(a) }  // built once, then frozen
        }
        self.links = links; self.slotOf = slot; self.byName = byName; loopbackIndex = lo

        // Rules.
        func buildRules(_ fam: IPAddress.Family) -> [FIBRule] {
            var rs = ns.rules.enumerated().filter { $0.element.family == fam }
            rs.sort { $0.element.priority != $1.element.priority ? $0.element.priority < $1.element.priority : $0.offset < $1.offset }
            var out = rs.map { FIBRule($0.element, byName: byName, links: links, slot: slot) }
            for i in out.indices where out[i].action == RuleAction.goto {
                if let t = out[i].gotoTarget, let j = out.firstIndex(where: { $0.priority == t }) { out[i].gotoIndex = j }
            }
            return out
        }
        rules4 = buildRules(.v4)
        rules6 = buildRules(.v6)
        // fib_rule_requires_fldissect: rules on `iif lo` never need the input packet dissected.
        requireFlowDissect4 = rules4.contains { $0.iif != lo && ($0.ipproto != 0 || $0.sport != nil || $0.dport != nil) }
        merged4 = !forceUnmerged && Rule.onlyDefaults4(ns.rules)
        let defaults6: [(UInt32, UInt32)] = [(0, Table.local), (32766, Table.main)]
        customRules6 = !(rules6.count == 2 && zip(rules6, defaults6).allSatisfy { r, d in
            r.priority == d.0 && r.table == d.1 && r.action == RuleAction.toTable && r.isPlain
        })
        ipv6Forwarding = ns.settings.forwardsIPv6
        ifgroupSuppressors6 = Set(rules6.filter { $0.suppressIfgroup >= 0 && $0.action == RuleAction.toTable }.map(\.suppressIfgroup))
        ifgroupRules6 = customRules6 && !ifgroupSuppressors6.isEmpty

        // Nexthop objects.
        var nhByID: [UInt32: Nexthop] = [:]
        for n in ns.nexthops { nhByID[n.id] = n }

        // Routes.
        var paths: [FIBNexthop] = []
        paths.reserveCapacity(ns.routes.count + ns.routes.count / 4)
        var routes4: [FIBRoute] = [], routes6: [FIBRoute] = []
        routes4.reserveCapacity(ns.routes.count)
        var items4: [UInt32: [(key: UInt32, length: UInt8, item: Int32)]] = [:]
        var items6: [UInt32: [(key: UInt128, length: UInt8, item: Int32)]] = [:]
        var numDefault: [UInt32: Int] = [:]
        var customLocal = false
        // In the merged IPv4 trie, local-table aliases sort before main-table aliases.
        let ordered: [Int]
        if merged4 {
            ordered = ns.routes.indices.filter { ns.routes[$0].family == .v4 && ns.routes[$0].table == Table.local }
                + ns.routes.indices.filter { !(ns.routes[$0].family == .v4 && ns.routes[$0].table == Table.local) }
        } else { ordered = Array(ns.routes.indices) }
        var origin4: [Int32] = [], origin6: [Int32] = []
        var withMetrics4 = false
        for position in ordered {
            let r = ns.routes[position]
            if r.family == .v4 { origin4.append(Int32(position)); withMetrics4 = withMetrics4 || r.metrics != nil }
            else { origin6.append(Int32(position)) }
            var fr = FIBRoute(r)
            fr.pathStart = Int32(paths.count)
            if let id = r.nhid {
                fr.usesObject = true
                if let o = nhByID[id] {
                    if o.blackhole { fr.blackholeObject = true }
                    if let g = o.group {
                        for m in g {
                            guard let mo = nhByID[m.id] else { continue }
                            if mo.blackhole { fr.blackholeObject = true }
                            paths.append(FIBNexthop(dev: mo.oif ?? 0, gateway: mo.gateway, weight: m.weight, flags: mo.flags))
                        }
                    } else if !o.blackhole {
                        paths.append(FIBNexthop(dev: o.oif ?? 0, gateway: o.gateway, weight: 1, flags: o.flags))
                    }
                }
            } else if let nhs = r.nexthops, !nhs.isEmpty {
                for n in nhs { paths.append(FIBNexthop(dev: n.oif ?? 0, gateway: n.gateway, weight: n.weight, flags: n.flags)) }
            } else {
                paths.append(FIBNexthop(dev: r.oif ?? 0, gateway: r.gateway, weight: 1, flags: r.flags & 0xff))
            }
            fr.pathCount = Int32(paths.count) - fr.pathStart
            if !fr.usesObject {
                // fib_info is dead when every nexthop is dead.
                var allDead = fr.pathCount > 0
                for p in Int(fr.pathStart)..<paths.count where paths[p].flags & NexthopFlags.dead == 0 { allDead = false }
                fr.dead = allDead && (fr.type == .unicast || fr.type == .local || fr.type == .broadcast || fr.type == .multicast || fr.type == .anycast)
            }
            if r.family == .v4 {
                if r.type == .local && (r.table != Table.local || r.protocol != 2) { customLocal = true }
                var table = r.table
                if merged4 && table == Table.local { table = Table.main }
                let idx = Int32(routes4.count)
                fr.lookupTable = table
                routes4.append(fr)
                items4[table, default: []].append((UInt32(truncatingIfNeeded: r.dst.address.bits), r.dst.length, idx))
                if r.dst.length == 0 { numDefault[table, default: 0] += 1 }
            } else {
                let idx = Int32(routes6.count)
                fr.lookupTable = r.table
                routes6.append(fr)
                items6[r.table, default: []].append((r.dst.address.bits, r.dst.length, idx))
            }
        }
        // A gateway that is a local address resolves with host scope (fib_check_nh): the
        // kernel then does not use it as a gateway (rt_uses_gateway stays 0).
        var local4 = Set<UInt32>()
        for l in links { for a in l.addrs4 { local4.insert(a.local.v4) } }
        for i in paths.indices {
            if let g = paths[i].gateway, g.family == .v4, local4.contains(g.v4) {
                paths[i].selectGateway = g; paths[i].gateway = nil
            }
        }
        self.paths = paths
        self.origin4 = origin4; self.origin6 = origin6; snapshotRoutes = ns.routes; routesWithMetrics4 = withMetrics4
        var ph = paths.map { PathHot(dev: $0.dev, flags: $0.flags, src: 0) }
        for r in routes4 where r.pathCount > 0 && !r.isReject {
            for k in Int(r.pathStart)..<Int(r.pathStart + r.pathCount) {
                ph[k].src = RoutingModel.resultPrefsrc4(links: links, slotOf: slot, r, paths[k])
            }
        }
        pathHot = ph
        self.routes4 = routes4; self.routes6 = routes6
        func linkOf(_ i: Int32) -> LinkInfo? {
            guard i > 0, Int(i) < slot.count, slot[Int(i)] >= 0 else { return nil }
            return links[Int(slot[Int(i)])]
        }
        allRules4 = RoutingModel.ruleProgram(rules4, shape: nil, v6: false, link: linkOf, tableExists: { _ in true })
        allRules6 = RoutingModel.ruleProgram(rules6, shape: nil, v6: true, link: linkOf, tableExists: { _ in true })
        // The flow fibLookup4 sees for `route get DST` (after l3mdev_update_flow: no oif,
        // iif lo, so no l3mdev).
        let shape = Flow(dst: 0, src: 0, iif: lo, oif: 0, mark: 0, tos: 0, proto: 17, sport: 0, dport: 0, uid: 0)
        let outputRules = RoutingModel.ruleProgram(rules4, shape: shape, v6: false, link: linkOf, tableExists: { items4[$0] != nil })
        outputRules4 = outputRules
        // The table the output block index answers from keeps no /24 index of its own: the
        // block index takes its place (see tableLookup4).
        let blockTarget = OutputBlockIndex4.target(rules: rules4, program: outputRules, merged: merged4, items: items4,
                                                   routes: routes4, minimumEntries: outputIndexMinimum)
        var t4: [UInt32: PrefixTable<UInt32>] = [:]
        for (k, v) in items4 { t4[k] = PrefixTable(v, directIndex: k != blockTarget?.table) }
        var t6: [UInt32: PrefixTable<UInt128>] = [:]
        for (k, v) in items6 {
            // fib6 keeps each node's routes ordered by metric (insertion order among equals)
            // (metric, position) packed in one integer: a stable order by metric
            var keyed = [UInt64]()
            keyed.reserveCapacity(v.count)
            var sorted = true
            var last: UInt32 = 0
            routes6.withUnsafeBufferPointer { rp in
                for (i, it) in v.enumerated() {
                    let m = rp[Int(it.item)].metric
                    if m < last { sorted = false }
                    last = m
                    keyed.append(UInt64(m) << 32 | UInt64(i))
                }
            }
            if sorted { t6[k] = PrefixTable(v); continue }
            radixSort(&keyed)
            t6[k] = PrefixTable(keyed.map { v[Int($0 & 0xffff_ffff)] })
        }
        tables4 = t4; tables6 = t6
        let h4 = routes4.map { r in
            var f: UInt8 = 0
            if r.isReject { f |= RouteHot.reject }
            if r.dead { f |= RouteHot.dead }
            if r.usesObject { f |= RouteHot.object }
            if r.blackholeObject { f |= RouteHot.blackholeObject }
            return RouteHot(tos: r.tos, flags: f, type: r.type.rawValue, pathStart: r.pathStart, pathCount: r.pathCount)
        }
        hot4 = h4
        hot6 = routes6.map { r in
            RouteHot6(metric: r.metric, pathStart: r.pathStart, pathCount: r.pathCount, table: r.table,
                      pref: UInt8(RoutingModel.decodePref(r.pref)), dstLength: r.dst.length, type: r.type,
                      usesObject: r.usesObject, blackholeObject: r.blackholeObject, hasSrc: (r.src?.length ?? 0) > 0)
        }
        var s4 = [PrefixTable<UInt32>?](repeating: nil, count: 256), s6 = [PrefixTable<UInt128>?](repeating: nil, count: 256)
        for (k, v) in t4 where k < 256 { s4[Int(k)] = v }
        for (k, v) in t6 where k < 256 { s6[Int(k)] = v }
        small4 = s4; small6 = s6
        small4Unmanaged = s4.map { $0.map { UnmanagedTable4(ref: Unmanaged.passUnretained($0)) } }
        numDefault4 = numDefault
        var snd = [Int32](repeating: 0, count: 256)
        for (k, v) in numDefault where k < 256 { snd[Int(k)] = Int32(v) }
        smallNumDefault4 = snd
        customLocalRoutes4 = customLocal

        // Each IPv4 route's leaf, in route order (sequential reads), then one per entry.
        var routeLeaves = [Leaf4]()
        routeLeaves.reserveCapacity(routes4.count)
        routes4.withUnsafeBufferPointer { rp in h4.withUnsafeBufferPointer { hp in paths.withUnsafeBufferPointer { pp in
        ph.withUnsafeBufferPointer { ph in
            for ri in 0..<rp.count {
                let r = hp[ri]
                var lf = Leaf4(route: Int32(ri), dev: 0, src: 0, length: 0, type: RouteType(rawValue: r.type) ?? .unspec,
                               flags: rp[ri].table == Table.local ? Leaf4.localTable : 0)
                if r.pathCount > 0 {
                    let p = Int(r.pathStart)
                    lf.dev = ph[p].dev; lf.src = ph[p].src
                    if let g = pp[p].gateway {
                        if g.family == .v4 { lf.gw = g.v4; lf.flags |= Leaf4.gatewayV4 }
                    } else { lf.flags |= Leaf4.noGateway }
                    if r.pathCount > 1 { lf.flags |= Leaf4.multi }
                    if r.tos == 0 && r.flags & (RouteHot.reject | RouteHot.dead | RouteHot.blackholeObject) == 0
                        && ph[p].flags & (NexthopFlags.dead | NexthopFlags.linkdown) == 0 {
                        lf.flags |= Leaf4.fast
                    }
                }
                routeLeaves.append(lf)
            }
        } } } }
        var leaves: [Leaf4] = [], bases: [UInt32: Int32] = [:]
        var smallBases = [Int32](repeating: -1, count: 256)
        for (tid, t) in t4 {
            let base = Int32(leaves.count)
            bases[tid] = base
            if tid < 256 { smallBases[Int(tid)] = base }
            leaves.reserveCapacity(leaves.count + t.entries.count)
            routeLeaves.withUnsafeBufferPointer { rl in t.entries.withUnsafeBufferPointer { entries in
                for e in entries {
                    var lf = rl[Int(e.first)]
                    lf.length = e.length
                    leaves.append(lf)
                }
            } }
        }
        leaves4 = leaves; leafBase4 = bases; smallLeafBase4 = smallBases
        var touched: [UInt32] = []
        if merged4 { touched = [Table.main, Table.default] }
        else {
            for i in outputRules4.order where rules4[Int(i)].action == RuleAction.toTable && !rules4[Int(i)].l3mdev {
                if !touched.contains(rules4[Int(i)].table) { touched.append(rules4[Int(i)].table) }
            }
        }
        touchTables4 = touched.compactMap { id in
            guard let t = t4[id], t.entries.count >= PrefixTable<UInt32>.dirThreshold, let b = bases[id] else { return nil }
            return TouchTable4(ref: UnmanagedTable4(ref: Unmanaged.passUnretained(t)), base: b)
        }
        if let blockTarget {
            outputBlocks4 = OutputBlockIndex4.build(target: blockTarget, tables: t4, leaves: leaves, leafBase: bases, hot: h4,
                                                    numDefault: numDefault)
        } else {
            outputBlocks4 = .none
        }
    }

    /// Every large lookup array (see PrefixTable.withStorage).
    public func withLookupStorage(_ body: (UnsafeRawBufferPointer) -> Void) {
        for t in tables4.values { t.withStorage(body) }
        for t in tables6.values { t.withStorage(body) }
        hot4.withUnsafeBytes(body); pathHot.withUnsafeBytes(body); leaves4.withUnsafeBytes(body); hot6.withUnsafeBytes(body)
        outputBlocks4.blocks.withUnsafeBytes(body)
    }

    @inline(__always) func table4(_ id: UInt32) -> PrefixTable<UInt32>? {
        id < 256 ? small4.withUnsafeBufferPointer { $0[Int(id)] } : tables4[id]
    }
    /// `body` on IPv4 table `id`, nil when there is none.
    @inline(__always) func withTable4<R>(_ id: UInt32, _ body: (PrefixTable<UInt32>) -> R) -> R? {
        if id < 256 {
            guard let u = small4Unmanaged.withUnsafeBufferPointer({ $0[Int(id)] }) else { return nil }
            return u.ref._withUnsafeGuaranteedRef(body)
        }
        guard let t = tables4[id] else { return nil }
        return body(t)
    }
    @inline(__always) func table6(_ id: UInt32) -> PrefixTable<UInt128>? {
        id < 256 ? small6.withUnsafeBufferPointer { $0[Int(id)] } : tables6[id]
    }

    /// Feature categories of an answer's route (reporting only).
    func routeFeatures(_ r: FIBRoute, _ nh: FIBNexthop?) -> [String] {
        var f: [String] = []
        if r.usesObject { f.append("route:nexthop-object") }
        if r.onlink { f.append("route:onlink") }
        if r.tos != 0 { f.append("route:tos") }
        if r.prefsrc != nil { f.append("route:prefsrc") }
        if let s = r.src, s.length > 0 { f.append("route:source-specific") }
        if let nh, nh.linkdown { f.append("route:linkdown") }
        if let nh, nh.selectGateway != nil { f.append("route:local-gateway") }
        if r.metric != 0 && r.dst.family == .v4 { f.append("route:metric") }
        return f
    }

    // MARK: device helpers
    @inline(__always) func link(_ index: Int32) -> LinkInfo? {
        guard index > 0, Int(index) < slotOf.count else { return nil }
        let s = slotOf.withUnsafeBufferPointer { $0[Int(index)] }
        return s < 0 ? nil : links.withUnsafeBufferPointer { $0[Int(s)] }
    }
    public func index(of name: String) -> Int32? { byName[name] }
    public func name(of index: Int32) -> String? { link(index)?.name }
    /// l3mdev_master_ifindex: the VRF itself for a VRF device, its master for an enslaved one.
    @inline(__always) func l3mdevMaster(_ index: Int32) -> Int32 {
        guard let l = link(index) else { return 0 }
        if l.isVRF { return index }
        if let m = l.master, let ml = link(m), ml.isVRF { return m }
        return 0
    }
    /// l3mdev_master_dev_rcu: the VRF an enslaved device belongs to (not the VRF itself).
    @inline(__always) func enslavingVRF(_ index: Int32) -> Int32 {
        guard let l = link(index), let m = l.master, let ml = link(m), ml.isVRF else { return 0 }
        return m
    }
}

final class LinkInfo: @unchecked Sendable {
    let index: Int32
    let name: String
    let up: Bool
    let loopback: Bool
    let isVRF: Bool
    let vrfTable: UInt32?
    let master: Int32?
    let group: UInt32
    var addrs4: [Address] = []
    var addrs6: [Address] = []
    let forwarding: Bool
    let rpFilter: Int
    let acceptLocal: Bool
    let srcValidMark: Bool
    let sendRedirects: Bool
    let ignoreLinkdown4: Bool
    let ignoreLinkdown6: Bool
    let useOifAddrsOnly6: Bool
    let routeLocalnet: Bool
    let bcForwarding: Bool
    init(_ l: Link, ipv4 c: RoutingSettings.EffectiveIPv4, ipv6 c6: RoutingSettings.EffectiveIPv6) {
        index = l.index; name = l.name; up = l.adminUp; loopback = l.isLoopback; isVRF = l.isVRF
        vrfTable = l.vrfTable; master = l.master; group = l.group
        forwarding = c.forwarding; rpFilter = c.rpFilter; acceptLocal = c.acceptLocal; srcValidMark = c.srcValidMark
        sendRedirects = c.sendRedirects; ignoreLinkdown4 = c.ignoreRoutesWithLinkdown; routeLocalnet = c.routeLocalnet
        bcForwarding = c.bcForwarding
        ignoreLinkdown6 = c6.ignoreRoutesWithLinkdown; useOifAddrsOnly6 = c6.useOifAddrsOnly
    }
}

/// A prefix entry's first alias, resolved for the common case: `fast` when the route has no
/// tos, is not a reject route, dead or a blackhole object, and its first path is neither dead
/// nor linkdown, so fib_table_lookup takes it with its first path whenever the flow's oif is
/// 0 or that path's device. `dev` and `src` are the first path's device and fib_result_prefsrc.
struct Leaf4: Sendable, Equatable {
    static let fast: UInt8 = 1, multi: UInt8 = 2, localTable: UInt8 = 4
    /// The first path's gateway: `gw` (IPv4), or none; with neither flag it is elsewhere
    /// (an IPv6 gateway: read the path).
    static let gatewayV4: UInt8 = 8, noGateway: UInt8 = 16
    var route: Int32
    var dev: Int32
    var src: UInt32
    var gw: UInt32 = 0
    var length: UInt8
    var type: RouteType
    var flags: UInt8
    static let none = Leaf4(route: -1, dev: 0, src: 0, length: 0, type: .unspec, flags: 0)
}

struct UnmanagedTable4: @unchecked Sendable {
    let ref: Unmanaged<PrefixTable<UInt32>>
}

struct TouchTable4: Sendable {
    let ref: UnmanagedTable4
    let base: Int32
}

/// The fields of an IPv6 route rt6_select and fib6_table_lookup read, compact.
struct RouteHot6: Sendable {
    var metric: UInt32
    var pathStart: Int32
    var pathCount: Int32
    var table: UInt32
    /// RoutingModel.decodePref of the route's preference.
    var pref: UInt8
    var dstLength: UInt8
    var type: RouteType
    var usesObject: Bool
    var blackholeObject: Bool
    /// A source prefix longer than 0.
    var hasSrc: Bool
}

struct RouteHot: Sendable {
    static let reject: UInt8 = 1, dead: UInt8 = 2, object: UInt8 = 4, blackholeObject: UInt8 = 8
    var tos: UInt8
    var flags: UInt8
    var type: UInt8
    var pathStart: Int32
    var pathCount: Int32
}

struct PathHot: Sendable {
    var dev: Int32
    var flags: UInt32
    /// fib_result_prefsrc for this path (the kernel caches it as nh_saddr); IPv4 only.
    var src: UInt32
}

/// One nexthop of a route (a path of a multipath route, or a member of a nexthop group).
struct FIBNexthop: Sendable {
    var dev: Int32
    var gateway: IPAddress?
    var weight: UInt16
    var flags: UInt32
    /// The gateway given to inet_select_addr when it is not used as a gateway.
    var selectGateway: IPAddress? = nil
    var dead: Bool { flags & NexthopFlags.dead != 0 }
    var linkdown: Bool { flags & NexthopFlags.linkdown != 0 }
}

/// A route as the lookup needs it.
struct FIBRoute: Sendable {
    var type: RouteType
    var table: UInt32
    var lookupTable: UInt32 = 0
    var dst: IPPrefix
    var src: IPPrefix?
    var tos: UInt8
    var scope: UInt8
    var metric: UInt32
    var prefsrc: IPAddress?
    var proto: UInt8
    var pref: UInt8?
    var pathStart: Int32 = 0
    var pathCount: Int32 = 0
    var usesObject = false
    var blackholeObject = false
    var dead = false
    var onlink = false
    init(_ r: Route) {
        onlink = r.flags & NexthopFlags.onlink != 0 || (r.nexthops ?? []).contains { $0.flags & NexthopFlags.onlink != 0 }
        type = r.type; table = r.table; dst = r.dst; src = r.src; tos = r.tos; scope = r.scope
        metric = r.metric; prefsrc = r.prefsrc; proto = r.protocol; pref = r.pref
    }
    var isReject: Bool {
        switch type {
        case .blackhole, .unreachable, .prohibit, .throw, .nat, .xresolve: true
        default: false
        }
    }
}

/// A policy rule with its selectors resolved against the namespace's devices.
public struct FIBRule: Sendable {
    public let priority: UInt32
    public let action: UInt8
    public let table: UInt32
    let gotoTarget: UInt32?
    var gotoIndex: Int = -1
    let srcBits: UInt128, srcMask: UInt128
    let dstBits: UInt128, dstMask: UInt128
    /// 0: any; -1: a device that does not exist (never matches); else ifindex.
    let iif: Int32
    let iifIsL3Master: Bool
    let oif: Int32
    let oifIsL3Master: Bool
    let mark: UInt32, markMask: UInt32
    let tos: UInt8
    let ipproto: UInt8
    let sport: PortRange?
    let dport: PortRange?
    let uidStart: UInt32, uidEnd: UInt32
    let l3mdev: Bool
    let invert: Bool
    let suppressPrefixlen: Int
    let suppressIfgroup: Int64
    /// No selector and no suppressor: a plain `from all lookup T`.
    let isPlain: Bool

    init(_ r: Rule, byName: [String: Int32], links: [LinkInfo], slot: [Int32]) {
        priority = r.priority; action = r.action; table = r.table; gotoTarget = r.gotoTarget
        let w = r.family.bitWidth
        srcBits = r.src?.address.bits ?? 0; srcMask = r.src.map { IPPrefix.mask(Int($0.length), w) } ?? 0
        dstBits = r.dst?.address.bits ?? 0; dstMask = r.dst.map { IPPrefix.mask(Int($0.length), w) } ?? 0
        func dev(_ n: String?, detached: Bool) -> (Int32, Bool) {
            guard let n else { return (0, false) }
            guard !detached, let i = byName[n] else { return (-1, false) }
            let s = slot[Int(i)]
            return (i, s >= 0 && links[Int(s)].isVRF)
        }
        (iif, iifIsL3Master) = dev(r.iif, detached: r.flags & RuleFlags.iifDetached != 0)
        (oif, oifIsL3Master) = dev(r.oif, detached: r.flags & RuleFlags.oifDetached != 0)
        if let m = r.fwmark { mark = m; markMask = r.fwmask ?? 0xffff_ffff } else { mark = 0; markMask = r.fwmask ?? 0 }
        tos = r.tos; ipproto = r.ipproto ?? 0; sport = r.sport; dport = r.dport
        uidStart = r.uidrange?.start ?? 0; uidEnd = r.uidrange?.end ?? UInt32.max
        l3mdev = r.l3mdev; invert = r.invert
        suppressPrefixlen = Int(r.suppressPrefixlen ?? -1)
        suppressIfgroup = r.suppressIfgroup.map { $0 == UInt32.max ? -1 : Int64($0) } ?? -1
        isPlain = r.hasNoSelector && !r.l3mdev
    }
}

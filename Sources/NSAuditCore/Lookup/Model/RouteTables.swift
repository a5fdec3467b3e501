/// The routes of both families as fib_info / fib6_info hold them: each route with its
/// nexthops (a path of a multipath route, or a member of a nexthop group) resolved, in the
/// order the kernel's tables keep aliases, and the kernel's derived facts about them.
struct RouteEntries: Sendable {
    let routes4: [FIBRoute]
    let routes6: [FIBRoute]
    /// Every route's nexthops: route r's are paths[r.pathStart ..< r.pathStart + r.pathCount].
    let paths: [FIBNexthop]
    /// Each route's position in `snapshotRoutes`, by model route index (IPv4, IPv6).
    let origin4: [Int32], origin6: [Int32]
    /// The snapshot's routes (shared with the snapshot, not copied): what `ip route get`
    /// prints of a route beyond what the lookup needs (nexthop flags and ids, metrics).
    let snapshotRoutes: [Route]
    /// Some IPv4 local route is not the kernel's own (then source validation looks up).
    let customLocalRoutes4: Bool
    /// Some IPv4 route has metrics (the batch fast path then checks each answer's route).
    let routesWithMetrics4: Bool

    /// The prefixes of each table, for its PrefixTable: (prefix key, length, route index).
    typealias Items<Key> = [UInt32: [(key: Key, length: UInt8, item: Int32)]]

    /// `mergeLocalIntoMain`: the IPv4 local table's routes go into main (see RuleSet.merged4).
    /// Returns the entries and the prefixes of each table.
    static func build(_ ns: NamespaceSnapshot, devices: DeviceTable, mergeLocalIntoMain merged4: Bool)
        -> (RouteEntries, items4: Items<UInt32>, items6: Items<UInt128>) {
        // Nexthop objects.
        var nhByID: [UInt32: Nexthop] = [:]
        for n in ns.nexthops { nhByID[n.id] = n }

        var paths: [FIBNexthop] = []
        paths.reserveCapacity(ns.routes.count + ns.routes.count / 4)
        var routes4: [FIBRoute] = [], routes6: [FIBRoute] = []
        routes4.reserveCapacity(ns.routes.count)
        var items4: Items<UInt32> = [:]
        var items6: Items<UInt128> = [:]
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
        for l in devices.links { for a in l.addrs4 { local4.insert(a.local.v4) } }
        for i in paths.indices {
            if let g = paths[i].gateway, g.family == .v4, local4.contains(g.v4) {
                paths[i].selectGateway = g; paths[i].gateway = nil
            }
        }
        let entries = RouteEntries(routes4: routes4, routes6: routes6, paths: paths, origin4: origin4, origin6: origin6,
                                   snapshotRoutes: ns.routes, customLocalRoutes4: customLocal, routesWithMetrics4: withMetrics4)
        return (entries, items4, items6)
    }
}

/// One PrefixTable per (family, table) over the routes' prefixes, and the compact copies of
/// the route fields the lookup loops read (fewer cache lines per lookup).
struct RouteTables: Sendable {
    let tables4: [UInt32: PrefixTable<UInt32>]
    let tables6: [UInt32: PrefixTable<UInt128>]
    /// Tables 0...255 by id, so the common lookups need no hashing.
    let small4: [PrefixTable<UInt32>?]
    let small6: [PrefixTable<UInt128>?]
    /// Number of default (prefix length 0) routes per IPv4 table (fib_table.tb_num_default).
    let numDefault4: [UInt32: Int]
    let smallNumDefault4: [Int32]
    let hot4: [RouteHot]
    let hot6: [RouteHot6]
    let pathHot: [PathHot]

    /// `withoutDirectIndex`: the IPv4 table whose /24 index the output block index replaces
    /// (LookupAccelerator4.Plan), built without its own.
    init(_ e: RouteEntries, items4: RouteEntries.Items<UInt32>, items6: RouteEntries.Items<UInt128>,
         devices: DeviceTable, withoutDirectIndex: UInt32?) {
        var t4: [UInt32: PrefixTable<UInt32>] = [:]
        var numDefault: [UInt32: Int] = [:]
        for (k, v) in items4 {
            t4[k] = PrefixTable(v, directIndex: k != withoutDirectIndex)
            let n = v.reduce(0) { $0 + ($1.length == 0 ? 1 : 0) }
            if n > 0 { numDefault[k] = n }
        }
        var t6: [UInt32: PrefixTable<UInt128>] = [:]
        for (k, v) in items6 {
            // fib6 keeps each node's routes ordered by metric (insertion order among equals)
            // (metric, position) packed in one integer: a stable order by metric
            var keyed = [UInt64]()
            keyed.reserveCapacity(v.count)
            var sorted = true
            var last: UInt32 = 0
            e.routes6.withUnsafeBufferPointer { rp in
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
        var s4 = [PrefixTable<UInt32>?](repeating: nil, count: 256), s6 = [PrefixTable<UInt128>?](repeating: nil, count: 256)
        for (k, v) in t4 where k < 256 { s4[Int(k)] = v }
        for (k, v) in t6 where k < 256 { s6[Int(k)] = v }
        small4 = s4; small6 = s6
        numDefault4 = numDefault
        var snd = [Int32](repeating: 0, count: 256)
        for (k, v) in numDefault where k < 256 { snd[Int(k)] = Int32(v) }
        smallNumDefault4 = snd

        hot4 = e.routes4.map { r in
            var f: UInt8 = 0
            if r.isReject { f |= RouteHot.reject }
            if r.dead { f |= RouteHot.dead }
            if r.usesObject { f |= RouteHot.object }
            if r.blackholeObject { f |= RouteHot.blackholeObject }
            return RouteHot(tos: r.tos, flags: f, type: r.type.rawValue, pathStart: r.pathStart, pathCount: r.pathCount)
        }
        hot6 = e.routes6.map { r in
            RouteHot6(metric: r.metric, pathStart: r.pathStart, pathCount: r.pathCount, table: r.table,
                      pref: UInt8(RoutingModel.decodePref(r.pref)), dstLength: r.dst.length, type: r.type,
                      usesObject: r.usesObject, blackholeObject: r.blackholeObject, hasSrc: (r.src?.length ?? 0) > 0)
        }
        // each IPv4 path's fib_result_prefsrc (the kernel caches it as nh_saddr)
        var ph = e.paths.map { PathHot(dev: $0.dev, flags: $0.flags, src: 0) }
        for r in e.routes4 where r.pathCount > 0 && !r.isReject {
            for k in Int(r.pathStart)..<Int(r.pathStart + r.pathCount) {
                ph[k].src = devices.resultPrefsrc4(r, e.paths[k])
            }
        }
        pathHot = ph
    }

    @inline(__always) func table4(_ id: UInt32) -> PrefixTable<UInt32>? {
        id < 256 ? small4.withUnsafeBufferPointer { $0[Int(id)] } : tables4[id]
    }
    @inline(__always) func table6(_ id: UInt32) -> PrefixTable<UInt128>? {
        id < 256 ? small6.withUnsafeBufferPointer { $0[Int(id)] } : tables6[id]
    }
    /// fib_table.tb_num_default of IPv4 table `id`.
    @inline(__always) func numDefault4(_ id: UInt32) -> Int {
        id < 256 ? Int(smallNumDefault4.withUnsafeBufferPointer { $0[Int(id)] }) : (numDefault4[id] ?? 0)
    }
}

/// The caches that make IPv4 lookups fast, behind the few entry points the lookups use. Each
/// gives what the general path (IPv4Lookup, IPv4RouteGet) gives for the same question, never
/// more: the tests check every one against the plain reference model (Tests/FIBReference).
///
/// - the output block index (OutputBlockIndex4): the decision of a destination-only output
///   lookup (`route get DST`) per /24 block, and the answer of its table's lookups;
/// - leaves (Leaf4): each prefix entry's first alias with its first path resolved, so the
///   common table lookup reads one leaf after the prefix table;
/// - the output rule program: the rules a destination-only output lookup can match;
/// - touch tables: what the lookups of a destination read, for reading it ahead in bulk.
struct LookupAccelerator4: Sendable {
    /// Which caches to build (tests turn them off or force them onto small tables).
    struct Options: Sendable {
        /// The fewest prefixes of the table for which the output block index is built.
        var outputIndexMinimum = PrefixTable<UInt32>.dirThreshold
        /// Leaves may answer table lookups (off: every lookup walks the table).
        var leaves = true
        /// Destination-only output lookups walk only the rules they can match (off: all).
        var outputRuleProgram = true
        static let standard = Options()
    }

    /// What is decided before the prefix tables are built: the output rule program and the
    /// table the block index answers from (it then keeps no /24 index of its own).
    struct Plan {
        let outputRules: RuleProgram
        let blockTarget: OutputBlockIndex4.Target?

        init(rules: RuleSet, devices: DeviceTable, entries: RouteEntries, items4: RouteEntries.Items<UInt32>, options: Options) {
            if options.outputRuleProgram {
                // The flow fibLookup4 sees for `route get DST` (after l3mdev_update_flow: no
                // oif, iif lo, so no l3mdev).
                let shape = Flow(dst: 0, src: 0, iif: devices.loopbackIndex, oif: 0, mark: 0, tos: 0, proto: 17, sport: 0,
                                 dport: 0, uid: 0)
                outputRules = RoutingModel.ruleProgram(rules.rules4, shape: shape, v6: false, link: devices.link,
                                                       tableExists: { items4[$0] != nil })
            } else {
                outputRules = rules.allRules4
            }
            blockTarget = options.leaves
                ? OutputBlockIndex4.target(rules: rules.rules4, program: outputRules, merged: rules.merged4, items: items4,
                                           routes: entries.routes4, minimumEntries: options.outputIndexMinimum)
                : nil
        }
    }

    /// The rules a destination-only IPv4 output lookup can match (iif lo, no oif, mark, tos,
    /// ports, uid or source; protocol UDP as inet_rtm_getroute sets it).
    let outputRules: RuleProgram
    /// Per prefix entry of every IPv4 table (at leafBase of the table + entry index).
    private let leaves: [Leaf4]
    private let leafBase: [UInt32: Int32]
    private let smallLeafBase: [Int32]
    /// The tables with a /24 index a destination-only output lookup may consult.
    private let touchTables: [TouchTable4]
    /// Destination-only IPv4 output lookups decided per /24 block.
    private let blocks: OutputBlockIndex4

    init(_ plan: Plan, rules: RuleSet, entries: RouteEntries, tables: RouteTables, options: Options) {
        outputRules = plan.outputRules
        let routes4 = entries.routes4, paths = entries.paths
        // Each IPv4 route's leaf, in route order (sequential reads), then one per entry.
        var routeLeaves = [Leaf4]()
        routeLeaves.reserveCapacity(routes4.count)
        routes4.withUnsafeBufferPointer { rp in tables.hot4.withUnsafeBufferPointer { hp in paths.withUnsafeBufferPointer { pp in
        tables.pathHot.withUnsafeBufferPointer { ph in
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
                    if options.leaves && r.tos == 0 && r.flags & (RouteHot.reject | RouteHot.dead | RouteHot.blackholeObject) == 0
                        && ph[p].flags & (NexthopFlags.dead | NexthopFlags.linkdown) == 0 {
                        lf.flags |= Leaf4.fast
                    }
                }
                routeLeaves.append(lf)
            }
        } } } }
        var leaves: [Leaf4] = [], bases: [UInt32: Int32] = [:]
        var smallBases = [Int32](repeating: -1, count: 256)
        for (tid, t) in tables.tables4 {
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
        self.leaves = leaves; leafBase = bases; smallLeafBase = smallBases
        var touched: [UInt32] = []
        if rules.merged4 { touched = [Table.main, Table.default] }
        else {
            for i in outputRules.order where rules.rules4[Int(i)].action == RuleAction.toTable && !rules.rules4[Int(i)].l3mdev {
                if !touched.contains(rules.rules4[Int(i)].table) { touched.append(rules.rules4[Int(i)].table) }
            }
        }
        touchTables = touched.compactMap { id in
            guard let t = tables.tables4[id], t.entries.count >= PrefixTable<UInt32>.dirThreshold, let b = bases[id] else { return nil }
            return TouchTable4(table: t, base: b)
        }
        if let target = plan.blockTarget {
            blocks = OutputBlockIndex4.build(target: target, tables: tables.tables4, leaves: leaves, leafBase: bases,
                                             hot: tables.hot4, numDefault: tables.numDefault4)
        } else {
            blocks = .none
        }
    }

    // MARK: entry points

    /// decideOutput4's decision for a destination-only output lookup of `dst` (not 0.0.0.0),
    /// when the block index holds it; nil: the general path decides.
    @inline(__always) func destinationOnlyDecision(_ dst: UInt32) -> RoutingModel.OutputDecision4? {
        if blocks.isEmpty { return nil }
        let entry = blocks.entry(dst)
        return entry & OutputBlockIndex4.answersOutput != 0 ? blocks.decision(entry, dst: dst) : nil
    }

    /// Whether the block index answers destination-only output lookups of `dst`.
    func answersDestinationOnly(_ dst: UInt32) -> Bool {
        !blocks.isEmpty && dst != 0 && blocks.entry(dst) & OutputBlockIndex4.answersOutput != 0
    }
    var hasOutputIndex: Bool { !blocks.isEmpty }

    /// The leaf fib_table_lookup of table `tid` answers `dst` from, for a flow with `oif`,
    /// when the block index knows it (the index stands in for that table's /24 index).
    @inline(__always) func blockLeaf(table tid: UInt32, dst: UInt32, oif: Int32) -> Leaf4? {
        guard tid == blocks.table && !blocks.isEmpty, let lf = blocks.leaf(blocks.entry(dst)), oif == 0 || oif == lf.dev else {
            return nil
        }
        return lf
    }

    /// The leaf of entry `e` (>= 0) of table `tid` when it answers a lookup with `oif` by
    /// itself (`fast`, and the oif is 0 or its device); nil: the table is walked.
    @inline(__always) func fastLeaf(table tid: UInt32, entry e: Int32, oif: Int32) -> Leaf4? {
        let base = tid < 256 ? smallLeafBase.withUnsafeBufferPointer { $0[Int(tid)] } : leafBase[tid] ?? 0
        let lf = leaves.withUnsafeBufferPointer { $0[Int(base + e)] }
        return lf.flags & Leaf4.fast != 0 && (oif == 0 || oif == lf.dev) ? lf : nil
    }

    /// Reads, for each destination, what the output block index reads for it, and where that
    /// gives no answer (or there is no index), the /24 index entry and the leaf of every large
    /// table a destination-only output lookup may consult. Returns a checksum of what it read.
    @inline(never)
    func touch(_ dsts: UnsafeBufferPointer<UInt32>) -> Int {
        var acc: Int32 = 0
        touchTables.withUnsafeBufferPointer { tt in
            leaves.withUnsafeBufferPointer { lv in
                let indexed = !blocks.isEmpty
                for d in dsts {
                    if indexed {
                        let entry = blocks.entry(d)
                        acc ^= Int32(truncatingIfNeeded: entry)
                        if entry & OutputBlockIndex4.answersOutput != 0 { continue }
                    }
                    for k in 0..<tt.count {
                        let e = tt[k].table.lookup(d)
                        if e >= 0 { acc ^= lv[Int(tt[k].base + e)].route }
                    }
                }
            }
        }
        return Int(acc)
    }

    /// The accelerators' large arrays (see RoutingModel.withLookupStorage).
    func withStorage(_ body: (UnsafeRawBufferPointer) -> Void) {
        leaves.withUnsafeBytes(body)
        blocks.blocks.withUnsafeBytes(body)
    }
}

/// A table a destination-only output lookup may consult, with where its leaves start.
struct TouchTable4: Sendable {
    let table: PrefixTable<UInt32>
    let base: Int32
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

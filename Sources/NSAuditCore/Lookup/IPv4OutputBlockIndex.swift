/// `route get DST` for an IPv4 destination alone (an output lookup from iif lo with no source,
/// oif, mark, tos, ports or uid) decided ahead of time, one 8-byte entry per /24 block of the
/// largest table such lookups reach; the entries also serve as that table's /24 index.
///
/// In a large table, fib_table_lookup read the table's /24 index and then the leaf of the
/// prefix entry it names: two dependent cache misses per lookup at a million routes. Here a
/// block wholly inside one prefix entry (inside no longer prefix) whose leaf resolves the
/// lookup has an entry holding the route, its prefix length and the index of an outcome (the
/// leaf's device, source, gateway, type and flags with the rule, or a reject route's error) in
/// a short list that stays in cache: one read answers the lookup. The top bit says the
/// entry also answers a destination-only output lookup: no rule ahead of the table may apply
/// to the block, and the answer needs nothing more (not a local route, no loopback source).
/// Other blocks (a longer prefix starts inside them, no route, a leaf that does not resolve
/// the lookup) have entry 0: the table's interval search and the general path.
struct OutputBlockIndex4: Sendable {
    /// What an entry's lookups decide besides the route and its prefix length.
    struct Outcome: Sendable {
        /// The leaf the table lookup answers from, with route -1 and length 0.
        var leaf: Leaf4
        var rule: UInt32
        /// A reject route's error; the leaf is then unused.
        var error: KernelError?
        var rejectType: RouteType?
        /// fib_select_default may rotate among default routes (the prefix is the default).
        var defaultAlternatives: Bool
    }

    /// The table the index answers from, the rule that looks it up (nil: the merged
    /// local/main table, whose rule depends on the route) and the rules a destination-only
    /// lookup meets before it.
    struct Target {
        let table: UInt32
        let rule: UInt32?
        let ahead: [FIBRule]
    }

    /// Per /24 block (address >> 8): 0, or the route (bits 0-31), the prefix length (bits
    /// 32-39), 1 + the outcome's index (bits 40-62) and whether the entry answers a
    /// destination-only output lookup (bit 63).
    let blocks: [UInt64]
    let outcomes: [Outcome]
    /// The table the answers come from.
    let table: UInt32

    static let none = OutputBlockIndex4(blocks: [], outcomes: [], table: 0)
    static let answersOutput: UInt64 = 1 << 63

    var isEmpty: Bool { blocks.isEmpty }

    /// The entry of `dst`'s block (the index must not be empty).
    @inline(__always) func entry(_ dst: UInt32) -> UInt64 {
        blocks.withUnsafeBufferPointer { $0[Int(dst >> 8)] }
    }

    /// The leaf a table lookup of `dst` answers from (route and length set), or nil: the
    /// table's own search decides. `entry` is `dst`'s entry.
    @inline(__always) func leaf(_ entry: UInt64) -> Leaf4? {
        if entry == 0 { return nil }
        let o = outcomes.withUnsafeBufferPointer { $0[Int((entry >> 40) & 0x7f_ffff) - 1] }
        if o.error != nil { return nil }
        var lf = o.leaf
        lf.route = Int32(truncatingIfNeeded: entry)
        lf.length = UInt8(truncatingIfNeeded: entry >> 32)
        return lf
    }

    /// The decision for `dst` (not 0.0.0.0) whose entry `entry` answers destination-only
    /// output lookups: what decideOutput4 gives.
    @inline(__always)
    func decision(_ entry: UInt64, dst: UInt32) -> RoutingModel.OutputDecision4 {
        let o = outcomes.withUnsafeBufferPointer { $0[Int((entry >> 40) & 0x7f_ffff) - 1] }
        var d = RoutingModel.OutputDecision4()
        d.daddr = dst
        d.rule = o.rule
        if let e = o.error {
            d.error = e; d.rejectType = o.rejectType
            return d
        }
        var lf = o.leaf
        lf.route = Int32(truncatingIfNeeded: entry)
        lf.length = UInt8(truncatingIfNeeded: entry >> 32)
        d.hit = Hit(route: lf.route, nhSel: 0, prefixLen: lf.length, table: table)
        d.resolved = lf
        d.type = lf.type
        d.devOut = lf.dev
        if lf.flags & Leaf4.multi != 0 { d.multipath = true }
        else { d.saddr = lf.src; d.defaultAlternatives = o.defaultAlternatives }
        if v4IsLbcast(dst) { d.type = .broadcast } else if v4IsMulticast(dst) { d.type = .multicast }
        return d
    }

    /// The table for the index, chosen before the tables are built (it then keeps no /24
    /// index of its own), or nil. Destination-only output lookups, whose rules are `program`,
    /// reach it through the merged local/main table, or through the rule of the program that
    /// looks up, for every destination (no `to`, no suppressor, not inverted), a table of at
    /// least `minimumEntries` prefixes: the one with the most prefixes of /24 or shorter that
    /// are not local routes (local, usually first, has few: its prefixes, like those of the
    /// other rules ahead, are left to the general path).
    static func target(rules: [FIBRule], program: RuleProgram, merged: Bool,
                       items: [UInt32: [(key: UInt32, length: UInt8, item: Int32)]], routes: [FIBRoute],
                       minimumEntries: Int) -> Target? {
        // prefixes, not routes, count (aliases share one), but a table has about as many
        func large(_ id: UInt32) -> Bool { (items[id]?.count ?? 0) >= max(minimumEntries, 1) }
        if merged { return large(Table.main) ? Target(table: Table.main, rule: nil, ahead: []) : nil }
        func blockPrefixes(_ id: UInt32) -> Int {
            var n = 0
            routes.withUnsafeBufferPointer { rp in
                for it in items[id] ?? [] where it.length <= 24 && rp[Int(it.item)].type != .local { n += 1 }
            }
            return n
        }
        var best = -1, bestCount = 0
        for (p, i) in program.order.enumerated() {
            let r = rules[Int(i)]
            if r.action == RuleAction.toTable && !r.invert && !r.l3mdev && r.dstMask == 0 && r.suppressPrefixlen < 0
                && r.suppressIfgroup < 0 && large(r.table) {
                let n = blockPrefixes(r.table)
                if n > bestCount { best = p; bestCount = n }
            }
        }
        guard best >= 0 else { return nil }
        var ahead: [FIBRule] = []
        for i in program.order[..<best] {
            let r = rules[Int(i)]
            // an inverted or l3mdev rule ahead: left to the general path
            if r.invert || r.l3mdev { return nil }
            if r.action != RuleAction.nop { ahead.append(r) }
        }
        let r = rules[Int(program.order[best])]
        return Target(table: r.table, rule: r.priority, ahead: ahead)
    }

    /// The index for `target` (its table built, `leaves` from leafBase of each table on).
    static func build(target: Target, tables: [UInt32: PrefixTable<UInt32>], leaves: [Leaf4],
                      leafBase: [UInt32: Int32], hot: [RouteHot], numDefault: [UInt32: Int]) -> OutputBlockIndex4 {
        let tid = target.table
        guard let t = tables[tid], let base = leafBase[tid] else { return .none }
        let defaults = numDefault[tid] ?? 0

        // Each prefix entry's code (none for those longer than /24: they never cover a block).
        var outcomes: [Outcome] = []
        var known = OutcomeKeys()
        let count = t.entries.count
        let codes = [UInt64](unsafeUninitializedCapacity: count) { cp, n in
            leaves.withUnsafeBufferPointer { lv in hot.withUnsafeBufferPointer { hp in
                for e in 0..<count {
                    let lf = lv[Int(base) + e]
                    cp[e] = 0
                    if lf.length > 24 { continue }
                    let r = hp[Int(lf.route)]
                    let local = lf.flags & Leaf4.localTable
                    let rule = target.rule ?? (local != 0 ? 0 : 32766)
                    var o: Outcome
                    var key: UInt128
                    var answers = true
                    if lf.flags & Leaf4.fast != 0 {
                        // a local route takes prefsrc or the destination as source; a loopback
                        // source is checked against the device (__mkroute_output)
                        let multi = lf.flags & Leaf4.multi != 0
                        answers = lf.type != .local && (multi || !v4IsLoopback(lf.src))
                        var l = lf
                        l.route = -1; l.length = 0
                        let alternatives = !multi && lf.length == 0 && defaults > 1 && lf.type == .unicast
                        o = Outcome(leaf: l, rule: rule, error: nil, rejectType: nil, defaultAlternatives: alternatives)
                        let path = UInt128(UInt32(bitPattern: lf.dev)) << 96 | UInt128(lf.src) << 64 | UInt128(lf.gw) << 32
                        let kind = UInt32(lf.type.rawValue) << 16 | UInt32(lf.flags) << 8 | (alternatives ? 1 : 0)
                        key = path | UInt128(kind)
                    } else if r.flags & RouteHot.reject != 0 && r.tos == 0 {
                        // the first alias is a reject route that fits every tos: its error
                        // (a throw route continues with the next rule: general path)
                        let type = RouteType(rawValue: r.type) ?? .blackhole
                        let error = RoutingModel.rejectError(type)
                        if error == .EAGAIN { continue }
                        o = Outcome(leaf: .none, rule: rule, error: error, rejectType: type, defaultAlternatives: false)
                        key = UInt128(UInt32(type.rawValue) << 16 | UInt32(local) << 8 | 2)
                    } else {
                        continue
                    }
                    let k = known.index(of: key, next: Int32(outcomes.count))
                    if Int(k) == outcomes.count { outcomes.append(o) }
                    if k < (1 << 23) - 1 {
                        cp[e] = (answers ? answersOutput : 0) | (UInt64(k) + 1) << 40 | UInt64(lf.length) << 32
                            | UInt64(UInt32(bitPattern: lf.route))
                    }
                }
            } }
            n = count
        }

        let blockCount = 1 << 24
        let blocks = [UInt64](unsafeUninitializedCapacity: blockCount) { bp, n in
            codes.withUnsafeBufferPointer { codes in
                // Blocks wholly inside an interval get its entry's code; the others (an
                // interval starts inside them) 0.
                var next = 0
                t.forEachInterval { first, last, e in
                    let lo = Int((UInt64(first) + 255) >> 8), hi = Int((UInt64(last) + 1) >> 8)
                    guard lo < hi else { return }
                    if next < lo { UnsafeMutableBufferPointer(rebasing: bp[next..<lo]).initialize(repeating: 0) }
                    UnsafeMutableBufferPointer(rebasing: bp[lo..<hi]).initialize(repeating: e >= 0 ? codes[Int(e)] : 0)
                    next = hi
                }
                if next < blockCount { UnsafeMutableBufferPointer(rebasing: bp[next..<blockCount]).initialize(repeating: 0) }
            }
            // Blocks to which a rule ahead of the table may apply: not for destination-only
            // lookups (the table lookup itself is unchanged).
            func mark(_ a: UInt32, _ b: UInt32) {
                for i in Int(a >> 8)...Int(b >> 8) { bp[i] &= ~answersOutput }
            }
            for r in target.ahead {
                let mask = UInt32(truncatingIfNeeded: r.dstMask)
                let lo = UInt32(truncatingIfNeeded: r.dstBits) & mask, hi = lo | ~mask
                if r.action == RuleAction.toTable {
                    // a table without a prefix for the address continues with the next rule
                    tables[r.table]?.forEachInterval { first, last, e in
                        if e >= 0 && first <= hi && last >= lo { mark(max(first, lo), min(last, hi)) }
                    }
                } else {
                    mark(lo, hi)
                }
            }
            n = blockCount
        }
        return OutputBlockIndex4(blocks: blocks, outcomes: outcomes, table: tid)
    }
}

/// Open addressing from an outcome's key to its index (a dictionary's hashing would cost more
/// than the rest of the build for a million entries).
private struct OutcomeKeys {
    private var keys = [UInt128](repeating: 0, count: 1024)
    private var values = [Int32](repeating: -1, count: 1024)
    private var count = 0

    /// The index of `key`, or `next` (then recorded) when it is new.
    mutating func index(of key: UInt128, next: Int32) -> Int32 {
        if (count + 1) * 2 > keys.count { grow() }
        let mask = keys.count - 1
        var h = Self.hash(key) & mask
        while values[h] >= 0 {
            if keys[h] == key { return values[h] }
            h = (h + 1) & mask
        }
        keys[h] = key; values[h] = next; count += 1
        return next
    }

    private static func hash(_ key: UInt128) -> Int {
        let x = (UInt64(truncatingIfNeeded: key) ^ (UInt64(truncatingIfNeeded: key >> 64) &* 0x9e37_79b9_7f4a_7c15)) &* 0xbf58_476d_1ce4_e5b9
        return Int(truncatingIfNeeded: x ^ (x >> 29))
    }

    private mutating func grow() {
        let (oldKeys, oldValues) = (keys, values)
        keys = [UInt128](repeating: 0, count: oldKeys.count * 2)
        values = [Int32](repeating: -1, count: oldKeys.count * 2)
        let mask = keys.count - 1
        for i in oldKeys.indices where oldValues[i] >= 0 {
            var h = Self.hash(oldKeys[i]) & mask
            while values[h] >= 0 { h = (h + 1) & mask }
            keys[h] = oldKeys[i]; values[h] = oldValues[i]
        }
    }
}

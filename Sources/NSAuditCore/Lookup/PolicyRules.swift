/// The flow a lookup is made for (flowi4/flowi6 as the kernel fills it in).
struct Flow {
    var dst: UInt128
    var src: UInt128
    var iif: Int32
    var oif: Int32
    /// flowi_l3mdev and FLOWI_FLAG_L3MDEV_OIF, as l3mdev_update_flow sets them.
    var l3mdev: Int32 = 0
    var l3mdevFromOif = false
    var mark: UInt32
    var tos: UInt8
    var proto: UInt8
    var sport: UInt16
    var dport: UInt16
    var uid: UInt32
    /// IPv6: RT6_LOOKUP_F_HAS_SADDR.
    var hasSaddr = false
}

/// A table hit: route, chosen nexthop and the table the kernel reports.
struct Hit: Equatable {
    var route: Int32
    var nhSel: Int32
    var prefixLen: UInt8
    var table: UInt32
}

struct PolicyOutcome {
    var error: KernelError?
    var hit: Hit?
    var rule: UInt32?
    /// The type of the reject route or rule that produced `error`.
    var rejectType: RouteType?
}

extension RoutingModel {
    /// l3mdev_update_flow (the version with FLOWI_FLAG_L3MDEV_OIF).
    func updateL3mdev(_ fl: inout Flow) {
        if fl.oif != 0 {
            if link(fl.oif) != nil {
                if fl.l3mdev == 0 {
                    fl.l3mdev = l3mdevMaster(fl.oif)
                    fl.l3mdevFromOif = true
                }
                if link(fl.oif)?.isVRF == true { fl.oif = 0 }
                return
            }
        }
        if fl.iif > loopbackIndex && fl.l3mdev == 0 {
            fl.l3mdev = l3mdevMaster(fl.iif)
        }
    }

    /// fib_rule_match + fib4_rule_match / fib6_rule_match. Returns the table for l3mdev rules.
    @inline(__always)
    func ruleMatches(_ rp: UnsafePointer<FIBRule>, _ fl: Flow, v6: Bool, l3table: inout UInt32) -> Bool {
        RoutingModel.ruleMatches(rp, fl, v6: v6, l3table: &l3table, link: { self.link($0) })
    }

    @inline(__always)
    static func ruleMatches(_ rp: UnsafePointer<FIBRule>, _ fl: Flow, v6: Bool, l3table: inout UInt32,
                            link: (Int32) -> LinkInfo?) -> Bool {
        var ret = false
        check: do {
            if rp.pointee.iif != 0 {
                let m = rp.pointee.iifIsL3Master ? (!fl.l3mdevFromOif && fl.l3mdev == rp.pointee.iif) : (rp.pointee.iif == fl.iif)
                if !m { break check }
            }
            if rp.pointee.oif != 0 {
                let m = rp.pointee.oifIsL3Master ? (fl.l3mdevFromOif && fl.l3mdev == rp.pointee.oif) : (rp.pointee.oif == fl.oif)
                if !m { break check }
            }
            if (rp.pointee.mark ^ fl.mark) & rp.pointee.markMask != 0 { break check }
            if rp.pointee.l3mdev {
                guard fl.l3mdev != 0, let d = link(fl.l3mdev), d.isVRF, let t = d.vrfTable else { break check }
                l3table = t
            }
            if fl.uid < rp.pointee.uidStart || fl.uid > rp.pointee.uidEnd { break check }
            if (fl.dst ^ rp.pointee.dstBits) & rp.pointee.dstMask != 0 { break check }
            if v6 {
                if rp.pointee.srcMask != 0 {
                    if !fl.hasSaddr { break check }
                    if (fl.src ^ rp.pointee.srcBits) & rp.pointee.srcMask != 0 { break check }
                }
                if rp.pointee.tos != 0 && rp.pointee.tos & 0xfc != fl.tos & 0xfc { break check }
            } else {
                if (fl.src ^ rp.pointee.srcBits) & rp.pointee.srcMask != 0 { break check }
                if rp.pointee.tos != 0 && rp.pointee.tos & 0xfc != fl.tos & 0x1c { break check }
            }
            if rp.pointee.ipproto != 0 && rp.pointee.ipproto != fl.proto { break check }
            if let p = rp.pointee.sport, !p.contains(fl.sport) { break check }
            if let p = rp.pointee.dport, !p.contains(fl.dport) { break check }
            ret = true
        }
        return rp.pointee.invert ? !ret : ret
    }

    /// fib_rules_lookup: rules in priority order with goto/nop, actions and suppressors.
    /// `action` returns the outcome of a table lookup (.EAGAIN = continue). `program` lists
    /// the rules to consider (all of them, or those a flow shape can match).
    @inline(__always)
    func runRules(_ rules: [FIBRule], _ program: RuleProgram, _ fl: Flow, v6: Bool,
                  lookup: (UInt32) -> PolicyOutcome,
                  suppress: (UnsafePointer<FIBRule>, Hit) -> Bool) -> PolicyOutcome {
        withoutActuallyEscaping(lookup) { lookup in
            withoutActuallyEscaping(suppress) { suppress in
                var actions = ClosureRuleActions(lookupFn: lookup, suppressFn: suppress)
                return runRules(rules, program, fl, v6: v6, &actions)
            }
        }
    }

    /// The same with the table lookup and suppressor of a `RuleActions` type (specialized
    /// per type: no closure calls on the IPv4 path).
    @inline(__always)
    func runRules<A: RuleActions>(_ rules: [FIBRule], _ program: RuleProgram, _ fl: Flow, v6: Bool,
                                  _ actions: inout A) -> PolicyOutcome {
        return rules.withUnsafeBufferPointer { rb in
        program.order.withUnsafeBufferPointer { order in
        program.resume.withUnsafeBufferPointer { resume in
        var p = 0
        let n = order.count
        while p < n {
            let rp = rb.baseAddress! + Int(order[p])
            var table = rp.pointee.table
            if !ruleMatches(rp, fl, v6: v6, l3table: &table) { p += 1; continue }
            let action = rp.pointee.action, priority = rp.pointee.priority
            switch action {
            case RuleAction.goto:
                let g = rp.pointee.gotoIndex
                if g >= 0 { p = Int(resume[g]) } else { p += 1 }
                continue
            case RuleAction.nop:
                p += 1; continue
            case RuleAction.toTable:
                var o = actions.lookup(self, table)
                if o.error == nil, let h = o.hit, actions.suppress(self, rp, h) { p += 1; continue }
                if o.error != .EAGAIN { o.rule = priority; return o }
                p += 1
            case RuleAction.unreachable:
                return PolicyOutcome(error: .ENETUNREACH, hit: nil, rule: priority, rejectType: .unreachable)
            case RuleAction.prohibit:
                return PolicyOutcome(error: .EACCES, hit: nil, rule: priority, rejectType: .prohibit)
            default:
                return PolicyOutcome(error: .EINVAL, hit: nil, rule: priority, rejectType: .blackhole)
            }
        }
        return PolicyOutcome(error: .ENETUNREACH, hit: nil, rule: nil)
        } } }
    }

    /// The rules a flow of a given shape can match: all its fields but the destination are
    /// fixed (`shape.dst` is ignored). A rule is left out when it cannot change the outcome
    /// for any destination: a rule whose other selectors already fail (each rule is tested
    /// by `ruleMatches` itself with the destination set inside its own `to` prefix, so only
    /// the destination selector is left undecided), a `nop`, or a plain table action on a
    /// table the namespace does not have (fib4_rule_action/fib6_rule_action give -EAGAIN:
    /// continue). Inverted rules are always kept. The remaining rules are evaluated in full.
    static func ruleProgram(_ rules: [FIBRule], shape: Flow?, v6: Bool, link: (Int32) -> LinkInfo?,
                            tableExists: (UInt32) -> Bool) -> RuleProgram {
        var order: [Int32] = []
        rules.withUnsafeBufferPointer { rb in
            for i in 0..<rb.count {
                let r = rb[i]
                if let shape {
                    if r.action == RuleAction.nop { continue }
                    if r.action == RuleAction.toTable && !r.l3mdev && !tableExists(r.table) { continue }
                    if !r.invert {
                        var fl = shape
                        fl.dst = r.dstBits
                        var t = r.table
                        if !RoutingModel.ruleMatches(rb.baseAddress! + i, fl, v6: v6, l3table: &t, link: link) { continue }
                    }
                }
                order.append(Int32(i))
            }
        }
        // resume[i]: the first program position of a rule at or after rule i (goto targets)
        var resume = [Int32](repeating: Int32(order.count), count: rules.count + 1)
        var p = order.count
        for i in stride(from: rules.count - 1, through: 0, by: -1) {
            if p > 0 && Int(order[p - 1]) == i { p -= 1 }
            resume[i] = Int32(p)
        }
        return RuleProgram(order: order, resume: resume)
    }
}

/// The rules a lookup walks, by position in the family's rule list (see `ruleProgram`).
struct RuleProgram: Sendable {
    let order: [Int32]
    let resume: [Int32]
}

/// What a rule's table action does: look a table up (.EAGAIN: continue) and decide whether
/// the result is suppressed.
/// `model` is the model runRules is called on (alive for the whole call).
protocol RuleActions {
    mutating func lookup(_ model: RoutingModel, _ table: UInt32) -> PolicyOutcome
    func suppress(_ model: RoutingModel, _ rule: UnsafePointer<FIBRule>, _ hit: Hit) -> Bool
}

struct ClosureRuleActions: RuleActions {
    let lookupFn: (UInt32) -> PolicyOutcome
    let suppressFn: (UnsafePointer<FIBRule>, Hit) -> Bool
    func lookup(_ model: RoutingModel, _ table: UInt32) -> PolicyOutcome { lookupFn(table) }
    func suppress(_ model: RoutingModel, _ rule: UnsafePointer<FIBRule>, _ hit: Hit) -> Bool { suppressFn(rule, hit) }
}

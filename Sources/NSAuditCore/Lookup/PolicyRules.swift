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
struct Hit {
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
    /// `action` returns the outcome of a table lookup (.EAGAIN = continue).
    @inline(__always)
    func runRules(_ rules: [FIBRule], _ fl: Flow, v6: Bool,
                  lookup: (UInt32) -> PolicyOutcome,
                  suppress: (FIBRule, Hit) -> Bool) -> PolicyOutcome {
        return rules.withUnsafeBufferPointer { rb in
        var i = 0
        let n = rb.count
        while i < n {
            let rp = rb.baseAddress! + i
            var table = rp.pointee.table
            if !ruleMatches(rp, fl, v6: v6, l3table: &table) { i += 1; continue }
            let r = rp.pointee
            switch r.action {
            case RuleAction.goto:
                if r.gotoIndex >= 0 { i = r.gotoIndex } else { i += 1 }
                continue
            case RuleAction.nop:
                i += 1; continue
            case RuleAction.toTable:
                var o = lookup(table)
                if o.error == nil, let h = o.hit, suppress(r, h) { i += 1; continue }
                if o.error != .EAGAIN { o.rule = r.priority; return o }
                i += 1
            case RuleAction.unreachable:
                return PolicyOutcome(error: .ENETUNREACH, hit: nil, rule: r.priority, rejectType: .unreachable)
            case RuleAction.prohibit:
                return PolicyOutcome(error: .EACCES, hit: nil, rule: r.priority, rejectType: .prohibit)
            default:
                return PolicyOutcome(error: .EINVAL, hit: nil, rule: r.priority, rejectType: .blackhole)
            }
        }
        return PolicyOutcome(error: .ENETUNREACH, hit: nil, rule: nil)
        }
    }
}

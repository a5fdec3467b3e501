/// The policy rules of both families, resolved against the devices, in the order
/// fib_rules_lookup walks them, and what the kernel derives from them.
struct RuleSet: Sendable {
    let rules4: [FIBRule]
    let rules6: [FIBRule]
    /// Every rule, in order (the general lookups).
    let allRules4: RuleProgram
    let allRules6: RuleProgram
    /// IPv4 with only the three default rules: the kernel keeps local and main in one trie
    /// (fib_has_custom_rules is false), so both are searched together and reported as main.
    let merged4: Bool
    let customRules6: Bool
    /// IPv6 rules with suppress_ifgroup, and their groups (see IfgroupSuppression).
    let ifgroupRules6: Bool
    let ifgroupSuppressors6: Set<Int64>
    /// fib_rule_requires_fldissect: some IPv4 rule needs the input packet dissected.
    let requireFlowDissect4: Bool

    /// `forceUnmerged`: keep local and main apart even with only the default rules (tests).
    init(_ ns: NamespaceSnapshot, devices: DeviceTable, forceUnmerged: Bool) {
        func family(_ fam: IPAddress.Family) -> [FIBRule] {
            var rs = ns.rules.enumerated().filter { $0.element.family == fam }
            rs.sort { $0.element.priority != $1.element.priority ? $0.element.priority < $1.element.priority : $0.offset < $1.offset }
            var out = rs.map { FIBRule($0.element, devices: devices) }
            // A goto resolves to the first rule of its target priority. The kernel refuses a
            // goto that does not point forward (fib_nl2rule: target <= pref is "Backward goto
            // not supported"), so its target is always a later rule; a snapshot holding such a
            // rule anyway (a file is outside input) gets it unresolved, as a goto whose target
            // is missing: lookups continue with the next rule, and every goto jumps forward, so
            // a lookup visits each rule at most once.
            for i in out.indices where out[i].action == RuleAction.goto {
                if let t = out[i].gotoTarget, t > out[i].priority,
                   let j = out[(i + 1)...].firstIndex(where: { $0.priority == t }) { out[i].gotoIndex = j }
            }
            return out
        }
        rules4 = family(.v4)
        rules6 = family(.v6)
        let lo = devices.loopbackIndex
        // fib_rule_requires_fldissect: rules on `iif lo` never need the input packet dissected.
        requireFlowDissect4 = rules4.contains { $0.iif != lo && ($0.ipproto != 0 || $0.sport != nil || $0.dport != nil) }
        merged4 = !forceUnmerged && Rule.onlyDefaults4(ns.rules)
        let defaults6: [(UInt32, UInt32)] = [(0, Table.local), (32766, Table.main)]
        customRules6 = !(rules6.count == 2 && zip(rules6, defaults6).allSatisfy { r, d in
            r.priority == d.0 && r.table == d.1 && r.action == RuleAction.toTable && r.isPlain
        })
        ifgroupSuppressors6 = Set(rules6.filter { $0.suppressIfgroup >= 0 && $0.action == RuleAction.toTable }.map(\.suppressIfgroup))
        ifgroupRules6 = customRules6 && !ifgroupSuppressors6.isEmpty
        allRules4 = RoutingModel.ruleProgram(rules4, shape: nil, v6: false, link: devices.link, tableExists: { _ in true })
        allRules6 = RoutingModel.ruleProgram(rules6, shape: nil, v6: true, link: devices.link, tableExists: { _ in true })
    }
}

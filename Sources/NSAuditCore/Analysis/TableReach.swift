/// Which routing tables the return-path analysis of one local address can reach.
///
/// The analysis of an address A asks three kinds of lookups: replies (output lookups from A,
/// unbound or bound to A's VRF), rp_filter's reverse lookups (toward the client, from A, with
/// the VRF of the ingress) and requests to A (input lookups toward A on its ingress). Walking
/// the policy rules in priority order, they all stop at the first rule that surely matches
/// them and sends them to a table that never misses:
///   - replies and reverse lookups at a rule whose only selector is a source holding A (or a
///     plain rule; for an address in a VRF, the l3mdev rule), whose table has a usable
///     default route or a reject default (blackhole, unreachable, prohibit) and no throw
///     route (which would send the lookup on to the next rule);
///   - requests at a plain rule (or, in a VRF, the l3mdev rule) whose table holds A's own
///     local route, the longest prefix there is.
/// When both stop at or before the same rule and no `goto` can jump over it, the lookups
/// only ever meet the tables of the rules up to it: a namespace with only those tables
/// gives the same answers, which is what lets a big table that an address never reaches be
/// left out of its analysis (and out of the re-audit of a fix that adds such a rule).
extension NamespaceSnapshot {
    /// The tables the lookups of `a`'s analysis can reach, or nil when the rules cannot be
    /// shown to stop them early (see above). `anyIngress`: requests may arrive on any
    /// interface, not only `a`'s own.
    func tablesReached(by a: Address, facts: RouteFacts, anyIngress: Bool = false) -> Set<UInt32>? {
        let vrf = link(index: a.index)?.master.flatMap { link(index: $0) }.flatMap { $0.isVRF ? $0 : nil }
        // Requests and reverse lookups from an interface of another VRF (or of none) carry
        // another l3mdev than the address's own: not followed.
        if anyIngress && (vrf != nil || links.contains(where: \.isVRF)) { return nil }
        let rules = self.rules.enumerated().filter { $0.element.family == a.family }
            .sorted { ($0.element.priority, $0.offset) < ($1.element.priority, $1.offset) }.map(\.element)
        var reached: Set<UInt32> = []
        var requestsStop = false
        for r in rules {
            // A goto may jump over the rule that would stop the lookups.
            guard r.action != RuleAction.goto else { return nil }
            let table: UInt32
            if r.l3mdev {
                // Matches only flows with an l3mdev, which are the address's own when it is in
                // a VRF (and then the table is the VRF's); no flow of an address outside VRFs.
                guard let vrf else { continue }
                guard let t = vrf.vrfTable else { return nil }
                table = t
            } else {
                table = r.table
            }
            guard r.action == RuleAction.toTable else { continue }
            reached.insert(table)
            var others = r
            others.src = nil
            others.l3mdev = false
            guard others.hasNoSelector else { continue }
            let anySource = r.src.map { $0.length == 0 } ?? true
            if anySource && hasUsableLocalRoute(a, table: table, facts: facts) { requestsStop = true }
            if anySource || r.src!.contains(a.local), neverMisses(table, a.family, facts: facts) {
                return requestsStop ? reached : nil
            }
        }
        return nil
    }

    /// Whether a lookup in `table` always ends there: a default route (tos 0) that is a
    /// reject route, or a unicast route through one live device; and no throw route.
    func neverMisses(_ table: UInt32, _ family: IPAddress.Family, facts: RouteFacts) -> Bool {
        guard !facts.throwTables.contains(TableID(family: family, table: table)) else { return false }
        return facts.defaults.contains { r in
            guard r.family == family, r.table == table, r.dst.length == 0, r.tos == 0, r.src == nil else { return false }
            switch r.type {
            case .blackhole, .unreachable, .prohibit:
                return true
            case .unicast:
                guard r.nhid == nil, (r.nexthops ?? []).isEmpty, r.flags & (NexthopFlags.dead | NexthopFlags.linkdown) == 0,
                      let oif = r.oif, let dev = link(index: oif) else { return false }
                return dev.adminUp && dev.carrier != false
            default:
                return false
            }
        }
    }

    /// Whether `table` holds `a`'s local host route, alive.
    func hasUsableLocalRoute(_ a: Address, table: UInt32, facts: RouteFacts) -> Bool {
        facts.locals.contains { r in
            guard r.table == table, r.family == a.family, r.dst.address == a.local, r.tos == 0,
                  r.flags & (NexthopFlags.dead | NexthopFlags.linkdown) == 0 else { return false }
            return r.oif.flatMap { link(index: $0) }?.adminUp ?? true
        }
    }
}

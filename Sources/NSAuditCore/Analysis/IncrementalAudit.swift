/// The audit of a namespace after a small edit (a proposed fix, applied to a copy), without
/// building lookup structures for its big tables again.
///
/// The edits this handles are the ones remediation proposes: rules for a few local sources
/// into a new table, a VRF that enslaves an interface, an interface moved out of the
/// namespace. They touch the routes of a few prefixes, and the addresses they reroute
/// ("affected": on an enslaved interface, or the source of an added rule) catch every lookup
/// in a table of their own. So:
///   - an unaffected address's verdicts only change for clients inside the changed region R
///     (the prefixes of every added or removed route, in the tables the original rules can
///     reach): outside R every lookup its analysis makes meets the same rules and the same
///     covering routes; inside R they are asked of a model of the edited namespace whose big
///     tables keep only the routes that overlap R (exact for any destination in R);
///   - an affected address is asked in full of a model without the big tables, which its
///     lookups never reach: a rule ahead of them sends them to a table with a usable default
///     route (it never misses), and the rules ahead of that one use small tables only.
/// Whenever one of these conditions cannot be shown, `findings` returns nil and the caller
/// audits the edited copy in full. Tests compare the two on every proposal of every lab,
/// with every table counted as big.
struct IncrementalAudit {
    let before: NamespaceSnapshot
    /// The return-path results of `before` (owner ingress only).
    let baseResults: [ReturnPathAnalysis.Result]
    let after: NamespaceSnapshot
    /// The edited snapshot `after` belongs to (router-facing interfaces).
    let snapshot: Snapshot
    /// Tables with more routes than this are the ones not built again.
    var bigTable = 4096
    /// When set, the edited namespace's routes are `before.routes` followed by these, and
    /// `after.routes` holds only them (an edit applied without copying a big table).
    var appended: [Route]? = nil

    /// The facts of `before.routes`, when the caller has them (they serve every proposal).
    var beforeFacts: RouteFacts? = nil

    /// When set, the routes that went and came, as the caller found them (`nsaudit diff`:
    /// matched by the kernel's identity of a FIB entry, changed routes on both sides), instead
    /// of the editor's kept-in-order difference; `after.routes` is then the whole new list.
    var routeChanges: (removed: [Route], added: [Route])? = nil

    /// Calls `body` with every route of the edited namespace, read in place.
    func forEachAfterRoute(_ body: (borrowing Route) -> Void) {
        if appended != nil {
            before.routes.withUnsafeBufferPointer { rs in for i in rs.indices { body(rs[i]) } }
        }
        after.routes.withUnsafeBufferPointer { rs in for i in rs.indices { body(rs[i]) } }
    }

    /// The routes of the edited namespace that `keep` selects.
    func afterRoutes(where keep: (borrowing Route) -> Bool) -> [Route] {
        var out: [Route] = []
        forEachAfterRoute { r in if keep(r) { out.append(copy r) } }
        return out
    }

    /// The findings `Remediator.audit` gives for `after`, or nil when an edit is not one this
    /// can follow.
    func findings(netns: String) -> [Finding]? {
        guard let (results, facts) = results() else { return nil }
        return Audit.findings(after, netns, results, routerFacing: snapshot.routerFacingInterfaces(after), describe: false,
                              gatewayLinks: facts.gatewayLinks)
            + Misconfiguration.check(after, netns: netns)
    }

    /// The return-path results a full `ReturnPathAnalysis` of `after` gives (owner ingress
    /// only), with the facts of `after`'s routes; nil when an edit is not one this can follow.
    func results() -> (results: [ReturnPathAnalysis.Result], facts: RouteFacts)? {
        guard before.id == after.id, before.status == .ok, after.status == .ok,
              !before.links.contains(where: \.isVRF), before.nexthops == after.nexthops else { return nil }

        // Links: some may go (moved away), some may change master (enslaved), VRFs may come.
        var changedLinks: Set<Int32> = [], removedLinks: Set<Int32> = []
        var afterByIndex: [Int32: Link] = [:]
        for l in after.links { afterByIndex[l.index] = l }
        for l in before.links {
            guard var m = afterByIndex[l.index] else { removedLinks.insert(l.index); continue }
            guard m.name == l.name else { return nil }
            if m.master != l.master || m.slaveKind != l.slaveKind {
                changedLinks.insert(l.index)
                m.master = l.master; m.slaveKind = l.slaveKind
            }
            guard m == l else { return nil }
        }
        let beforeIndexes = Set(before.links.map(\.index))
        for l in after.links where !beforeIndexes.contains(l.index) { guard l.isVRF else { return nil } }
        let goneNames = Set(before.links.filter { removedLinks.contains($0.index) }.map(\.name))
        let newNames = Set(after.links.filter { !beforeIndexes.contains($0.index) }.map(\.name))
        guard before.addresses.filter({ !removedLinks.contains($0.index) }) == after.addresses,
              sysctlsMatch(except: goneNames.union(newNames)) else { return nil }

        // Rules: only additions, of plain source rules for single addresses and l3mdev rules.
        guard let addedRules = Self.additions(before.rules, after.rules) else { return nil }
        var ruleSources: Set<IPAddress> = []
        for r in addedRules {
            // a plain l3mdev rule, or a lookup whose only selector is one host source
            var others = r
            others.src = nil
            guard r.action == RuleAction.toTable, others.hasNoSelector else { return nil }
            if r.l3mdev { guard r.src == nil else { return nil }; continue }
            guard let s = r.src, Int(s.length) == s.family.bitWidth else { return nil }
            ruleSources.insert(s.address)
        }
        // IPv4 keeps local and main merged while only the default rules exist: a change of
        // that changes lookups everywhere.
        guard Rule.onlyDefaults4(before.rules) == Rule.onlyDefaults4(after.rules) else { return nil }

        // Routes: what went and what came (the editor keeps the order of those that stay).
        let removedRoutes: [Route], addedRoutes: [Route]
        if let routeChanges, appended == nil { (removedRoutes, addedRoutes) = routeChanges } else if let appended { (removedRoutes, addedRoutes) = ([], appended) } else {
            guard let d = Self.difference(before.routes, after.routes) else { return nil }
            (removedRoutes, addedRoutes) = d
        }

        let audited = ReturnPathAnalysis.auditedAddresses(after)
        let affected = Set(audited.filter { changedLinks.contains($0.index) || ruleSources.contains($0.local) }.map(\.local))
        guard ruleSources.isSubset(of: affected) else { return nil }

        // The changed region, per family, in the tables the original rules reach.
        let reachable = Set(before.rules.filter { $0.action == RuleAction.toTable && !$0.l3mdev }.map(\.table))
        var region: [IPAddress.Family: AddressRanges] = [:]
        for fam in [IPAddress.Family.v4, .v6] {
            let cut = (removedRoutes + addedRoutes).filter { $0.family == fam && reachable.contains($0.table) }.map(\.dst)
            region[fam] = AddressRanges(union: cut, family: fam)
        }
        let localTable = Table.local
        // One pass over the routes (or over the additions, with the facts of the routes
        // before, which every proposal shares).
        let facts: RouteFacts
        if let appended {
            var f = beforeFacts ?? RouteFacts(before.routes)
            f.add(RouteFacts(appended))
            facts = f
        } else { facts = RouteFacts(after.routes) }
        for a in audited where !affected.contains(a.local) {
            // Its requests must stop in the local table, at its own local route, before any
            // table the reduced model cuts down; and it must lie outside the region.
            guard let first = after.rules.filter({ $0.family == a.family }).min(by: { $0.priority < $1.priority }),
                  first.action == RuleAction.toTable, first.table == localTable, first.hasNoSelector && !first.l3mdev,
                  after.hasUsableLocalRoute(a, table: localTable, facts: facts),
                  !(region[a.family]?.contains(a.local) ?? false) else { return nil }
        }

        let big = Set(facts.perTable.filter { $0.value > bigTable }.keys)

        var results: [ReturnPathAnalysis.Result] = []
        // Unaffected addresses: their old verdicts outside the region, new ones inside.
        let unaffected = Set(audited.map(\.local)).subtracting(affected)
        if !unaffected.isEmpty && region.values.allSatisfy(\.isEmpty) {
            results = baseResults.filter { unaffected.contains($0.address.local) }
        } else if !unaffected.isEmpty {
            var reduced = after
            var inBig = TableMembership(big)
            reduced.routes = afterRoutes { r in
                !inBig.contains(r) || r.dst.length == 0 || r.type == .local || (region[r.family]?.overlaps(r.dst) ?? false)
            }
            let inside = ReturnPathAnalysis(reduced, options: .init(only: unaffected)).run()
            var insideBy: [String: ReturnPathAnalysis.Result] = [:]
            for r in inside { insideBy["\(r.address.local)|\(r.ingress)"] = r }
            for old in baseResults where unaffected.contains(old.address.local) {
                guard let new = insideBy["\(old.address.local)|\(old.ingress)"], let rg = region[old.address.family] else { return nil }
                results.append(Self.merge(old, new, region: rg))
            }
            guard results.count == inside.count else { return nil }
        }
        // Affected addresses: in full, without the big tables their lookups never reach.
        if !affected.isEmpty {
            // Per family, the tables to keep whole: those the addresses' lookups can reach,
            // or all of them for an address whose lookups nothing is shown to catch.
            var needed: [IPAddress.Family: Set<UInt32>] = [:]
            var everything: Set<IPAddress.Family> = []
            for a in audited where affected.contains(a.local) {
                if let tables = after.tablesReached(by: a, facts: facts) {
                    needed[a.family, default: []].formUnion(tables)
                } else { everything.insert(a.family) }
            }
            var reduced = after
            var inBig = TableMembership(big), inNeeded = TableMembership(Set(needed.flatMap { f, ts in ts.map { TableID(family: f, table: $0) } }))
            reduced.routes = afterRoutes { r in
                everything.contains(r.family) || !inBig.contains(r) || inNeeded.contains(r) || r.type == .local
            }
            results += ReturnPathAnalysis(reduced, options: .init(only: affected)).run()
        }
        return (results, facts)
    }

    func sysctlsMatch(except names: Set<String>) -> Bool {
        if before.settings == after.settings { return true }
        return before.settings.removingDevices(names) == after.settings.removingDevices(names)
    }

    /// Whether routes are in a set of tables, asked route after route: routes come grouped by
    /// table, so the set is searched once per group, not once per route.
    struct TableMembership {
        let tables: Set<TableID>
        var last: (family: IPAddress.Family, table: UInt32, member: Bool)? = nil
        init(_ tables: Set<TableID>) { self.tables = tables }
        mutating func contains(_ r: borrowing Route) -> Bool {
            if let l = last, l.table == r.table, l.family == r.family { return l.member }
            let member = tables.contains(TableID(family: r.family, table: r.table))
            last = (r.family, r.table, member)
            return member
        }
    }

    /// The elements of `after` that are not in `before` (as multisets; rules are few and the
    /// editor keeps them in priority order), when nothing of `before` is gone; nil otherwise.
    static func additions<T: Equatable>(_ before: [T], _ after: [T]) -> [T]? {
        var pool = before
        var added: [T] = []
        for x in after {
            if let i = pool.firstIndex(of: x) { pool.remove(at: i) } else { added.append(x) }
        }
        return pool.isEmpty ? added : nil
    }

    /// (removed, added) such that `before` is the kept elements plus `removed`, and `after`
    /// the kept elements (in order) followed by `added`: how the snapshot editor changes a
    /// list. Nil when `after` has more than a few additions in the middle (not an edit).
    static func difference<T: Equatable>(_ before: [T], _ after: [T]) -> ([T], [T])? {
        var removed: [T] = []
        var j = 0
        before.withUnsafeBufferPointer { b in
            after.withUnsafeBufferPointer { a in
                for x in b {
                    if j < a.count && a[j] == x { j += 1 } else { removed.append(x) }
                }
            }
        }
        let added = Array(after[j...])
        // An edit adds a handful of routes; a long tail means the lists were reordered.
        if added.count > 10_000 && added.count > before.count / 100 { return nil }
        return (removed, added)
    }

    /// `old` outside the region, `new` inside it.
    static func merge(_ old: ReturnPathAnalysis.Result, _ new: ReturnPathAnalysis.Result, region: AddressRanges) -> ReturnPathAnalysis.Result {
        if region.isEmpty { return old }
        var out = old
        out.symmetric = old.symmetric.subtracting(region).union(new.symmetric.intersecting(region))
        var groups: [(ReturnPathAnalysis.Verdict, AddressRanges)] = []
        for (v, r) in old.byVerdict {
            let kept = r.subtracting(region)
            let added = new.byVerdict.first { $0.0 == v }?.1.intersecting(region)
            let all = added.map { kept.union($0) } ?? kept
            if !all.isEmpty { groups.append((v, all)) }
        }
        for (v, r) in new.byVerdict where !old.byVerdict.contains(where: { $0.0 == v }) {
            let inside = r.intersecting(region)
            if !inside.isEmpty { groups.append((v, inside)) }
        }
        out.byVerdict = groups.sorted { ($0.1.ranges.first?.0 ?? 0) < ($1.1.ranges.first?.0 ?? 0) }
        return out
    }
}

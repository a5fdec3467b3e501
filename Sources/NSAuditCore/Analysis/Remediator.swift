import Dispatch

/// Proposes concrete fixes for an asymmetric-reply or rp-filter-drop finding, in `ip`
/// syntax, and keeps only those that, applied to a copy of the snapshot, remove the finding
/// without creating new ones:
///   - source-based routing: a rule `from A` into a table of its own whose default route
///     leaves through the ingress interface;
///   - a VRF holding the ingress interface (services then bind to the VRF);
///   - moving the ingress interface into a namespace of its own.
struct Remediator {
    let snapshot: Snapshot
    let ns: NamespaceSnapshot
    let options: Audit.Options
    /// Audits shared by the proposals for the findings of one namespace (see `Memo`).
    var memo: Memo? = nil
    /// The return-path results of the namespace as it is, for incremental re-audits.
    var baseResults: [ReturnPathAnalysis.Result]? = nil
    /// Incremental re-audits: tables with more routes than this are not built again (tests
    /// set 0 to cut every table down); nil audits every edited copy in full.
    var incrementalBigTable: Int? = 4096
    /// One pass over the namespace's routes, shared by every proposal's incremental audit.
    var beforeFacts: RouteFacts? = nil

    /// The namespace's route facts: the ones given, else one pass now.
    var routeFacts: RouteFacts { beforeFacts ?? RouteFacts(ns.routes) }

    /// The audit of the namespace as it is (the same for every proposal) and the audits of
    /// each edited copy, keyed by the commands applied: findings with the same address and
    /// ingress get the same proposals, and the audits are pure functions of the snapshot.
    final class Memo {
        var before: Set<String>?
        var after: [String: (edited: Snapshot?, findings: [Finding])] = [:]
        var moved: [String: [Finding]] = [:]
        /// carriesOtherRoutes per interface index (a scan of every route, once per interface).
        var carries: [Int32: Bool] = [:]
        init(before: Set<String>? = nil) { self.before = before }
    }


    func proposals(for f: Finding) -> [Remediation] {
        candidates(for: f).compactMap { verify($0.0, fixing: f, movesTo: $0.1) }
    }

    /// The fixes to try for a finding, not verified yet, each with the namespace it moves
    /// the interface to (namespace fixes).
    func candidates(for f: Finding) -> [(Remediation, String?)] {
        guard let a = f.localAddress, let ingName = f.ingress,
              let ing = ns.link(named: ingName), let addr = ns.addresses.first(where: { $0.local == a }) else { return [] }
        // The ingress must own the address for these fixes to make sense.
        guard addr.index == ing.index else { return [] }
        let subnets = ns.addresses.filter { $0.index == ing.index && $0.family == a.family && Int($0.prefixlen) < a.family.bitWidth }
        guard let subnet = subnets.first?.prefix else { return [] }
        let (gw, assumed) = gateway(on: ing, subnet: subnet, avoiding: a)
        let nsName = ns.names.first ?? ns.id
        let table = freeTable()
        let note = assumed ? " (assuming the router on \(subnet) is \(gw); use yours)" : ""
        var out: [Remediation] = []
        func defaultRoute(via gw: IPAddress, table: UInt32?) -> SnapshotEdit.RouteSpec {
            var r = SnapshotEdit.RouteSpec(family: a.family, dst: nil)
            r.gateway = gw; r.device = ing.name; r.table = table
            return r
        }

        // One table for the interface, and a rule for each of its addresses of the family:
        // the same fix for every finding on the interface, as an operator would apply it.
        let own = ns.addresses.filter { x in
            x.index == ing.index && x.family == a.family && !(x.family == .v6 && x.local.isLinkLocal)
                && x.flags & AddressFlags.dadfailed == 0
        }
        let prios = freePriorities(a.family, count: own.count)
        var srcEdits: [SnapshotEdit] = []
        for (x, p) in zip(own, prios) {
            var rule = SnapshotEdit.RuleSpec(family: a.family)
            rule.from = IPPrefix(x.local, a.family.bitWidth); rule.action = .lookup(table); rule.priority = p
            srcEdits.append(.ruleAdd(netns: nsName, rule: rule))
        }
        var routed: Set<IPPrefix> = []
        for x in own where Int(x.prefixlen) < a.family.bitWidth && routed.insert(x.prefix).inserted {
            var r = SnapshotEdit.RouteSpec(family: a.family, dst: x.prefix)
            r.device = ing.name; r.table = table
            srcEdits.append(.routeAdd(netns: nsName, route: r, replace: false))
        }
        srcEdits.append(.routeAdd(netns: nsName, route: defaultRoute(via: gw, table: table), replace: false))
        let who = own.count == 1 ? "\(a)" : "\(ing.name)'s addresses (\(own.map { $0.local.description }.joined(separator: ", ")))"
        let src = Remediation(kind: "source-routing",
            description: "Route replies from \(who) back out \(ing.name): \(own.count == 1 ? "a rule for that source" : "a rule for each of them") selects table \(table), which holds \(ing.name)'s subnet and a default route through \(ing.name)\(note).",
            edits: srcEdits, verified: false)
        out.append(src)

        // A VRF or a namespace of its own takes the interface away from the main table with
        // every route through it, and brings back only its subnets and a default route: only
        // for an interface that carries nothing else (a management or service NIC), not for
        // one that routes other networks (an uplink), whose routes would be cut off.
        let carries = memo?.carries[ing.index] ?? carriesOtherRoutes(ing)
        memo?.carries[ing.index] = carries
        guard !carries else { return out.map { ($0, nil) } }

        let vrfName = freeLinkName("vrf-\(ing.name)")
        let vrf = Remediation(kind: "vrf",
            description: "Put \(ing.name) in a VRF of its own (table \(table)) with its own default route\(note); services on \(a) must bind to the VRF (`ip vrf exec \(vrfName) ...`) or run with net.ipv4.tcp_l3mdev_accept=1.",
            edits: [.vrfAdd(netns: nsName, name: vrfName, table: table),
                    .linkSet(netns: nsName, device: vrfName, change: .up),
                    .linkSet(netns: nsName, device: ing.name, change: .master(vrfName)),
                    .routeAdd(netns: nsName, route: defaultRoute(via: gw, table: table), replace: false)],
            verified: false)
        out.append(vrf)

        let newNS = freeNamespaceName("\(ns.names.first ?? "ns")-\(ing.name)")
        var moveEdits: [SnapshotEdit] = [.netnsAdd(newNS), .linkSet(netns: nsName, device: ing.name, change: .netns(newNS)),
                                         .linkSet(netns: newNS, device: "lo", change: .up)]
        for x in ns.addresses where x.index == ing.index && !(x.family == .v6 && x.local.isLinkLocal) {
            moveEdits.append(.addressAdd(netns: newNS, device: ing.name, address: x.local, prefixLength: x.prefixlen, noPrefixRoute: false))
        }
        moveEdits += [.linkSet(netns: newNS, device: ing.name, change: .up),
                      .routeAdd(netns: newNS, route: defaultRoute(via: gw, table: nil), replace: false)]
        let move = Remediation(kind: "namespace",
            description: "Move \(ing.name) and its addresses into a namespace of its own, \(newNS), with its own default route\(note); run the services for \(a) there.",
            edits: moveEdits, verified: false)
        out.append(move)

        return out.map { ($0, $0.kind == "namespace" ? newNS : nil) }
    }

    /// Whether a route other than the interface's own connected, local and broadcast routes
    /// and default routes leaves through it.
    func carriesOtherRoutes(_ ing: Link) -> Bool {
        let own = ns.addresses.filter { $0.index == ing.index }
        return ns.routes.withUnsafeBufferPointer { rs in
            rs.indices.contains { i in
                guard rs[i].oif == ing.index || (rs[i].nexthops ?? []).contains(where: { $0.oif == ing.index }) else { return false }
                if rs[i].dst.length == 0 { return false }
                let t = rs[i].type
                if t == .local || t == .broadcast || t == .anycast || t == .multicast { return false }
                if rs[i].gateway == nil && (rs[i].nexthops ?? []).isEmpty && own.contains(where: { $0.prefix == rs[i].dst }) { return false }
                return true
            }
        }
    }

    /// Audits the edited copies of these candidates that the memo does not hold yet, on
    /// every core, and keeps them in the memo (verify then only reads them).
    func precompute(_ candidates: [(Remediation, String?)]) {
        guard let memo else { return }
        var seen: Set<String> = []
        var todo: [(key: String, edits: [SnapshotEdit], movesTo: String?)] = []
        for (r, m) in candidates {
            let k = r.commands.joined(separator: "\n")
            if memo.after[k] == nil, seen.insert(k).inserted { todo.append((k, r.edits, m)) }
        }
        guard !todo.isEmpty else { return }
        let (snapshot, ns, options, base, big) = (self.snapshot, self.ns, self.options, self.baseResults, self.incrementalBigTable)
        let facts = routeFacts
        let jobs = todo.map { ($0.edits, $0.movesTo) }
        let audits = parallelMap(jobs.count) { i in
            Remediator(snapshot: snapshot, ns: ns, options: options, baseResults: base, incrementalBigTable: big, beforeFacts: facts)
                .editedAudit(jobs[i].0, movesTo: jobs[i].1)
        }
        for (t, x) in zip(todo, audits) {
            memo.after[t.key] = (x.edited, x.after)
            if let m = x.moved { memo.moved[t.key] = m }
        }
    }

    /// Applies the edits to a copy of the snapshot and audits the namespace (and the
    /// namespace the interface moves to); nil snapshot when an edit does not apply.
    func editedAudit(_ edits: [SnapshotEdit], movesTo: String?) -> (edited: Snapshot?, after: [Finding], moved: [Finding]?) {
        if movesTo == nil, let x = appendingAudit(edits) { return x }
        var editor = SnapshotEditor(snapshot, defaultNamespace: ns.id)
        for e in edits {
            do { try editor.apply(e) } catch { return (nil, [], nil) }
        }
        guard let afterNS = editor.snapshot.namespace(ns.id) else { return (nil, [], nil) }
        let after = incrementalAudit(afterNS, in: editor.snapshot) ?? audit(afterNS.id, in: editor.snapshot)
        let moved = movesTo.map { audit($0, in: editor.snapshot) }
        return (editor.snapshot, after, moved)
    }

    /// Applies the commands to a copy of the snapshot and re-audits: kept only when the
    /// finding is gone and nothing new appeared.
    func verify(_ r: Remediation, fixing f: Finding, movesTo: String?) -> Remediation? {
        let commandsKey = r.commands.joined(separator: "\n")
        let edited: Snapshot?
        let after: [Finding]
        if let m = memo?.after[commandsKey] {
            (edited, after) = m
        } else {
            let x = editedAudit(r.edits, movesTo: nil)
            (edited, after) = (x.edited, x.after)
            memo?.after[commandsKey] = (edited, after)
        }
        guard let edited else { return nil }
        let before: Set<String>
        if let b = memo?.before { before = b } else {
            before = Set(audit(ns.id, in: snapshot).map(\.id))
            memo?.before = before
        }
        if after.contains(where: { $0.id == f.id }) { return nil }
        let netns = ns.names.first ?? ns.id
        // The same address must not turn up with another return-path problem.
        if after.contains(where: { $0.localAddress == f.localAddress && $0.netns == netns && FindingKind.returnPath.contains($0.kind) && $0.severity >= .warning }) { return nil }
        if after.contains(where: { !before.contains($0.id) && $0.severity >= .warning }) { return nil }
        if let target = movesTo {
            let moved: [Finding]
            if let m = memo?.moved[commandsKey] { moved = m } else {
                moved = audit(target, in: edited)
                memo?.moved[commandsKey] = moved
            }
            if moved.contains(where: { FindingKind.returnPath.contains($0.kind) && $0.localAddress == f.localAddress }) { return nil }
        }
        var ok = r
        ok.verified = true
        return ok
    }

    /// An edit that only adds rules, and routes to tables no route uses yet (a source-routing
    /// fix), applied to a copy of the snapshot without the namespace's routes (no copy of a
    /// big table), then audited incrementally with those routes appended; nil for any other
    /// edit, or when the incremental audit cannot follow it.
    func appendingAudit(_ edits: [SnapshotEdit]) -> (edited: Snapshot?, after: [Finding], moved: [Finding]?)? {
        guard let base = baseResults, let big = incrementalBigTable, !options.anyIngress,
              let k = snapshot.namespaces.firstIndex(where: { $0.id == ns.id }) else { return nil }
        var skeleton = snapshot
        skeleton.namespaces[k].routes = []
        var editor = SnapshotEditor(skeleton, defaultNamespace: ns.id)
        for e in edits {
            do { try editor.apply(e) } catch { return nil }
        }
        guard let after = editor.snapshot.namespace(ns.id), after.links == ns.links, after.addresses == ns.addresses,
              editor.snapshot.namespaces.count == snapshot.namespaces.count else { return nil }
        // Nothing was flushed (links unchanged) and no added route can collide with one that
        // exists (their tables have none).
        let facts = routeFacts
        guard !after.routes.contains(where: { r in facts.perTable.keys.contains { $0.table == r.table } }) else { return nil }
        let inc = IncrementalAudit(before: ns, baseResults: base, after: after, snapshot: editor.snapshot, bigTable: big,
                                   appended: after.routes, beforeFacts: facts)
        guard let findings = inc.findings(netns: after.names.first ?? after.id) else { return nil }
        return (editor.snapshot, findings, nil)
    }

    /// `audit` of the edited namespace through `IncrementalAudit`, when it can follow the edit.
    func incrementalAudit(_ after: NamespaceSnapshot, in snap: Snapshot) -> [Finding]? {
        guard let base = baseResults, let big = incrementalBigTable, !options.anyIngress else { return nil }
        return IncrementalAudit(before: ns, baseResults: base, after: after, snapshot: snap, bigTable: big)
            .findings(netns: after.names.first ?? after.id)
    }

    func audit(_ id: String, in snap: Snapshot) -> [Finding] {
        guard let n = snap.namespace(id) else { return [] }
        var copy = snap
        copy.namespaces = [n] + snap.namespaces.filter { $0.id != n.id }
        let analysis = ReturnPathAnalysis(n, options: .init(anyIngress: options.anyIngress))
        let netns = n.names.first ?? n.id
        return Audit.findings(n, netns, analysis.run(), routerFacing: copy.routerFacingInterfaces(n), describe: false)
            + Misconfiguration.check(n, netns: netns)
    }

    /// A gateway on the ingress subnet: one a route already uses, else the address of a
    /// forwarding neighbour on the link, else the subnet's first host (assumed).
    func gateway(on ing: Link, subnet: IPPrefix, avoiding a: IPAddress) -> (IPAddress, assumed: Bool) {
        for r in ns.routes where r.oif == ing.index {
            if let g = r.gateway, subnet.contains(g) { return (g, false) }
        }
        for l in [ing] {
            if let peerID = l.peerNetns, let peerIndex = l.link, let peer = snapshot.namespace(peerID),
               snapshot.routerFacingInterfaces(ns).contains(l.name) {
                if let x = peer.addresses.first(where: { $0.index == peerIndex && subnet.contains($0.local) }) { return (x.local, false) }
            }
        }
        var first = IPAddress(family: subnet.family, bits: subnet.address.bits + 1)
        if first == a { first = IPAddress(family: subnet.family, bits: subnet.address.bits + 2) }
        return (first, true)
    }

    func freeTable() -> UInt32 {
        let used = Set(ns.rules.map(\.table) + ns.links.compactMap(\.vrfTable) + routeFacts.perTable.keys.map(\.table))
        var t: UInt32 = 100
        while used.contains(t) { t += 1 }
        return t
    }

    /// `count` rule priorities from 1000 up that no rule of the family uses.
    func freePriorities(_ f: IPAddress.Family, count: Int) -> [UInt32] {
        let used = Set(ns.rules.filter { $0.family == f }.map(\.priority))
        var out: [UInt32] = []
        var p: UInt32 = 1000
        while out.count < count {
            if !used.contains(p) { out.append(p) }
            p += 1
        }
        return out
    }

    func freeLinkName(_ base: String) -> String {
        var name = String(base.prefix(15))
        var n = 1
        while ns.link(named: name) != nil { name = String(base.prefix(13)) + "\(n)"; n += 1 }
        return name
    }

    func freeNamespaceName(_ base: String) -> String {
        var name = base
        var n = 1
        while snapshot.namespace(name) != nil { name = "\(base)-\(n)"; n += 1 }
        return name
    }
}

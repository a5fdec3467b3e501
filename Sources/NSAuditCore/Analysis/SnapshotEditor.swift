/// Applies `ip` commands to a snapshot, with the side effects the kernel has (the routes an
/// address brings, a VRF enslavement moving them, a namespace move flushing addresses), so a
/// planned change can be audited before it touches the host (`nsaudit report --apply`), and
/// proposed fixes can be checked.
///
/// Supported: `ip [-n NS] [-4|-6] addr add|del`, `route add|replace|del` (single path),
/// `rule add|del`, `link add NAME type vrf table N`, `link set DEV up|down|master VRF|nomaster|netns NS`,
/// `ip netns add NS`, `sysctl -w KEY=VALUE` and `ip netns exec NS sysctl -w KEY=VALUE`.
public struct SnapshotEditor {
    /// The snapshot as edited so far.
    public var snapshot: Snapshot {
        mutating get { sortAddedRules(); return state }
    }
    private var state: Snapshot
    /// The namespace for commands without `-n`.
    public var defaultNamespace: String?
    /// Namespaces (by position) whose added rules are appended, awaiting one stable sort by
    /// priority (`sortAddedRules`): inserting each in place cost a move of every rule after
    /// it, quadratic for a script of thousands of rules.
    private var rulesToSort = Set<Int>()
    /// The lowest non-zero priority of each namespace's rules of a family (see `rule`),
    /// kept as rules are added; dropped when one is deleted.
    private var lowestPriority: [Int: [IPAddress.Family: UInt32]] = [:]

    public init(_ snapshot: Snapshot, defaultNamespace: String? = nil) {
        self.state = snapshot
        self.defaultNamespace = defaultNamespace ?? snapshot.namespace("root")?.id ?? (snapshot.namespaces.count == 1 ? snapshot.namespaces[0].id : nil)
    }

    /// Rules are kept in priority order (the order fib_rules_lookup walks and `ip rule`
    /// lists); among equal priorities, in the order they were added: a stable sort by
    /// priority of the rules as they were plus the added ones appended in order puts each
    /// added rule after the family's last rule of a lower or equal priority, where the
    /// kernel inserts it (fib_nl_newrule).
    mutating func sortAddedRules() {
        for k in rulesToSort { Self.sortRules(&state.namespaces[k].rules) }
        rulesToSort.removeAll()
    }

    static func sortRules(_ rules: inout [Rule]) {
        // per family: the positions of the family's rules, refilled in sorted order
        for f in [IPAddress.Family.v4, .v6] {
            let at = rules.indices.filter { rules[$0].family == f }
            let sorted = at.map { rules[$0] }.enumerated().sorted { a, b in
                a.element.priority != b.element.priority ? a.element.priority < b.element.priority : a.offset < b.offset
            }
            for (slot, r) in zip(at, sorted) { rules[slot] = r.element }
        }
    }

    /// Applies every line of a change file (blank lines and `#` comments ignored).
    public mutating func apply(script: String) throws(EditError) {
        // "\r\n" is one Character: split on it too (a CRLF file is read as lines, not as one).
        for (n, raw) in script.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            var line = String(raw)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            line = line.trimmedASCIIWhitespace
            if line.isEmpty { continue }
            do { try apply(line) } catch { throw EditError(line: n + 1, command: line, message: error.message) }
        }
    }

    /// Applies one command (see `SnapshotEdit.parse`).
    public mutating func apply(_ command: String) throws(EditError) {
        for e in try SnapshotEdit.parse(command, defaultNamespace: defaultNamespace) { try apply(e, command: command) }
    }

    /// Applies one typed edit, with the kernel's side effects.
    public mutating func apply(_ edit: SnapshotEdit) throws(EditError) { try apply(edit, command: edit.command) }

    mutating func apply(_ edit: SnapshotEdit, command: String) throws(EditError) {
        func fail(_ m: String) -> EditError { EditError(line: 0, command: command, message: m) }
        if case .netnsAdd(let name) = edit { return addNamespace(name) }
        let nsn = edit.netns
        guard let k = state.namespaces.firstIndex(where: { $0.id == nsn || $0.names.contains(nsn) }) else {
            throw fail(edit.isSysctl ? "no namespace for sysctl" : "no namespace \"\(nsn)\" in the snapshot")
        }
        // The namespace is moved out of the snapshot while it is edited, not copied: a copy
        // would copy its rules and routes on the first change (copy-on-write), once per
        // command, which made a script of 20,000 rules quadratic.
        // Edits that read the rules' order see them sorted.
        switch edit {
        case .ruleDel, .vrfAdd:
            if rulesToSort.contains(k) { Self.sortRules(&state.namespaces[k].rules); rulesToSort.remove(k) }
            lowestPriority[k] = nil
        default: break
        }
        var ns = NamespaceSnapshot(id: "")
        swap(&ns, &state.namespaces[k])
        var move: Move?
        do {
            switch edit {
            case .netnsAdd: break
            case .sysctl(_, let name, let value): ns.settings.set(name, value)
            case .addressAdd(_, let d, let a, let l, let np): try addressAdd(&ns, device: d, address: a, prefixLength: l, noPrefixRoute: np, fail)
            case .addressDel(_, let d, let a, _): try addressDel(&ns, device: d, address: a, fail)
            case .routeAdd(_, let r, let replace): try routeAdd(&ns, r, replace: replace, fail)
            case .routeDel(_, let r): try routeDel(&ns, r, fail)
            case .ruleAdd(_, let r):
                var low = lowestPriority[k] ?? [:]
                try ruleAdd(&ns, r, lowest: &low, fail)
                lowestPriority[k] = low
                rulesToSort.insert(k)
            case .ruleDel(_, let r): try ruleDel(&ns, r, fail)
            case .vrfAdd(_, let name, let t): try vrfAdd(&ns, name: name, table: t, fail)
            case .linkSet(_, let d, let change): move = try linkSet(&ns, device: d, change, fail)
            }
        } catch {
            swap(&ns, &state.namespaces[k])
            throw error
        }
        swap(&ns, &state.namespaces[k])
        if let move { try moveLink(move.link, from: k, to: move.target, fail) }
    }

    // MARK: namespaces and sysctls

    mutating func addNamespace(_ name: String) {
        guard state.namespace(name) == nil else { return }
        var ns = NamespaceSnapshot(id: name, names: [name], inode: 0, foundBy: [Discovery(kind: .named, path: "/run/netns/\(name)")])
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.loopback, operstate: "DOWN", mtu: 65536, linkType: 772)]
        ns.rules = Self.defaultRules()
        state.namespaces.append(ns)
    }

    static func defaultRules() -> [Rule] {
        var out: [Rule] = []
        for f in [IPAddress.Family.v4, .v6] {
            var local = Rule(family: f, priority: 0, table: Table.local); local.protocol = 2
            var main = Rule(family: f, priority: 32766, table: Table.main); main.protocol = 2
            out += [local, main]
            if f == .v4 { var d = Rule(family: f, priority: 32767, table: Table.default); d.protocol = 2; out.append(d) }
        }
        return out
    }

    // MARK: addresses

    func device(_ ns: NamespaceSnapshot, _ name: String, _ fail: (String) -> EditError) throws(EditError) -> Link {
        guard let l = ns.link(named: name) else { throw fail("Cannot find device \"\(name)\"") }
        return l
    }

    /// The table a device's kernel routes go to: its VRF's, or `fallback`.
    func table(for dev: Link, in ns: NamespaceSnapshot, fallback: UInt32) -> UInt32 {
        if let m = dev.master, let v = ns.link(index: m), v.isVRF, let t = v.vrfTable { return t }
        return fallback
    }

    /// The routes the kernel adds for an address (fib_add_ifaddr, addrconf). An IPv4
    /// secondary address (another address of the device already holds its subnet) gets only
    /// its local route, with the primary as source: the subnet's routes are the primary's.
    func kernelRoutes(_ a: Address, _ dev: Link, _ ns: NamespaceSnapshot) -> [Route] {
        var out: [Route] = []
        let f = a.family
        let local = table(for: dev, in: ns, fallback: Table.local), main = table(for: dev, in: ns, fallback: Table.main)
        var lr = Route(family: f, table: local, type: .local, dst: IPPrefix(a.local, f.bitWidth), protocol: 2,
                       scope: f == .v4 ? Scope.host : 0)
        lr.oif = dev.index
        if f == .v4 && a.flags & AddressFlags.secondary != 0 {
            lr.prefsrc = ns.addresses.first { $0.index == dev.index && $0.family == .v4 && $0.flags & AddressFlags.secondary == 0 && $0.prefix == a.prefix }?.local ?? a.local
            return [lr]
        }
        if f == .v4 { lr.prefsrc = a.local }
        out.append(lr)
        if Int(a.prefixlen) < f.bitWidth && a.flags & AddressFlags.noprefixroute == 0 {
            var cr = Route(family: f, table: main, type: .unicast, dst: a.prefix, protocol: 2,
                           scope: f == .v4 ? Scope.link : 0, metric: f == .v4 ? 0 : 256)
            cr.oif = dev.index
            if f == .v4 { cr.prefsrc = a.local }
            out.append(cr)
        }
        if f == .v4 && a.prefixlen < 31 {
            var br = Route(family: f, table: local, type: .broadcast, dst: IPPrefix(a.prefix.last, 32), protocol: 2, scope: Scope.link)
            br.oif = dev.index; br.prefsrc = a.local
            out.append(br)
        }
        return out
    }

    mutating func addressAdd(_ ns: inout NamespaceSnapshot, device name: String, address addr: IPAddress, prefixLength: UInt8,
                             noPrefixRoute: Bool, _ fail: (String) -> EditError) throws(EditError) {
        let dev = try device(ns, name, fail)
        guard Int(prefixLength) <= addr.family.bitWidth else { throw fail("invalid prefix length \(prefixLength)") }
        guard !ns.addresses.contains(where: { $0.index == dev.index && $0.local == addr }) else { throw fail("RTNETLINK answers: File exists") }
        let p = IPPrefix(addr, Int(prefixLength))
        var a = Address(index: dev.index, local: addr, prefixlen: prefixLength, scope: 0, flags: AddressFlags.permanent)
        if noPrefixRoute { a.flags |= AddressFlags.noprefixroute }
        if addr.family == .v4 {
            a.label = dev.name
            if p.length < 31 { a.broadcast = p.last }
            if ns.addresses.contains(where: { $0.index == dev.index && $0.family == .v4 && $0.prefix == a.prefix }) { a.flags |= AddressFlags.secondary }
        }
        ns.addresses.append(a)
        if dev.adminUp { ns.routes += kernelRoutes(a, dev, ns) }
    }

    mutating func addressDel(_ ns: inout NamespaceSnapshot, device name: String, address addr: IPAddress, _ fail: (String) -> EditError) throws(EditError) {
        let dev = try device(ns, name, fail)
        guard let i = ns.addresses.firstIndex(where: { $0.index == dev.index && $0.local == addr }) else { throw fail("RTNETLINK answers: Cannot assign requested address") }
        ns.addresses.remove(at: i)
        ns.routes.removeAll { $0.protocol == 2 && $0.oif == dev.index && ($0.prefsrc == addr || ($0.type == .local && $0.dst.address == addr)) }
    }

    // MARK: routes

    /// The route an `ip route add` of `spec` makes: the kernel's defaults (table main,
    /// protocol boot, metric 1024 for IPv6, scope link for a device route), the device of
    /// the gateway's connected route when none is given.
    func route(_ ns: NamespaceSnapshot, _ spec: SnapshotEdit.RouteSpec, _ fail: (String) -> EditError) throws(EditError) -> Route {
        let fam = spec.family, type = spec.type ?? .unicast
        var r = Route(family: fam, table: spec.table ?? Table.main, type: type, dst: spec.dst ?? .any(fam),
                      protocol: spec.protocol ?? 3, scope: 0, metric: spec.metric ?? (fam == .v6 ? 1024 : 0))
        r.gateway = spec.gateway; r.prefsrc = spec.prefsrc; r.tos = spec.tos ?? 0
        if spec.onlink { r.flags |= NexthopFlags.onlink }
        if let d = spec.device { r.oif = try device(ns, d, fail).index }
        if let id = spec.nhid {
            guard ns.nexthops.contains(where: { $0.id == id }) else { throw fail("unknown nexthop id \(id)") }
            r.nhid = id
        }
        if let s = spec.scope { r.scope = s }
        else if type == .local { r.scope = Scope.host } else if type == .unicast && r.gateway == nil && r.nhid == nil && fam == .v4 { r.scope = Scope.link }
        if type == .unicast && r.oif == nil && r.nhid == nil {
            // Resolve the device from the gateway's connected route, as the kernel does.
            guard let g = r.gateway, let dev = ns.routes.first(where: { $0.family == fam && $0.protocol == 2 && $0.type == .unicast && $0.dst.contains(g) && $0.gateway == nil })?.oif else {
                throw fail("RTNETLINK answers: Network is unreachable (no device for the gateway)")
            }
            r.oif = dev
        }
        return r
    }

    mutating func routeAdd(_ ns: inout NamespaceSnapshot, _ spec: SnapshotEdit.RouteSpec, replace: Bool, _ fail: (String) -> EditError) throws(EditError) {
        let r = try route(ns, spec, fail)
        let same = ns.routes.firstIndex { $0.family == r.family && $0.table == r.table && $0.dst == r.dst && $0.tos == r.tos && $0.metric == r.metric }
        if let same {
            guard replace else { throw fail("RTNETLINK answers: File exists") }
            ns.routes[same] = r
        } else {
            ns.routes.append(r)
        }
    }

    mutating func routeDel(_ ns: inout NamespaceSnapshot, _ spec: SnapshotEdit.RouteSpec, _ fail: (String) -> EditError) throws(EditError) {
        let dst = spec.dst ?? .any(spec.family), table = spec.table ?? Table.main
        guard let i = ns.routes.firstIndex(where: { $0.family == spec.family && $0.dst == dst && $0.table == table }) else { throw fail("RTNETLINK answers: No such process") }
        ns.routes.remove(at: i)
    }

    // MARK: rules

    /// The rule an `ip rule add` of `spec` makes (lookup main without an action; without a
    /// priority, fib_default_rule_pref: one below the first rule with a non-zero priority).
    /// `lowest`: that priority by family where known (it is kept up to date by `ruleAdd`).
    func rule(_ ns: NamespaceSnapshot, _ spec: SnapshotEdit.RuleSpec, lowest: inout [IPAddress.Family: UInt32]) -> Rule {
        var r = Rule(family: spec.family, priority: 0, table: Table.main)
        if spec.not { r.flags |= RuleFlags.invert }
        r.src = spec.from; r.dst = spec.to; r.iif = spec.iif; r.oif = spec.oif
        if let m = spec.fwmark { r.fwmark = m; r.fwmask = spec.fwmask ?? 0xffff_ffff }
        r.ipproto = spec.ipproto; r.sport = spec.sport; r.dport = spec.dport
        r.suppressPrefixlen = spec.suppressPrefixlength
        r.suppressIfgroup = spec.suppressIfgroup
        r.tos = spec.tos ?? 0; r.uidrange = spec.uidrange
        switch spec.action ?? .lookup(Table.main) {
        case .lookup(let t): r.table = t; r.action = RuleAction.toTable
        case .blackhole: r.action = RuleAction.blackhole; r.table = 0
        case .unreachable: r.action = RuleAction.unreachable; r.table = 0
        case .prohibit: r.action = RuleAction.prohibit; r.table = 0
        case .nop: r.action = RuleAction.nop; r.table = 0
        case .goto(let t): r.action = RuleAction.goto; r.gotoTarget = t; r.table = 0
        case .l3mdev: r.l3mdev = true; r.table = 0
        }
        if lowest[r.family] == nil {
            lowest[r.family] = ns.rules.lazy.filter { $0.family == r.family && $0.priority > 0 }.map(\.priority).min() ?? 0
        }
        if let p = spec.priority { r.priority = p }
        else if let first = lowest[r.family], first > 1 {
            r.priority = first - 1
        }
        return r
    }

    /// Appends the rule (`sortAddedRules` puts it in place).
    mutating func ruleAdd(_ ns: inout NamespaceSnapshot, _ spec: SnapshotEdit.RuleSpec, lowest: inout [IPAddress.Family: UInt32],
                          _ fail: (String) -> EditError) throws(EditError) {
        let r = rule(ns, spec, lowest: &lowest)
        // fib_nl2rule: "Backward jumps are prohibited to avoid endless loops" (the target is
        // compared with the rule's own priority, the default one when none is given).
        if r.action == RuleAction.goto, let t = r.gotoTarget, t <= r.priority {
            throw fail("Error: Backward goto not supported (goto \(t) from priority \(r.priority): a goto must name a later priority).")
        }
        ns.rules.append(r)
        if r.priority > 0, let low = lowest[r.family], low == 0 || r.priority < low { lowest[r.family] = r.priority }
    }

    /// `ip rule del`: the first rule of the family that matches what the command gives.
    mutating func ruleDel(_ ns: inout NamespaceSnapshot, _ spec: SnapshotEdit.RuleSpec, _ fail: (String) -> EditError) throws(EditError) {
        guard let i = ns.rules.firstIndex(where: { x in
            guard x.family == spec.family && x.src == spec.from && x.dst == spec.to else { return false }
            if let p = spec.priority, x.priority != p { return false }
            if case .lookup(let t) = spec.action, x.table != t { return false }
            return true
        }) else { throw fail("RTNETLINK answers: No such file or directory") }
        ns.rules.remove(at: i)
    }

    // MARK: links

    mutating func vrfAdd(_ ns: inout NamespaceSnapshot, name: String, table t: UInt32, _ fail: (String) -> EditError) throws(EditError) {
        guard ns.link(named: name) == nil else { throw fail("RTNETLINK answers: File exists") }
        var l = Link(index: (ns.links.map(\.index).max() ?? 0) + 1, name: name, flags: LinkFlags.noarp | 0x400,
                     operstate: "DOWN", mtu: 65575, linkType: 1)
        l.kind = "vrf"; l.vrfTable = t
        ns.links.append(l)
        // The vrf driver adds the l3mdev rule (priority 1000) once per family.
        for f in [IPAddress.Family.v4, .v6] where !ns.rules.contains(where: { $0.family == f && $0.l3mdev }) {
            var r = Rule(family: f, priority: 1000, table: 0); r.l3mdev = true; r.protocol = 2
            let at = ns.rules.firstIndex { $0.family == f && $0.priority > 1000 } ?? ns.rules.count
            ns.rules.insert(r, at: at)
        }
    }

    struct Move { var link: Int32; var target: String }

    mutating func linkSet(_ ns: inout NamespaceSnapshot, device name: String, _ change: SnapshotEdit.LinkChange,
                          _ fail: (String) -> EditError) throws(EditError) -> Move? {
        guard let k = ns.links.firstIndex(where: { $0.name == name }) else { throw fail("Cannot find device \"\(name)\"") }
        switch change {
        case .up:
            ns.links[k].flags |= LinkFlags.up | LinkFlags.lowerUp
            ns.links[k].operstate = ns.links[k].isLoopback ? "UNKNOWN" : "UP"
            let l = ns.links[k]
            ns.routes.removeAll { $0.protocol == 2 && $0.oif == l.index }
            for a in ns.addresses where a.index == l.index { ns.routes += kernelRoutes(a, l, ns) }
        case .down:
            ns.links[k].flags &= ~(LinkFlags.up | LinkFlags.lowerUp)
            ns.links[k].operstate = "DOWN"
            let index = ns.links[k].index
            flushRoutes(&ns, via: index)
            // addrconf_ifdown: IPv6 addresses go with the link, but for the permanent global
            // ones of a device with keep_addr_on_down.
            let keep = ns.settings.effectiveIPv6(name).keepAddrOnDown
            ns.addresses.removeAll { a in
                a.index == index && a.family == .v6
                    && !(keep && a.flags & AddressFlags.permanent != 0 && !a.local.isLinkLocal && !a.local.isLoopback)
            }
        case .master(let vrf):
            guard let v = ns.link(named: vrf), v.isVRF else { throw fail("master must be a VRF device of this namespace") }
            ns.links[k].master = v.index
            ns.links[k].slaveKind = "vrf"
            recreateRoutes(&ns, k)
        case .nomaster:
            ns.links[k].master = nil
            ns.links[k].slaveKind = nil
            recreateRoutes(&ns, k)
        case .netns(let target):
            return Move(link: ns.links[k].index, target: target)
        }
        return nil
    }

    /// Enslaving or releasing cycles the device: every route through it goes, and the
    /// routes of its addresses come back in the (new) table.
    func recreateRoutes(_ ns: inout NamespaceSnapshot, _ k: Int) {
        let l = ns.links[k]
        flushRoutes(&ns, via: l.index)
        if l.adminUp { for a in ns.addresses where a.index == l.index { ns.routes += kernelRoutes(a, l, ns) } }
    }

    /// A device going down (fib_sync_down_dev, rt6_sync_down_dev): routes through it go,
    /// except IPv4 host-scope (local) routes, which stay; a multipath route keeps its other
    /// paths, the ones through the device marked dead and linkdown, unless all were through it.
    func flushRoutes(_ ns: inout NamespaceSnapshot, via index: Int32) {
        var kept: [Route] = []
        for var r in ns.routes {
            if let nhs = r.nexthops, !nhs.isEmpty {
                let through = nhs.filter { $0.oif == index }.count
                if through == nhs.count { continue }
                if through > 0 {
                    for i in nhs.indices where nhs[i].oif == index { r.nexthops![i].flags |= NexthopFlags.dead | NexthopFlags.linkdown }
                }
            } else if r.oif == index && !(r.family == .v4 && r.scope == Scope.host) {
                continue
            }
            kept.append(r)
        }
        ns.routes = kept
    }

    /// `ip link set DEV netns NS`: the device leaves with no addresses and no routes, down.
    mutating func moveLink(_ index: Int32, from k: Int, to target: String, _ fail: (String) -> EditError) throws(EditError) {
        if state.namespace(target) == nil { addNamespace(target) }
        guard let t = state.namespaces.firstIndex(where: { $0.id == target || $0.names.contains(target) }) else { throw fail("no namespace \(target)") }
        var src = state.namespaces[k]
        guard var l = src.link(index: index) else { throw fail("device vanished") }
        src.links.removeAll { $0.index == index }
        src.addresses.removeAll { $0.index == index }
        flushRoutes(&src, via: index)
        state.namespaces[k] = src
        var dst = state.namespaces[t]
        let oldIndex = l.index
        l.index = (dst.links.map(\.index).max() ?? 0) + 1
        // The veth peer now points at the device in its new namespace.
        for n in state.namespaces.indices {
            for j in state.namespaces[n].links.indices where state.namespaces[n].links[j].peerNetns == src.id
                && state.namespaces[n].links[j].link == oldIndex && l.peerNetns == state.namespaces[n].id {
                state.namespaces[n].links[j].peerNetns = dst.id
                state.namespaces[n].links[j].link = l.index
            }
        }
        l.flags &= ~(LinkFlags.up | LinkFlags.lowerUp)
        l.operstate = "DOWN"
        l.master = nil; l.slaveKind = nil; l.linkNetnsid = nil
        dst.links.append(l)
        state.namespaces[t] = dst
    }
}

extension SnapshotEdit {
    var isSysctl: Bool { if case .sysctl = self { return true }; return false }
}

public struct EditError: Error, CustomStringConvertible, Sendable {
    public var line: Int
    public var command: String
    public var message: String
    public var description: String { line > 0 ? "line \(line) (\(command)): \(message)" : "\(command): \(message)" }
}

/// The configuration differences between two snapshots (`nsaudit diff`): namespaces matched
/// by name, links by name, addresses by (device, address, prefix length), policy rules by
/// their selectors and priority, routes by the kernel's identity of a FIB entry, nexthop
/// objects by id, sysctls by name. Ifindexes are translated to device names on each side
/// before anything is compared, so a device that was recreated under another index is the
/// same device.
public struct ConfigChange: Sendable, Equatable {
    public enum Object: String, Sendable, CaseIterable {
        case namespace, link, address, rule, route, nexthop, sysctl
    }

    public enum Change: String, Sendable, CaseIterable { case added, removed, changed }

    /// The namespace's name (as the report names it).
    public var netns: String
    public var object: Object
    public var change: Change
    /// The object as `ip` shows it (routes as `ip route show`, rules as `ip rule add` takes
    /// them), before and after; nil on the side where it does not exist.
    public var old: String?
    public var new: String?
    /// For `changed`: the attributes that differ, by their snapshot names.
    public var fields: [String]
    /// What the change can affect, for attributing findings to it (not part of the output).
    public var reach: Reach
    /// For a changed link or sysctl: the object's name and each field's old and new value
    /// (`ens18: mac d6:… → 86:…`), shorter than the two whole texts.
    public var detail: String?

    /// What a configuration change can affect: the family, devices, addresses and tables it
    /// concerns.
    public struct Reach: Sendable, Equatable {
        /// nil: both families (links, namespace-wide sysctls).
        public var family: IPAddress.Family?
        public var devices: Set<String> = []
        /// Destination, source or address prefixes of the object.
        public var prefixes: [IPPrefix] = []
        public var gateways: [IPAddress] = []
        public var tables: Set<UInt32> = []
        /// Policy rules and namespace-wide settings affect every lookup of their family.
        public var everyLookup = false
        /// False for changes that do not steer routing (a MAC address, an MTU, an address's
        /// label): listed, but never given as the reason a finding changed.
        public var routing = true
    }

    /// `OBJECT TEXT added|removed`, or `OBJECT TEXT changed (FIELDS)` with the old text.
    public var line: String {
        let what = object.rawValue
        switch change {
        case .added: return "\(what) \(new ?? "") added"
        case .removed: return "\(what) \(old ?? "") removed"
        case .changed:
            if let detail { return "\(what) \(detail)" }
            return "\(what) \(old ?? "") changed (\(fields.joined(separator: ", ")))"
        }
    }
}

public enum ConfigDiff {
    /// The differences of every namespace, namespaces in the new snapshot's order (removed
    /// ones last), each namespace's changes in the order links, addresses, rules, routes,
    /// nexthops, sysctls.
    public static func changes(old: Snapshot, new: Snapshot) -> [ConfigChange] { compare(old: old, new: new).changes }

    /// The routes that went and came in one namespace (a changed route on both sides).
    struct RouteDelta {
        var removed: [Route] = []
        var added: [Route] = []
    }

    /// `changes`, with the route differences of every namespace present on both sides (by
    /// name): what `IncrementalAudit` re-analyses.
    static func compare(old: Snapshot, new: Snapshot) -> (changes: [ConfigChange], routes: [String: RouteDelta]) {
        var deltas: [String: RouteDelta] = [:]
        let oldByName = Dictionary(old.namespaces.map { (name(of: $0), $0) }, uniquingKeysWith: { a, _ in a })
        let newNames = Set(new.namespaces.map(name(of:)))
        var out: [ConfigChange] = []
        for n in new.namespaces {
            let nn = name(of: n)
            guard let o = oldByName[nn] else {
                out.append(ConfigChange(netns: nn, object: .namespace, change: .added, old: nil, new: nn, fields: [],
                                        reach: .init(everyLookup: true)))
                continue
            }
            var delta = RouteDelta()
            out += changes(old: o, in: old, new: n, in: new, routes: &delta)
            deltas[nn] = delta
        }
        for o in old.namespaces where !newNames.contains(name(of: o)) {
            let on = name(of: o)
            out.append(ConfigChange(netns: on, object: .namespace, change: .removed, old: on, new: nil, fields: [],
                                    reach: .init(everyLookup: true)))
        }
        return (out, deltas)
    }

    /// The name a namespace is matched and reported by (the report's `netns`).
    public static func name(of ns: NamespaceSnapshot) -> String { ns.names.first ?? ns.id }

    /// The differences inside one namespace present in both snapshots.
    public static func changes(old o: NamespaceSnapshot, in oldSnap: Snapshot, new n: NamespaceSnapshot, in newSnap: Snapshot) -> [ConfigChange] {
        var delta = RouteDelta()
        return changes(old: o, in: oldSnap, new: n, in: newSnap, routes: &delta)
    }

    /// `changes` of one namespace, with its route differences in `routes`.
    static func changes(old o: NamespaceSnapshot, in oldSnap: Snapshot, new n: NamespaceSnapshot, in newSnap: Snapshot,
                        routes delta: inout RouteDelta) -> [ConfigChange] {
        let netns = name(of: n)
        let od = DeviceNames(o), nd = DeviceNames(n)
        var out: [ConfigChange] = []
        func emit(_ object: ConfigChange.Object, _ m: Matching, old: (Int) -> (String, ConfigChange.Reach),
                  new: (Int) -> (String, ConfigChange.Reach), detail: ((Int, Int, [String]) -> String)? = nil) {
            for (i, j, fields) in m.changed {
                let (ot, or) = old(i), (nt, nr) = new(j)
                var reach = nr
                reach.devices.formUnion(or.devices); reach.prefixes += or.prefixes; reach.gateways += or.gateways
                reach.tables.formUnion(or.tables); reach.everyLookup = reach.everyLookup || or.everyLookup
                reach.routing = !Set(fields).isSubset(of: ignoredForRouting[object] ?? [])
                var c = ConfigChange(netns: netns, object: object, change: .changed, old: ot, new: nt, fields: fields, reach: reach)
                c.detail = detail?(i, j, fields)
                out.append(c)
            }
            for i in m.removed {
                let (t, r) = old(i)
                out.append(ConfigChange(netns: netns, object: object, change: .removed, old: t, new: nil, fields: [], reach: r))
            }
            for j in m.added {
                let (t, r) = new(j)
                out.append(ConfigChange(netns: netns, object: object, change: .added, old: nil, new: t, fields: [], reach: r))
            }
        }
        // Links, by name.
        let oPeer = { (l: Link) in l.peerNetns.flatMap { oldSnap.namespace($0) }.map(name(of:)) ?? l.peerNetns }
        let nPeer = { (l: Link) in l.peerNetns.flatMap { newSnap.namespace($0) }.map(name(of:)) ?? l.peerNetns }
        emit(.link, match(o.links, n.links, key: \.name) { a, b in
            linkFields(a, od, oPeer(a), b, nd, nPeer(b))
        }, old: { linkText(o.links[$0], od, oPeer(o.links[$0])) }, new: { linkText(n.links[$0], nd, nPeer(n.links[$0])) },
             detail: { i, j, fields in
                 let a = o.links[i], b = n.links[j]
                 return a.name + ": " + fields.map { f in
                     "\(f) \(linkValue(a, f, od, oPeer(a))) → \(linkValue(b, f, nd, nPeer(b)))"
                 }.joined(separator: ", ")
             })
        // Addresses, by (device, family, address, prefix length).
        emit(.address, match(o.addresses, n.addresses, oldKey: { AddressKey(dev: od.name($0.index), local: $0.local, length: $0.prefixlen) },
                             newKey: { AddressKey(dev: nd.name($0.index), local: $0.local, length: $0.prefixlen) },
                             differences: addressFields),
             old: { addressText(o.addresses[$0], od) }, new: { addressText(n.addresses[$0], nd) })
        // Rules, by priority and selectors.
        emit(.rule, match(o.rules, n.rules, key: RuleKey.init, differences: ruleFields),
             old: { ruleText(o.rules[$0]) }, new: { ruleText(n.rules[$0]) })
        // Routes, by the kernel's identity of a FIB entry.
        let routeMatch = matchInOrder(o.routes, n.routes, key: RouteKey.init) { a, b in routeFields(a, od, b, nd) }
        emit(.route, routeMatch, old: { routeText(o.routes[$0], od) }, new: { routeText(n.routes[$0], nd) })
        delta.removed = (routeMatch.removed + routeMatch.changed.map(\.0)).map { o.routes[$0] }
        delta.added = (routeMatch.added + routeMatch.changed.map(\.1)).map { n.routes[$0] }
        // Nexthop objects, by id.
        emit(.nexthop, match(o.nexthops, n.nexthops, key: \.id) { a, b in nexthopFields(a, od, b, nd) },
             old: { nexthopText(o.nexthops[$0], od) }, new: { nexthopText(n.nexthops[$0], nd) })
        // Sysctls, by name.
        let os = o.settings.sysctlEntries(), ns = n.settings.sysctlEntries()
        emit(.sysctl, match(os, ns, key: \.name) { a, b in a.value == b.value ? [] : ["value"] },
             old: { sysctlText(os[$0]) }, new: { sysctlText(ns[$0]) },
             detail: { i, j, _ in "\(ns[j].name) \(os[i].value) → \(ns[j].value)" })
        return out
    }

    /// Attributes that do not steer routing, per object (a change only in these is listed but
    /// never given as a finding's reason).
    static let ignoredForRouting: [ConfigChange.Object: Set<String>] = [
        .link: ["mac", "mtu", "link_type"],
        .address: ["label", "broadcast"],
    ]

    // MARK: matching

    /// Pairs of (old index, new index) with the same identity: equal ones dropped, the others
    /// `changed` with the differing attributes; the rest `removed` and `added`.
    struct Matching {
        var removed: [Int] = []
        var added: [Int] = []
        var changed: [(Int, Int, [String])] = []
    }

    /// Matches by `key`; several objects with one key (routes appended with NLM_F_APPEND,
    /// rules added twice) pair an equal one first, then in order.
    static func match<T, K: Hashable>(_ old: [T], _ new: [T], key: (T) -> K, differences: (T, T) -> [String]) -> Matching {
        match(old, new, oldKey: key, newKey: key, differences: differences)
    }

    /// `match` with a key of each side's own (keys that name devices by each side's ifindexes).
    static func match<T, K: Hashable>(_ old: [T], _ new: [T], oldKey: (T) -> K, newKey: (T) -> K,
                                      differences: (T, T) -> [String]) -> Matching {
        var m = Matching()
        // The old objects of each key, chained in order: first[key], next[i], ... (-1 ends).
        var first = [K: Int32](minimumCapacity: old.count)
        var next = [Int32](repeating: -1, count: old.count)
        for i in old.indices.reversed() {
            let k = oldKey(old[i])
            if let f = first.updateValue(Int32(i), forKey: k) { next[i] = f }
        }
        var used = [Bool](repeating: false, count: old.count)
        for j in new.indices {
            var c = first[newKey(new[j])] ?? -1
            var fallback: (Int, [String])?
            var exact = false
            while c >= 0 {
                let i = Int(c)
                if !used[i] {
                    let d = differences(old[i], new[j])
                    if d.isEmpty { used[i] = true; exact = true; break }
                    if fallback == nil { fallback = (i, d) }
                }
                c = next[i]
            }
            if exact { continue }
            if let (i, d) = fallback { used[i] = true; m.changed.append((i, j, d)) } else { m.added.append(j) }
        }
        m.removed = old.indices.filter { !used[$0] }
        return m
    }

    /// `match` for long lists that mostly agree in order (two dumps of the same tables: the
    /// kernel dumps in table and prefix order): walked side by side, comparing keys, not
    /// hashing them. Where they part, the key on each side is looked for up to `window`
    /// steps ahead on the other (a block inserted or deleted), or else both are set aside;
    /// what was set aside is matched by `match`. Lists that keep parting (another order) stop
    /// the walk once it has compared 16 times their length, and the rest is hashed.
    static func matchInOrder<T, K: Hashable>(_ old: [T], _ new: [T], key: (T) -> K, window: Int = 4096,
                                             differences: (T, T) -> [String]) -> Matching {
        var m = Matching()
        var restOld: [Int] = [], restNew: [Int] = []
        var i = 0, j = 0
        var budget = 16 * (old.count + new.count) + 100_000
        while i < old.count && j < new.count && budget > 0 {
            let ko = key(old[i]), kn = key(new[j])
            if ko == kn {
                let d = differences(old[i], new[j])
                if !d.isEmpty { m.changed.append((i, j, d)) }
                i += 1; j += 1
                continue
            }
            var x = j + 1
            while x < min(new.count, j + window), key(new[x]) != ko { x += 1 }
            var y = i + 1
            while y < min(old.count, i + window), key(old[y]) != kn { y += 1 }
            budget -= (x - j) + (y - i)
            let inserted = x < min(new.count, j + window) ? x - j : nil
            let deleted = y < min(old.count, i + window) ? y - i : nil
            if let l = inserted, l <= (deleted ?? .max) {
                restNew += j..<(j + l); j += l
            } else if let k = deleted {
                restOld += i..<(i + k); i += k
            } else {
                restOld.append(i); restNew.append(j); i += 1; j += 1
            }
        }
        restOld += i..<old.count; restNew += j..<new.count
        let rest = match(restOld.map { old[$0] }, restNew.map { new[$0] }, key: key, differences: differences)
        m.removed = rest.removed.map { restOld[$0] }
        m.added = rest.added.map { restNew[$0] }
        m.changed += rest.changed.map { (restOld[$0.0], restNew[$0.1], $0.2) }
        m.changed.sort { $0.0 < $1.0 }
        return m
    }

    /// Device names by ifindex for one namespace (`if%u` for an index it lacks, as `ip` does).
    struct DeviceNames {
        let byIndex: [Int32: String]
        init(_ ns: NamespaceSnapshot) { byIndex = Dictionary(ns.links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a }) }
        func name(_ index: Int32) -> String { byIndex[index] ?? "if\(index)" }
        func name(_ index: Int32?) -> String? { index.map(name) }
    }

    // MARK: links

    static func linkFields(_ a: Link, _ ad: DeviceNames, _ ap: String?, _ b: Link, _ bd: DeviceNames, _ bp: String?) -> [String] {
        var f: [String] = []
        if a.kind != b.kind { f.append("kind") }
        if a.slaveKind != b.slaveKind { f.append("slave_kind") }
        if a.flags != b.flags { f.append("flags") }
        if a.operstate != b.operstate { f.append("operstate") }
        if a.carrier != b.carrier { f.append("carrier") }
        if a.mtu != b.mtu { f.append("mtu") }
        if a.linkType != b.linkType { f.append("link_type") }
        if a.mac != b.mac { f.append("mac") }
        if ad.name(a.master) != bd.name(b.master) { f.append("master") }
        if a.vrfTable != b.vrfTable { f.append("vrf_table") }
        if ap != bp { f.append("peer_netns") }
        if a.group != b.group { f.append("group") }
        return f
    }

    /// One field of a link, as `linkFields` names it.
    static func linkValue(_ l: Link, _ field: String, _ d: DeviceNames, _ peer: String?) -> String {
        func opt(_ v: (some CustomStringConvertible)?) -> String { v.map(\.description) ?? "none" }
        switch field {
        case "kind": return opt(l.kind)
        case "slave_kind": return opt(l.slaveKind)
        case "flags": return "0x" + String(l.flags, radix: 16)
        case "operstate": return l.operstate
        case "carrier": return opt(l.carrier)
        case "mtu": return String(l.mtu)
        case "link_type": return String(l.linkType)
        case "mac": return opt(l.mac)
        case "master": return opt(d.name(l.master))
        case "vrf_table": return opt(l.vrfTable)
        case "peer_netns": return opt(peer)
        case "group": return String(l.group)
        default: return "?"
        }
    }

    static func linkText(_ l: Link, _ d: DeviceNames, _ peer: String?) -> (String, ConfigChange.Reach) {
        var w = [l.name]
        if let k = l.kind { w += ["type", k] }
        if let m = d.name(l.master) { w += ["master", m] }
        if let t = l.vrfTable { w += ["table", Table.name(t)] }
        if let p = peer { w += ["peer-netns", p] }
        w += [l.adminUp ? "up" : "down", "state", l.operstate, "mtu", String(l.mtu)]
        if let mac = l.mac { w += ["address", mac] }
        var reach = ConfigChange.Reach(devices: [l.name])
        if let m = d.name(l.master) { reach.devices.insert(m) }
        if let t = l.vrfTable { reach.tables.insert(t) }
        return (w.joined(separator: " "), reach)
    }

    // MARK: addresses

    struct AddressKey: Hashable {
        var dev: String
        var local: IPAddress
        var length: UInt8
    }

    static func addressFields(_ a: Address, _ b: Address) -> [String] {
        var f: [String] = []
        if a.peer != b.peer { f.append("peer") }
        if a.scope != b.scope { f.append("scope") }
        if a.flags != b.flags { f.append("flags") }
        if a.broadcast != b.broadcast { f.append("broadcast") }
        if a.label != b.label { f.append("label") }
        return f
    }

    static func addressText(_ a: Address, _ d: DeviceNames) -> (String, ConfigChange.Reach) {
        var w = ["\(a.local)/\(a.prefixlen)"]
        if let p = a.peer { w += ["peer", "\(p)/\(a.prefixlen)"] }
        w += ["dev", d.name(a.index)]
        if a.scope != 0 { w += ["scope", Scope.name(a.scope)] }
        // Only a global address can be a reply's source or a finding's subject; a link-local
        // one (re-made with every device) concerns only itself.
        let reach = ConfigChange.Reach(family: a.family, devices: a.scope == 0 ? [d.name(a.index)] : [], prefixes: [a.prefix])
        return (w.joined(separator: " "), reach)
    }

    // MARK: rules

    /// A rule's identity: what `ip rule del` needs to find it (priority and selectors).
    struct RuleKey: Hashable {
        var family: IPAddress.Family, priority: UInt32, src: IPPrefix?, dst: IPPrefix?, iif: String?, oif: String?
        var fwmark: UInt32?, fwmask: UInt32?, tos: UInt8, ipproto: UInt8?, sport: PortRange?, dport: PortRange?
        var uidrange: UIDRange?, l3mdev: Bool, invert: Bool
        init(_ r: Rule) {
            family = r.family; priority = r.priority; src = r.src; dst = r.dst; iif = r.iif; oif = r.oif
            fwmark = r.fwmark; fwmask = r.fwmask; tos = r.tos; ipproto = r.ipproto; sport = r.sport; dport = r.dport
            uidrange = r.uidrange; l3mdev = r.l3mdev; invert = r.invert
        }
    }

    static func ruleFields(_ a: Rule, _ b: Rule) -> [String] {
        var f: [String] = []
        if a.action != b.action { f.append("action") }
        if a.table != b.table { f.append("table") }
        if a.gotoTarget != b.gotoTarget { f.append("goto") }
        if a.suppressPrefixlen != b.suppressPrefixlen { f.append("suppress_prefixlength") }
        if a.suppressIfgroup != b.suppressIfgroup { f.append("suppress_ifgroup") }
        if a.protocol != b.protocol { f.append("protocol") }
        if a.realms != b.realms { f.append("realms") }
        if a.flags & ~RuleFlags.invert != b.flags & ~RuleFlags.invert { f.append("flags") }
        return f
    }

    /// `PRIORITY SELECTORS ACTION`, in `ip rule add` words.
    static func ruleText(_ r: Rule) -> (String, ConfigChange.Reach) {
        var spec = SnapshotEdit.RuleSpec(r)
        spec.priority = nil
        let text = ([String(r.priority)] + spec.words).joined(separator: " ")
        var reach = ConfigChange.Reach(family: r.family, everyLookup: true)
        if r.action == RuleAction.toTable && !r.l3mdev { reach.tables.insert(r.table) }
        reach.prefixes = [r.src, r.dst].compactMap { $0 }
        reach.devices = Set([r.iif, r.oif].compactMap { $0 })
        return (text, reach)
    }

    // MARK: routes

    /// The kernel's identity of a FIB entry: IPv4 (fib_table_insert) table, prefix, tos and
    /// priority; IPv6 (fib6_add) table, destination, source prefix and metric. Other
    /// attributes (type, gateway, device, ...) are what `ip route replace` changes.
    struct RouteKey: Hashable {
        var family: IPAddress.Family, table: UInt32, dst: IPPrefix, src: IPPrefix?, tos: UInt8, metric: UInt32
        init(_ r: Route) { family = r.family; table = r.table; dst = r.dst; src = r.src; tos = r.tos; metric = r.metric }
    }

    static func routeFields(_ a: Route, _ ad: DeviceNames, _ b: Route, _ bd: DeviceNames) -> [String] {
        // The common case first: nothing differs.
        if a.type == b.type && a.protocol == b.protocol && a.scope == b.scope && a.prefsrc == b.prefsrc
            && a.gateway == b.gateway && a.flags == b.flags && a.nhid == b.nhid && a.pref == b.pref
            && ad.name(a.oif) == bd.name(b.oif) && a.metrics == b.metrics && sameHops(a.nexthops, ad, b.nexthops, bd) {
            return []
        }
        var f: [String] = []
        if a.type != b.type { f.append("type") }
        if a.protocol != b.protocol { f.append("protocol") }
        if a.scope != b.scope { f.append("scope") }
        if a.prefsrc != b.prefsrc { f.append("prefsrc") }
        if a.gateway != b.gateway { f.append("gateway") }
        if ad.name(a.oif) != bd.name(b.oif) { f.append("dev") }
        if a.flags != b.flags { f.append("flags") }
        if !sameHops(a.nexthops, ad, b.nexthops, bd) { f.append("nexthops") }
        if a.nhid != b.nhid { f.append("nhid") }
        if a.metrics != b.metrics { f.append("metrics") }
        if a.pref != b.pref { f.append("pref") }
        return f
    }

    static func sameHops(_ a: [RouteNexthop]?, _ ad: DeviceNames, _ b: [RouteNexthop]?, _ bd: DeviceNames) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.gateway == y.gateway && x.weight == y.weight && x.flags == y.flags && ad.name(x.oif) == bd.name(y.oif)
        }
    }

    /// The route as `ip route show table all` prints it (one line).
    static func routeText(_ r: Route, _ d: DeviceNames) -> (String, ConfigChange.Reach) {
        var m = IPRouteMessage(showing: r, deviceName: d.name)
        m.table = r.table
        var text = IPRouteText.text(m, oneline: true)
        while text.last == " " { text.removeLast() }
        var reach = ConfigChange.Reach(family: r.family, prefixes: [r.dst] + (r.src.map { [$0] } ?? []), tables: [r.table])
        // A local, broadcast or multicast entry (made with every address) is about its own
        // destination, not about the traffic its device carries.
        if r.type == .unicast || r.type == .unspec {
            reach.devices = Set(([r.oif] + (r.nexthops ?? []).map(\.oif)).compactMap { d.name($0) })
        }
        reach.gateways = ([r.gateway] + (r.nexthops ?? []).map(\.gateway)).compactMap { $0 }
        return (text, reach)
    }

    // MARK: nexthops

    static func nexthopFields(_ a: Nexthop, _ ad: DeviceNames, _ b: Nexthop, _ bd: DeviceNames) -> [String] {
        var f: [String] = []
        if a.family != b.family { f.append("family") }
        if a.gateway != b.gateway { f.append("gateway") }
        if ad.name(a.oif) != bd.name(b.oif) { f.append("dev") }
        if a.blackhole != b.blackhole { f.append("blackhole") }
        if a.flags != b.flags { f.append("flags") }
        if a.protocol != b.protocol { f.append("protocol") }
        if a.scope != b.scope { f.append("scope") }
        if a.group != b.group { f.append("group") }
        if a.groupType != b.groupType { f.append("group_type") }
        if a.fdb != b.fdb { f.append("fdb") }
        return f
    }

    /// `id N` and what `ip nexthop add` takes.
    static func nexthopText(_ n: Nexthop, _ d: DeviceNames) -> (String, ConfigChange.Reach) {
        var w = ["id", String(n.id)]
        if let g = n.group {
            w += ["group", g.map { $0.weight == 1 ? String($0.id) : "\($0.id),\($0.weight)" }.joined(separator: "/")]
            if let t = n.groupType, t != "mpath" { w += ["type", t] }
        }
        if let g = n.gateway { w += ["via", g.description] }
        if let dev = d.name(n.oif) { w += ["dev", dev] }
        if n.blackhole { w.append("blackhole") }
        if n.fdb { w.append("fdb") }
        var reach = ConfigChange.Reach(family: n.gateway?.family)
        reach.devices = Set([d.name(n.oif)].compactMap { $0 })
        reach.gateways = [n.gateway].compactMap { $0 }
        return (w.joined(separator: " "), reach)
    }

    // MARK: sysctls

    static func sysctlText(_ e: (name: String, value: Int)) -> (String, ConfigChange.Reach) {
        var reach = ConfigChange.Reach()
        let parts = e.name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 2 { reach.family = parts[1] == "ipv4" ? .v4 : parts[1] == "ipv6" ? .v6 : nil }
        if parts.count == 5, parts[2] == "conf" {
            // A device name's own dots are written '/' in sysctl(8) names.
            let dev = String(parts[3].map { $0 == "/" ? "." : $0 })
            if dev == "all" || dev == "default" { reach.everyLookup = true } else { reach.devices = [dev] }
        } else {
            reach.everyLookup = true
        }
        return ("\(e.name) = \(e.value)", reach)
    }
}

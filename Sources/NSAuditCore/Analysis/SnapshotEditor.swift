/// Applies `ip` commands to a snapshot, with the side effects the kernel has (the routes an
/// address brings, a VRF enslavement moving them, a namespace move flushing addresses), so a
/// planned change can be audited before it touches the host (`nsaudit report --apply`), and
/// proposed fixes can be checked.
///
/// Supported: `ip [-n NS] [-4|-6] addr add|del`, `route add|replace|del` (single path),
/// `rule add|del`, `link add NAME type vrf table N`, `link set DEV up|down|master VRF|nomaster|netns NS`,
/// `ip netns add NS`, `sysctl -w KEY=VALUE` and `ip netns exec NS sysctl -w KEY=VALUE`.
public struct SnapshotEditor {
    public private(set) var snapshot: Snapshot
    /// The namespace for commands without `-n`.
    public var defaultNamespace: String?

    public init(_ snapshot: Snapshot, defaultNamespace: String? = nil) {
        self.snapshot = snapshot
        self.defaultNamespace = defaultNamespace ?? snapshot.namespace("root")?.id ?? (snapshot.namespaces.count == 1 ? snapshot.namespaces[0].id : nil)
    }

    /// Applies every line of a change file (blank lines and `#` comments ignored).
    public mutating func apply(script: String) throws(EditError) {
        for (n, raw) in script.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = String(raw)
            if let hash = line.firstIndex(of: "#") { line = String(line[..<hash]) }
            line = line.trimmingCharacters(in: " \t\r")
            if line.isEmpty { continue }
            do { try apply(line) } catch { throw EditError(line: n + 1, command: line, message: error.message) }
        }
    }

    /// Applies one command.
    public mutating func apply(_ command: String) throws(EditError) {
        var w = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        func fail(_ m: String) -> EditError { EditError(line: 0, command: command, message: m) }
        guard let first = w.first else { return }
        if first == "sysctl" { return try sysctl(Array(w.dropFirst()), ns: defaultNamespace, command) }
        guard first == "ip" else { throw fail("only `ip` and `sysctl` commands can be applied") }
        w.removeFirst()
        var nsName = defaultNamespace
        var family: IPAddress.Family?
        while let o = w.first, o.hasPrefix("-") {
            w.removeFirst()
            switch o {
            case "-n", "-netns": guard !w.isEmpty else { throw fail("-n needs a namespace") }; nsName = w.removeFirst()
            case "-4": family = .v4
            case "-6": family = .v6
            default: throw fail("unsupported option \(o)")
            }
        }
        guard let obj = w.first else { throw fail("missing object") }
        w.removeFirst()
        if obj == "netns" {
            guard w.count >= 2 else { throw fail("usage: ip netns add NAME | ip netns exec NAME sysctl -w KEY=VALUE") }
            if w[0] == "add" { return addNamespace(w[1]) }
            if w[0] == "exec", w.count >= 3, w[2] == "sysctl" { return try sysctl(Array(w.dropFirst(3)), ns: w[1], command) }
            throw fail("unsupported netns command")
        }
        guard let nsn = nsName, let k = snapshot.namespaces.firstIndex(where: { $0.id == nsn || $0.names.contains(nsn) }) else {
            throw fail(nsName.map { "no namespace \"\($0)\" in the snapshot" } ?? "which namespace? use ip -n NAME")
        }
        guard let verb = w.first else { throw fail("missing command after \(obj)") }
        w.removeFirst()
        var ns = snapshot.namespaces[k]
        switch (obj, verb) {
        case ("addr", "add"), ("address", "add"), ("a", "add"): try addressAdd(&ns, w, fail)
        case ("addr", "del"), ("address", "del"), ("a", "del"): try addressDel(&ns, w, fail)
        case ("route", "add"), ("r", "add"): try routeAdd(&ns, w, family, replace: false, fail)
        case ("route", "replace"), ("r", "replace"): try routeAdd(&ns, w, family, replace: true, fail)
        case ("route", "del"), ("r", "del"): try routeDel(&ns, w, family, fail)
        case ("rule", "add"): try ruleAdd(&ns, w, family ?? .v4, fail)
        case ("rule", "del"): try ruleDel(&ns, w, family ?? .v4, fail)
        case ("link", "add"): try linkAdd(&ns, w, fail)
        case ("link", "set"):
            if let move = try linkSet(&ns, w, fail) {
                snapshot.namespaces[k] = ns
                try moveLink(move.link, from: k, to: move.target, fail)
                return
            }
        default: throw fail("unsupported command ip \(obj) \(verb)")
        }
        snapshot.namespaces[k] = ns
    }

    // MARK: namespaces and sysctls

    mutating func addNamespace(_ name: String) {
        guard snapshot.namespace(name) == nil else { return }
        var ns = NamespaceSnapshot(id: name, names: [name], inode: 0, foundBy: [Discovery(kind: .named, path: "/run/netns/\(name)")])
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.loopback, operstate: "DOWN", mtu: 65536, linkType: 772)]
        ns.rules = Self.defaultRules()
        snapshot.namespaces.append(ns)
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

    mutating func sysctl(_ args: [String], ns: String?, _ command: String) throws(EditError) {
        let pairs = args.filter { $0 != "-w" && $0 != "-q" }
        guard let nsn = ns, let k = snapshot.namespaces.firstIndex(where: { $0.id == nsn || $0.names.contains(nsn) }) else {
            throw EditError(line: 0, command: command, message: "no namespace for sysctl")
        }
        for p in pairs {
            let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard kv.count == 2, let v = Int(kv[1]) else { throw EditError(line: 0, command: command, message: "expected KEY=VALUE, got \(p)") }
            snapshot.namespaces[k].settings.set(kv[0], v)
        }
    }

    // MARK: addresses

    func device(_ ns: NamespaceSnapshot, _ w: [String], _ fail: (String) -> EditError) throws(EditError) -> Link {
        guard let i = w.firstIndex(of: "dev"), i + 1 < w.count else { throw fail("missing dev") }
        guard let l = ns.link(named: w[i + 1]) else { throw fail("Cannot find device \"\(w[i + 1])\"") }
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

    mutating func addressAdd(_ ns: inout NamespaceSnapshot, _ w: [String], _ fail: (String) -> EditError) throws(EditError) {
        guard let text = w.first, let p = IPPrefix(text) else { throw fail("expected ADDRESS/LEN") }
        let dev = try device(ns, w, fail)
        let addr = IPAddress(text.split(separator: "/")[0].description)!
        guard !ns.addresses.contains(where: { $0.index == dev.index && $0.local == addr }) else { throw fail("RTNETLINK answers: File exists") }
        var a = Address(index: dev.index, local: addr, prefixlen: p.length, scope: 0, flags: AddressFlags.permanent)
        if w.contains("noprefixroute") { a.flags |= AddressFlags.noprefixroute }
        if addr.family == .v4 {
            a.label = dev.name
            if p.length < 31 { a.broadcast = p.last }
            if ns.addresses.contains(where: { $0.index == dev.index && $0.family == .v4 && $0.prefix == a.prefix }) { a.flags |= AddressFlags.secondary }
        }
        ns.addresses.append(a)
        if dev.adminUp { ns.routes += kernelRoutes(a, dev, ns) }
    }

    mutating func addressDel(_ ns: inout NamespaceSnapshot, _ w: [String], _ fail: (String) -> EditError) throws(EditError) {
        guard let text = w.first, let addr = IPAddress(text.split(separator: "/")[0].description) else { throw fail("expected ADDRESS/LEN") }
        let dev = try device(ns, w, fail)
        guard let i = ns.addresses.firstIndex(where: { $0.index == dev.index && $0.local == addr }) else { throw fail("RTNETLINK answers: Cannot assign requested address") }
        ns.addresses.remove(at: i)
        ns.routes.removeAll { $0.protocol == 2 && $0.oif == dev.index && ($0.prefsrc == addr || ($0.type == .local && $0.dst.address == addr)) }
    }

    // MARK: routes

    func parseRoute(_ ns: NamespaceSnapshot, _ w: [String], _ family: IPAddress.Family?, _ fail: (String) -> EditError) throws(EditError) -> Route {
        var i = 0
        var type = RouteType.unicast
        if let t = w.first, let rt = RouteType(name: t), t != "none" { type = rt; i = 1 }
        guard i < w.count else { throw fail("missing destination") }
        let dstText = w[i]; i += 1
        let fam: IPAddress.Family
        let dst: IPPrefix
        if dstText == "default" {
            fam = family ?? (w.contains { $0.contains(":") } ? .v6 : .v4)
            dst = .any(fam)
        } else {
            guard let p = IPPrefix(dstText) else { throw fail("invalid prefix \(dstText)") }
            dst = p; fam = p.family
        }
        var r = Route(family: fam, table: Table.main, type: type, dst: dst, protocol: 3, scope: 0, metric: fam == .v6 ? 1024 : 0)
        var scopeSet = false
        while i < w.count {
            let k = w[i]
            func val() throws(EditError) -> String { guard i + 1 < w.count else { throw fail("\(k) needs a value") }; i += 1; return w[i] }
            switch k {
            case "via":
                var v = try val()
                if v == "inet" || v == "inet6" { v = try val() }
                guard let g = IPAddress(v) else { throw fail("invalid gateway \(v)") }
                r.gateway = g
            case "dev", "oif":
                let n = try val()
                guard let l = ns.link(named: n) else { throw fail("Cannot find device \"\(n)\"") }
                r.oif = l.index
            case "table":
                let t = try val()
                guard let id = Table.parse(t) else { throw fail("invalid table \(t)") }
                r.table = id
            case "metric", "priority", "preference":
                let m = try val()
                guard let v = UInt32(m) else { throw fail("invalid metric \(m)") }
                r.metric = v
            case "src":
                let s = try val()
                guard let a = IPAddress(s) else { throw fail("invalid src \(s)") }
                r.prefsrc = a
            case "proto", "protocol":
                let p = try val()
                r.protocol = RouteProtocol.table.first { $0.value == p }?.key ?? UInt8(p) ?? 3
            case "scope":
                let s = try val()
                r.scope = ["global": 0, "universe": 0, "site": 200, "link": 253, "host": 254][s] ?? UInt8(s) ?? 0
                scopeSet = true
            case "onlink": r.flags |= NexthopFlags.onlink
            case "tos", "dsfield": r.tos = UInt8(try val().replacingOccurrences(of: "0x", with: ""), radix: 16) ?? 0
            case "nhid":
                let n = try val()
                guard let id = UInt32(n), ns.nexthops.contains(where: { $0.id == id }) else { throw fail("unknown nexthop id \(n)") }
                r.nhid = id
            default: throw fail("unsupported route argument \(k)")
            }
            i += 1
        }
        if !scopeSet {
            if type == .local { r.scope = Scope.host } else if type == .unicast && r.gateway == nil && r.nhid == nil && fam == .v4 { r.scope = Scope.link }
        }
        if type == .unicast && r.oif == nil && r.nhid == nil {
            // Resolve the device from the gateway's connected route, as the kernel does.
            guard let g = r.gateway, let dev = ns.routes.first(where: { $0.family == fam && $0.protocol == 2 && $0.type == .unicast && $0.dst.contains(g) && $0.gateway == nil })?.oif else {
                throw fail("RTNETLINK answers: Network is unreachable (no device for the gateway)")
            }
            r.oif = dev
        }
        return r
    }

    mutating func routeAdd(_ ns: inout NamespaceSnapshot, _ w: [String], _ family: IPAddress.Family?, replace: Bool, _ fail: (String) -> EditError) throws(EditError) {
        let r = try parseRoute(ns, w, family, fail)
        let same = ns.routes.firstIndex { $0.family == r.family && $0.table == r.table && $0.dst == r.dst && $0.tos == r.tos && $0.metric == r.metric }
        if let same {
            guard replace else { throw fail("RTNETLINK answers: File exists") }
            ns.routes[same] = r
        } else {
            ns.routes.append(r)
        }
    }

    mutating func routeDel(_ ns: inout NamespaceSnapshot, _ w: [String], _ family: IPAddress.Family?, _ fail: (String) -> EditError) throws(EditError) {
        let r = try? parseRoute(ns, w, family, fail)
        let dstText = w.first(where: { $0 == "default" || IPPrefix($0) != nil }) ?? ""
        let dst = r?.dst ?? (dstText == "default" ? .any(family ?? .v4) : IPPrefix(dstText))
        let table = r?.table ?? Table.main
        guard let dst, let i = ns.routes.firstIndex(where: { $0.dst == dst && $0.table == table }) else { throw fail("RTNETLINK answers: No such process") }
        ns.routes.remove(at: i)
    }

    // MARK: rules

    func parseRule(_ ns: NamespaceSnapshot, _ w: [String], _ family: IPAddress.Family, _ fail: (String) -> EditError) throws(EditError) -> Rule {
        var r = Rule(family: family, priority: 0, table: Table.main)
        var prioritySet = false
        var i = 0
        while i < w.count {
            let k = w[i]
            func val() throws(EditError) -> String { guard i + 1 < w.count else { throw fail("\(k) needs a value") }; i += 1; return w[i] }
            func prefix(_ s: String) throws(EditError) -> IPPrefix? {
                if s == "all" { return nil }
                guard let p = IPPrefix(s) else { throw fail("invalid prefix \(s)") }
                r.family = p.family
                return p
            }
            switch k {
            case "not": r.flags |= RuleFlags.invert
            case "from": r.src = try prefix(try val())
            case "to": r.dst = try prefix(try val())
            case "iif": r.iif = try val()
            case "oif": r.oif = try val()
            case "priority", "pref", "preference":
                let p = try val()
                guard let v = UInt32(p) else { throw fail("invalid priority \(p)") }
                r.priority = v; prioritySet = true
            case "lookup", "table":
                let t = try val()
                guard let id = Table.parse(t) else { throw fail("invalid table \(t)") }
                r.table = id; r.action = RuleAction.toTable
            case "fwmark":
                let m = try val().split(separator: "/").map { s -> UInt32 in
                    s.hasPrefix("0x") ? UInt32(s.dropFirst(2), radix: 16) ?? 0 : UInt32(s) ?? 0
                }
                r.fwmark = m[0]; r.fwmask = m.count > 1 ? m[1] : 0xffff_ffff
            case "ipproto": r.ipproto = IPProto.parse(try val())
            case "sport", "dport":
                let parts = try val().split(separator: "-").compactMap { UInt16($0) }
                guard let a = parts.first else { throw fail("invalid \(k)") }
                let range = PortRange(a, parts.count > 1 ? parts[1] : a)
                if k == "sport" { r.sport = range } else { r.dport = range }
            case "blackhole": r.action = RuleAction.blackhole; r.table = 0
            case "unreachable": r.action = RuleAction.unreachable; r.table = 0
            case "prohibit": r.action = RuleAction.prohibit; r.table = 0
            case "nop": r.action = RuleAction.nop; r.table = 0
            case "goto":
                let g = try val()
                guard let t = UInt32(g) else { throw fail("invalid goto \(g)") }
                r.action = RuleAction.goto; r.gotoTarget = t; r.table = 0
            case "l3mdev": r.l3mdev = true; r.table = 0
            case "suppress_prefixlength": r.suppressPrefixlen = Int32(try val())
            default: throw fail("unsupported rule argument \(k)")
            }
            i += 1
        }
        if !prioritySet {
            // fib_default_rule_pref: one below the first rule with a non-zero priority.
            if let first = ns.rules.filter({ $0.family == r.family && $0.priority > 0 }).map(\.priority).min(), first > 1 {
                r.priority = first - 1
            }
        }
        return r
    }

    mutating func ruleAdd(_ ns: inout NamespaceSnapshot, _ w: [String], _ family: IPAddress.Family, _ fail: (String) -> EditError) throws(EditError) {
        let r = try parseRule(ns, w, family, fail)
        // Rules are kept in priority order; equal priorities keep insertion order.
        let at = ns.rules.firstIndex { $0.family == r.family && $0.priority > r.priority }
            ?? (ns.rules.lastIndex { $0.family == r.family }.map { $0 + 1 } ?? ns.rules.count)
        ns.rules.insert(r, at: at)
    }

    mutating func ruleDel(_ ns: inout NamespaceSnapshot, _ w: [String], _ family: IPAddress.Family, _ fail: (String) -> EditError) throws(EditError) {
        let r = try parseRule(ns, w, family, fail)
        let hasPriority = w.contains { ["priority", "pref", "preference"].contains($0) }
        guard let i = ns.rules.firstIndex(where: { x in
            x.family == r.family && (!hasPriority || x.priority == r.priority) && x.src == r.src && x.dst == r.dst
                && (r.action != RuleAction.toTable || !w.contains { $0 == "lookup" || $0 == "table" } || x.table == r.table)
        }) else { throw fail("RTNETLINK answers: No such file or directory") }
        ns.rules.remove(at: i)
    }

    // MARK: links

    mutating func linkAdd(_ ns: inout NamespaceSnapshot, _ w: [String], _ fail: (String) -> EditError) throws(EditError) {
        // ip link add NAME type vrf table N
        guard w.count >= 5, w[1] == "type", w[2] == "vrf", w[3] == "table", let t = UInt32(w[4]) else {
            throw fail("only `ip link add NAME type vrf table N` is supported")
        }
        guard ns.link(named: w[0]) == nil else { throw fail("RTNETLINK answers: File exists") }
        var l = Link(index: (ns.links.map(\.index).max() ?? 0) + 1, name: w[0], flags: LinkFlags.noarp | 0x400,
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

    mutating func linkSet(_ ns: inout NamespaceSnapshot, _ w: [String], _ fail: (String) -> EditError) throws(EditError) -> Move? {
        var w = w
        if w.first == "dev" { w.removeFirst() }
        guard let name = w.first, let k = ns.links.firstIndex(where: { $0.name == name }) else { throw fail("Cannot find device \"\(w.first ?? "")\"") }
        var i = 1
        while i < w.count {
            switch w[i] {
            case "up":
                ns.links[k].flags |= LinkFlags.up | LinkFlags.lowerUp
                ns.links[k].operstate = ns.links[k].isLoopback ? "UNKNOWN" : "UP"
                let l = ns.links[k]
                ns.routes.removeAll { $0.protocol == 2 && $0.oif == l.index }
                for a in ns.addresses where a.index == l.index { ns.routes += kernelRoutes(a, l, ns) }
            case "down":
                ns.links[k].flags &= ~(LinkFlags.up | LinkFlags.lowerUp)
                ns.links[k].operstate = "DOWN"
                let index = ns.links[k].index
                flushRoutes(&ns, via: index)
                // addrconf_ifdown: IPv6 addresses go with the link (keep_addr_on_down is 0 by
                // default; it is not recorded).
                ns.addresses.removeAll { $0.index == index && $0.family == .v6 }
            case "master":
                guard i + 1 < w.count, let v = ns.link(named: w[i + 1]), v.isVRF else { throw fail("master must be a VRF device of this namespace") }
                i += 1
                ns.links[k].master = v.index
                ns.links[k].slaveKind = "vrf"
                recreateRoutes(&ns, k)
            case "nomaster":
                ns.links[k].master = nil
                ns.links[k].slaveKind = nil
                recreateRoutes(&ns, k)
            case "netns":
                guard i + 1 < w.count else { throw fail("netns needs a namespace") }
                return Move(link: ns.links[k].index, target: w[i + 1])
            default: throw fail("unsupported link setting \(w[i])")
            }
            i += 1
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
        if snapshot.namespace(target) == nil { addNamespace(target) }
        guard let t = snapshot.namespaces.firstIndex(where: { $0.id == target || $0.names.contains(target) }) else { throw fail("no namespace \(target)") }
        var src = snapshot.namespaces[k]
        guard var l = src.link(index: index) else { throw fail("device vanished") }
        src.links.removeAll { $0.index == index }
        src.addresses.removeAll { $0.index == index }
        flushRoutes(&src, via: index)
        snapshot.namespaces[k] = src
        var dst = snapshot.namespaces[t]
        let oldIndex = l.index
        l.index = (dst.links.map(\.index).max() ?? 0) + 1
        // The veth peer now points at the device in its new namespace.
        for n in snapshot.namespaces.indices {
            for j in snapshot.namespaces[n].links.indices where snapshot.namespaces[n].links[j].peerNetns == src.id
                && snapshot.namespaces[n].links[j].link == oldIndex && l.peerNetns == snapshot.namespaces[n].id {
                snapshot.namespaces[n].links[j].peerNetns = dst.id
                snapshot.namespaces[n].links[j].link = l.index
            }
        }
        l.flags &= ~(LinkFlags.up | LinkFlags.lowerUp)
        l.operstate = "DOWN"
        l.master = nil; l.slaveKind = nil; l.linkNetnsid = nil
        dst.links.append(l)
        snapshot.namespaces[t] = dst
    }
}

public struct EditError: Error, CustomStringConvertible, Sendable {
    public var line: Int
    public var command: String
    public var message: String
    public var description: String { line > 0 ? "line \(line) (\(command)): \(message)" : "\(command): \(message)" }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

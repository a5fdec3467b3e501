/// One change to a snapshot, typed: what `report --apply` reads and what remediation
/// proposes. `command` renders it in `ip`/`sysctl` syntax (always with `ip -n NS`);
/// `SnapshotEdit.parse` reads such a command back (round trip: `parse(e.command) == [e]`).
/// `SnapshotEditor.apply(_:)` carries an edit out with the kernel's side effects; device
/// names are resolved then, against the namespace the edit names.
public enum SnapshotEdit: Sendable, Equatable {
    case addressAdd(netns: String, device: String, address: IPAddress, prefixLength: UInt8, noPrefixRoute: Bool)
    case addressDel(netns: String, device: String, address: IPAddress, prefixLength: UInt8)
    case routeAdd(netns: String, route: RouteSpec, replace: Bool)
    case routeDel(netns: String, route: RouteSpec)
    case ruleAdd(netns: String, rule: RuleSpec)
    case ruleDel(netns: String, rule: RuleSpec)
    case vrfAdd(netns: String, name: String, table: UInt32)
    case linkSet(netns: String, device: String, change: LinkChange)
    case netnsAdd(String)
    case sysctl(netns: String, name: String, value: Int)

    public enum LinkChange: Sendable, Equatable {
        case up, down, nomaster
        case master(String)
        case netns(String)
    }

    /// A route as `ip route` takes it: what was given, nothing resolved (nil: not given).
    public struct RouteSpec: Sendable, Equatable {
        public var family: IPAddress.Family
        public var type: RouteType?
        /// nil: `default`.
        public var dst: IPPrefix?
        public var gateway: IPAddress?
        public var device: String?
        public var table: UInt32?
        public var metric: UInt32?
        public var prefsrc: IPAddress?
        public var `protocol`: UInt8?
        public var scope: UInt8?
        public var onlink = false
        public var tos: UInt8?
        public var nhid: UInt32?
        public init(family: IPAddress.Family, dst: IPPrefix?) { self.family = family; self.dst = dst }
    }

    /// A policy rule as `ip rule` takes it (nil: not given).
    public struct RuleSpec: Sendable, Equatable {
        public enum Action: Sendable, Equatable {
            case lookup(UInt32), blackhole, unreachable, prohibit, nop, goto(UInt32), l3mdev
        }
        public var family: IPAddress.Family
        public var priority: UInt32?
        public var not = false
        public var from: IPPrefix?
        public var to: IPPrefix?
        public var iif: String?
        public var oif: String?
        public var fwmark: UInt32?
        public var fwmask: UInt32?
        public var ipproto: UInt8?
        public var sport: PortRange?
        public var dport: PortRange?
        public var action: Action?
        public var suppressPrefixlength: Int32?
        /// `tos`/`dsfield` selector.
        public var tos: UInt8?
        public var uidrange: UIDRange?
        public var suppressIfgroup: UInt32?
        public init(family: IPAddress.Family) { self.family = family }

        /// The rule as `ip rule` would be given it to create `rule` (the table and selectors
        /// the kernel reports; its protocol and realms are not `ip rule` selectors).
        public init(_ rule: Rule) {
            self.init(family: rule.family)
            priority = rule.priority
            not = rule.invert
            from = rule.src; to = rule.dst; iif = rule.iif; oif = rule.oif
            fwmark = rule.fwmark
            fwmask = rule.fwmark != nil && rule.fwmask != 0xffff_ffff ? rule.fwmask : nil
            ipproto = rule.ipproto.flatMap { $0 == 0 ? nil : $0 }
            sport = rule.sport; dport = rule.dport
            tos = rule.tos == 0 ? nil : rule.tos
            uidrange = rule.uidrange
            suppressPrefixlength = rule.suppressPrefixlen.flatMap { $0 < 0 ? nil : $0 }
            suppressIfgroup = rule.suppressIfgroup.flatMap { $0 == UInt32.max ? nil : $0 }
            if rule.l3mdev { action = .l3mdev; return }
            switch rule.action {
            case RuleAction.toTable: action = .lookup(rule.table)
            case RuleAction.goto: action = .goto(rule.gotoTarget ?? 0)
            case RuleAction.nop: action = .nop
            case RuleAction.blackhole: action = .blackhole
            case RuleAction.unreachable: action = .unreachable
            case RuleAction.prohibit: action = .prohibit
            default: action = nil
            }
        }
    }

    /// The namespace the edit applies to.
    public var netns: String {
        switch self {
        case .addressAdd(let n, _, _, _, _), .addressDel(let n, _, _, _), .routeAdd(let n, _, _), .routeDel(let n, _),
             .ruleAdd(let n, _), .ruleDel(let n, _), .vrfAdd(let n, _, _), .linkSet(let n, _, _), .sysctl(let n, _, _):
            return n
        case .netnsAdd(let n): return n
        }
    }

    // MARK: rendering

    /// The edit in `ip`/`sysctl` syntax.
    public var command: String {
        func ip(_ n: String, _ fam: IPAddress.Family?, _ rest: String) -> String {
            "ip -n \(n)\(fam == .v6 ? " -6" : "") \(rest)"
        }
        switch self {
        case .addressAdd(let n, let d, let a, let l, let np):
            return ip(n, nil, "addr add \(a)/\(l) dev \(d)\(np ? " noprefixroute" : "")")
        case .addressDel(let n, let d, let a, let l):
            return ip(n, nil, "addr del \(a)/\(l) dev \(d)")
        case .routeAdd(let n, let r, let replace):
            return ip(n, r.family, "route \(replace ? "replace" : "add") " + r.words.joined(separator: " "))
        case .routeDel(let n, let r):
            return ip(n, r.family, "route del " + r.words.joined(separator: " "))
        case .ruleAdd(let n, let r):
            return ip(n, r.family, (["rule", "add"] + r.words).joined(separator: " "))
        case .ruleDel(let n, let r):
            return ip(n, r.family, (["rule", "del"] + r.words).joined(separator: " "))
        case .vrfAdd(let n, let name, let t):
            return ip(n, nil, "link add \(name) type vrf table \(t)")
        case .linkSet(let n, let d, let c):
            let what: String
            switch c {
            case .up: what = "up"
            case .down: what = "down"
            case .nomaster: what = "nomaster"
            case .master(let m): what = "master \(m)"
            case .netns(let t): what = "netns \(t)"
            }
            return ip(n, nil, "link set \(d) \(what)")
        case .netnsAdd(let n):
            return "ip netns add \(n)"
        case .sysctl(let n, let k, let v):
            return "ip netns exec \(n) sysctl -w \(k)=\(v)"
        }
    }

    // MARK: parsing

    /// Reads one command (`ip [-n NS] [-4|-6] OBJECT VERB ...`, `ip netns add|exec`, or
    /// `sysctl -w KEY=VALUE ...`, one edit per pair). `defaultNamespace` is the namespace of
    /// commands without `-n`.
    public static func parse(_ command: String, defaultNamespace: String?) throws(EditError) -> [SnapshotEdit] {
        var w = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        func fail(_ m: String) -> EditError { EditError(line: 0, command: command, message: m) }
        guard let first = w.first else { return [] }
        func sysctls(_ args: ArraySlice<String>, _ ns: String?) throws(EditError) -> [SnapshotEdit] {
            guard let ns else { throw fail("no namespace for sysctl") }
            var out: [SnapshotEdit] = []
            for p in args where p != "-w" && p != "-q" {
                let kv = p.split(separator: "=", maxSplits: 1).map(String.init)
                guard kv.count == 2, let v = Int(kv[1]) else { throw fail("expected KEY=VALUE, got \(p)") }
                out.append(.sysctl(netns: ns, name: kv[0], value: v))
            }
            return out
        }
        if first == "sysctl" { return try sysctls(w.dropFirst(), defaultNamespace) }
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
            if w[0] == "add" { return [.netnsAdd(w[1])] }
            if w[0] == "exec", w.count >= 3, w[2] == "sysctl" { return try sysctls(w.dropFirst(3), w[1]) }
            throw fail("unsupported netns command")
        }
        guard let ns = nsName else { throw fail("which namespace? use ip -n NAME") }
        guard let verb = w.first else { throw fail("missing command after \(obj)") }
        w.removeFirst()
        switch (obj, verb) {
        case ("addr", "add"), ("address", "add"), ("a", "add"), ("addr", "del"), ("address", "del"), ("a", "del"):
            guard let text = w.first else { throw fail("expected ADDRESS/LEN") }
            let p: IPPrefix
            do throws(IPPrefixError) { p = try IPPrefix(validating: text) } catch { throw fail("invalid address: \(error)") }
            guard let addr = IPAddress(String(text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0])) else {
                throw fail("expected ADDRESS/LEN")
            }
            guard let i = w.firstIndex(of: "dev"), i + 1 < w.count else { throw fail("missing dev") }
            if verb == "add" { return [.addressAdd(netns: ns, device: w[i + 1], address: addr, prefixLength: p.length, noPrefixRoute: w.contains("noprefixroute"))] }
            return [.addressDel(netns: ns, device: w[i + 1], address: addr, prefixLength: p.length)]
        case ("route", "add"), ("r", "add"): return [.routeAdd(netns: ns, route: try RouteSpec(w, family, fail), replace: false)]
        case ("route", "replace"), ("r", "replace"): return [.routeAdd(netns: ns, route: try RouteSpec(w, family, fail), replace: true)]
        case ("route", "del"), ("r", "del"): return [.routeDel(netns: ns, route: try RouteSpec(w, family, fail))]
        case ("rule", "add"): return [.ruleAdd(netns: ns, rule: try RuleSpec(w, family ?? .v4, fail))]
        case ("rule", "del"): return [.ruleDel(netns: ns, rule: try RuleSpec(w, family ?? .v4, fail))]
        case ("link", "add"):
            guard w.count >= 5, w[1] == "type", w[2] == "vrf", w[3] == "table", let t = UInt32(w[4]) else {
                throw fail("only `ip link add NAME type vrf table N` is supported")
            }
            return [.vrfAdd(netns: ns, name: w[0], table: t)]
        case ("link", "set"):
            if w.first == "dev" { w.removeFirst() }
            guard let dev = w.first else { throw fail("missing device") }
            var out: [SnapshotEdit] = []
            var i = 1
            while i < w.count {
                func arg() throws(EditError) -> String { guard i + 1 < w.count else { throw fail("\(w[i]) needs a value") }; i += 1; return w[i] }
                switch w[i] {
                case "up": out.append(.linkSet(netns: ns, device: dev, change: .up))
                case "down": out.append(.linkSet(netns: ns, device: dev, change: .down))
                case "nomaster": out.append(.linkSet(netns: ns, device: dev, change: .nomaster))
                case "master": out.append(.linkSet(netns: ns, device: dev, change: .master(try arg())))
                case "netns": out.append(.linkSet(netns: ns, device: dev, change: .netns(try arg())))
                default: throw fail("unsupported link setting \(w[i])")
                }
                i += 1
            }
            return out
        default: throw fail("unsupported command ip \(obj) \(verb)")
        }
    }
}

extension SnapshotEdit.RouteSpec {
    /// `ip route` words after the verb.
    init(_ w: [String], _ family: IPAddress.Family?, _ fail: (String) -> EditError) throws(EditError) {
        var i = 0
        var type: RouteType?
        if let t = w.first, let rt = RouteType(name: t), t != "none" { type = rt; i = 1 }
        guard i < w.count else { throw fail("missing destination") }
        let dstText = w[i]; i += 1
        if dstText == "default" {
            self.init(family: family ?? (w.contains { $0.contains(":") } ? .v6 : .v4), dst: nil)
        } else {
            let p: IPPrefix
            do throws(IPPrefixError) { p = try IPPrefix(validating: dstText) } catch { throw fail("invalid prefix: \(error)") }
            self.init(family: p.family, dst: p)
        }
        self.type = type
        while i < w.count {
            let k = w[i]
            func val() throws(EditError) -> String { guard i + 1 < w.count else { throw fail("\(k) needs a value") }; i += 1; return w[i] }
            switch k {
            case "via":
                var v = try val()
                if v == "inet" || v == "inet6" { v = try val() }
                guard let g = IPAddress(v) else { throw fail("invalid gateway \(v)") }
                gateway = g
            case "dev", "oif": device = try val()
            case "table":
                let t = try val()
                guard let id = Table.parse(t) else { throw fail("invalid table \(t)") }
                table = id
            case "metric", "priority", "preference":
                let m = try val()
                guard let v = UInt32(m) else { throw fail("invalid metric \(m)") }
                metric = v
            case "src":
                let s = try val()
                guard let a = IPAddress(s) else { throw fail("invalid src \(s)") }
                prefsrc = a
            case "proto", "protocol":
                let p = try val()
                guard let v = RouteProtocol.parse(p) else { throw fail("invalid protocol \(p)") }
                self.protocol = v
            case "scope":
                let s = try val()
                guard let v = Scope.parse(s) else { throw fail("invalid scope \(s)") }
                scope = v
            case "onlink": onlink = true
            case "tos", "dsfield":
                let t = try val()
                guard let v = UInt8(t.hasPrefix("0x") ? String(t.dropFirst(2)) : t, radix: 16) else { throw fail("invalid tos \(t)") }
                tos = v
            case "nhid":
                let n = try val()
                guard let id = UInt32(n) else { throw fail("invalid nexthop id \(n)") }
                nhid = id
            default: throw fail("unsupported route argument \(k)")
            }
            i += 1
        }
    }

    var words: [String] {
        var w: [String] = []
        if let t = type { w.append(t.name) }
        w.append(dst?.description ?? "default")
        if let g = gateway { w += ["via", g.description] }
        if let d = device { w += ["dev", d] }
        if let t = table { w += ["table", Table.name(t)] }
        if let m = metric { w += ["metric", String(m)] }
        if let s = prefsrc { w += ["src", s.description] }
        if let p = self.protocol { w += ["proto", RouteProtocol.name(p)] }
        if let s = scope { w += ["scope", Scope.name(s)] }
        if onlink { w.append("onlink") }
        if let t = tos { w += ["tos", "0x" + String(t, radix: 16)] }
        if let n = nhid { w += ["nhid", String(n)] }
        return w
    }
}

extension SnapshotEdit.RuleSpec {
    /// `ip rule` words after the verb.
    init(_ w: [String], _ family: IPAddress.Family, _ fail: (String) -> EditError) throws(EditError) {
        self.init(family: family)
        var i = 0
        while i < w.count {
            let k = w[i]
            func val() throws(EditError) -> String { guard i + 1 < w.count else { throw fail("\(k) needs a value") }; i += 1; return w[i] }
            func prefix(_ s: String) throws(EditError) -> IPPrefix? {
                if s == "all" { return nil }
                let p: IPPrefix
                do throws(IPPrefixError) { p = try IPPrefix(validating: s) } catch { throw fail("invalid prefix: \(error)") }
                self.family = p.family
                return p
            }
            func number(_ s: String) -> UInt32? { s.hasPrefix("0x") ? UInt32(s.dropFirst(2), radix: 16) : UInt32(s) }
            switch k {
            case "not": not = true
            case "from": from = try prefix(try val())
            case "to": to = try prefix(try val())
            case "iif": iif = try val()
            case "oif": oif = try val()
            case "priority", "pref", "preference":
                let p = try val()
                guard let v = UInt32(p) else { throw fail("invalid priority \(p)") }
                priority = v
            case "lookup", "table":
                let t = try val()
                guard let id = Table.parse(t) else { throw fail("invalid table \(t)") }
                action = .lookup(id)
            case "fwmark":
                let m = try val()
                let parts = m.split(separator: "/").map(String.init)
                guard let mark = number(parts[0]), parts.count <= 2 else { throw fail("invalid fwmark \(m)") }
                fwmark = mark
                if parts.count == 2 { guard let mask = number(parts[1]) else { throw fail("invalid fwmark \(m)") }; fwmask = mask }
            case "ipproto":
                let p = try val()
                guard let v = IPProto.parse(p) else { throw fail("invalid ipproto \(p)") }
                ipproto = v
            case "sport", "dport":
                let text = try val()
                let parts = text.split(separator: "-").compactMap { UInt16($0) }
                guard let a = parts.first, parts.count <= 2, parts.last! >= a else { throw fail("invalid \(k) \(text)") }
                let range = PortRange(a, parts.count > 1 ? parts[1] : a)
                if k == "sport" { sport = range } else { dport = range }
            case "blackhole": action = .blackhole
            case "unreachable": action = .unreachable
            case "prohibit": action = .prohibit
            case "nop": action = .nop
            case "goto":
                let g = try val()
                guard let t = UInt32(g) else { throw fail("invalid goto \(g)") }
                action = .goto(t)
            case "l3mdev": action = .l3mdev
            case "suppress_prefixlength":
                let s = try val()
                guard let v = Int32(s) else { throw fail("invalid suppress_prefixlength \(s)") }
                suppressPrefixlength = v
            case "suppress_ifgroup":
                let s = try val()
                guard let v = UInt32(s) else { throw fail("invalid suppress_ifgroup \(s)") }
                suppressIfgroup = v
            case "tos", "dsfield":
                let t = try val()
                guard let v = UInt8(t.hasPrefix("0x") ? String(t.dropFirst(2)) : t, radix: 16) else { throw fail("invalid tos \(t)") }
                tos = v
            case "uidrange":
                let text = try val()
                let parts = text.split(separator: "-").compactMap { UInt32($0) }
                guard parts.count == 2, parts[1] >= parts[0] else { throw fail("invalid uidrange \(text)") }
                uidrange = UIDRange(parts[0], parts[1])
            default: throw fail("unsupported rule argument \(k)")
            }
            i += 1
        }
    }

    var words: [String] {
        var w: [String] = []
        if not { w.append("not") }
        // A host prefix is written as the address, as ip does.
        func text(_ p: IPPrefix) -> String { Int(p.length) == p.family.bitWidth ? p.address.description : p.description }
        if let f = from { w += ["from", text(f)] }
        if let t = to { w += ["to", text(t)] }
        if let d = iif { w += ["iif", d] }
        if let d = oif { w += ["oif", d] }
        if let m = fwmark { w += ["fwmark", "0x" + String(m, radix: 16) + (fwmask.map { "/0x" + String($0, radix: 16) } ?? "")] }
        if let p = ipproto { w += ["ipproto", IPProto.name(p)] }
        if let p = sport { w += ["sport", p.start == p.end ? String(p.start) : "\(p.start)-\(p.end)"] }
        if let p = dport { w += ["dport", p.start == p.end ? String(p.start) : "\(p.start)-\(p.end)"] }
        if let t = tos { w += ["tos", "0x" + String(t, radix: 16)] }
        if let u = uidrange { w += ["uidrange", "\(u.start)-\(u.end)"] }
        switch action {
        case .lookup(let t): w += ["lookup", Table.name(t)]
        case .blackhole: w.append("blackhole")
        case .unreachable: w.append("unreachable")
        case .prohibit: w.append("prohibit")
        case .nop: w.append("nop")
        case .goto(let t): w += ["goto", String(t)]
        case .l3mdev: w.append("l3mdev")
        case nil: break
        }
        if let s = suppressPrefixlength { w += ["suppress_prefixlength", String(s)] }
        if let g = suppressIfgroup { w += ["suppress_ifgroup", String(g)] }
        if let p = priority { w += ["priority", String(p)] }
        return w
    }
}

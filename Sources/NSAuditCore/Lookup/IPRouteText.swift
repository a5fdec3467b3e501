import FoundationEssentials

/// One RTM_NEWROUTE message as the kernel answers `ip route get` (rt_fill_info for IPv4,
/// rt6_fill_node for IPv6, fib_dump_info for `fibmatch`), attribute by attribute, so that it
/// can be printed the way iproute2's `print_route` prints it: text or `-j` JSON.
public struct IPRouteMessage: Sendable, Equatable {
    /// One entry of RTA_MULTIPATH.
    public struct Hop: Sendable, Equatable {
        public var gateway: IPAddress?
        public var dev: String
        public var weight: Int
        /// rtnh_flags (RTNH_F_*).
        public var flags: UInt32
        public init(gateway: IPAddress?, dev: String, weight: Int, flags: UInt32) {
            self.gateway = gateway; self.dev = dev; self.weight = weight; self.flags = flags
        }
    }

    public var family: IPAddress.Family
    public var type: RouteType
    /// RTA_DST with rtm_dst_len (nil: none, printed `default` when the length is 0).
    public var dst: IPAddress?
    public var dstLength: UInt8
    /// RTA_SRC with rtm_src_len.
    public var src: IPAddress?
    public var srcLength: UInt8 = 0
    public var tos: UInt8 = 0
    /// RTA_TABLE (0: none).
    public var table: UInt32 = 0
    public var `protocol`: UInt8 = 0
    public var scope: UInt8 = 0
    /// rtm_flags: RTNH_F_* in the low byte, RTM_F_*, and for cached IPv4 routes the RTCF_*
    /// bits (RouteCacheFlags).
    public var flags: UInt32 = 0
    public var nhid: UInt32?
    /// RTA_GATEWAY, or RTA_VIA when its family differs from the route's.
    public var gateway: IPAddress?
    /// RTA_OIF, by name.
    public var dev: String?
    public var prefsrc: IPAddress?
    /// RTA_PRIORITY.
    public var priority: UInt32?
    public var mark: UInt32?
    public var uid: UInt32?
    /// RTA_METRICS by RouteMetricNames name (`lock` is the RTAX_LOCK bit mask).
    public var metrics: [String: UInt32]?
    public var iif: String?
    /// RTA_PREF (IPv6).
    public var pref: UInt8?
    /// RTA_MULTIPATH.
    public var multipath: [Hop]?
    /// nsaudit's own extension (not `ip`'s): every path the kernel's hash may choose, printed
    /// as `nexthop-candidates [...]` in place of `via`/`dev`.
    public var candidates: [RoutePath]?

    public init(family: IPAddress.Family, type: RouteType, dst: IPAddress?, dstLength: UInt8) {
        self.family = family; self.type = type; self.dst = dst; self.dstLength = dstLength
    }

    public static let cloned: UInt32 = 0x200, notifyFlag: UInt32 = 0x100
}

/// The names iproute2 prints for numbers: tables, route protocols, DSCP values and scopes.
/// The built-in ones are iproute2's own plus the entries of the `/etc/iproute2` files every
/// distribution ships; `merge` adds a site's files (`ID NAME` lines), as `ip` reads them.
public struct IPRouteNames: Sendable, Equatable {
    public var tables: [UInt32: String] = [253: "default", 254: "main", 255: "local"]
    public var protocols: [UInt8: String] = [
        0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra", 10: "mrt",
        11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp", 18: "keepalived",
        42: "babel", 99: "openr", 186: "bgp", 187: "isis", 188: "ospf", 189: "rip", 192: "eigrp",
    ]
    public var dsfields: [UInt8: String] = [
        0x00: "default", 0x28: "AF11", 0x30: "AF12", 0x38: "AF13", 0x48: "AF21", 0x50: "AF22", 0x58: "AF23",
        0x68: "AF31", 0x70: "AF32", 0x78: "AF33", 0x88: "AF41", 0x90: "AF42", 0x98: "AF43", 0x20: "CS1",
        0x40: "CS2", 0x60: "CS3", 0x80: "CS4", 0xa0: "CS5", 0xc0: "CS6", 0xe0: "CS7", 0xb8: "EF",
    ]
    public var scopes: [UInt8: String] = [0: "global", 200: "site", 253: "link", 254: "host", 255: "nowhere"]

    public init() {}
    public static let builtin = IPRouteNames()

    public enum Kind: Sendable { case tables, protocols, dsfields, scopes }

    /// Adds the `ID NAME` lines of one iproute2 names file (`#` comments; ids decimal or
    /// 0x-hexadecimal). Lines that are not of that form are skipped.
    public mutating func merge(_ kind: Kind, fileText: String) {
        for raw in fileText.split(whereSeparator: { $0 == "\n" }) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2 else { continue }
            let idText = String(words[0]), name = String(words[1])
            let id: UInt64? = idText.hasPrefix("0x") || idText.hasPrefix("0X") ? UInt64(idText.dropFirst(2), radix: 16) : UInt64(idText)
            guard let id else { continue }
            switch kind {
            case .tables: if id <= UInt64(UInt32.max) { tables[UInt32(id)] = name }
            case .protocols: if id < 256 { protocols[UInt8(id)] = name }
            case .dsfields: if id < 256 { dsfields[UInt8(id)] = name }
            case .scopes: if id < 256 { scopes[UInt8(id)] = name }
            }
        }
    }

    func table(_ t: UInt32) -> String { tables[t] ?? String(t) }
    func proto(_ p: UInt8) -> String { protocols[p] ?? String(p) }
    func scope(_ s: UInt8) -> String { scopes[s] ?? String(s) }
    func dsfield(_ d: UInt8) -> String {
        if let n = dsfields[d] { return n }
        let h = String(d, radix: 16)
        return "0x" + (h.count < 2 ? "0" + h : h)
    }
}

/// iproute2's `print_route`, for the messages `ip route get` receives: the same fields in the
/// same order with the same separators (every field followed by a space, the IPv4 cache line
/// on its own line, `nexthop` lines for multipath), and its `-j` JSON objects.
public enum IPRouteText {
    static let flagNames: [(UInt32, String)] = [
        (0x1, "dead"), (0x4, "onlink"), (0x2, "pervasive"), (0x8, "offload"), (0x40, "trap"), (0x100, "notify"),
        (0x10, "linkdown"), (0x20, "unresolved"), (0x4000, "rt_offload"), (0x8000, "rt_trap"),
        (0x2000_0000, "rt_offload_failed"),
    ]
    static let cacheNames: [(UInt32, String)] = [
        (0x8000_0000, "local"), (0x4000_0000, "reject"), (0x2000_0000, "mc"), (0x1000_0000, "brd"),
        (0x0800_0000, "dst-nat"), (0x0080_0000, "src-nat"), (0x0040_0000, "masq"), (0x0002_0000, "dst-direct"),
        (0x0400_0000, "src-direct"), (0x0004_0000, "redirected"), (0x0100_0000, "redirect"), (0x0020_0000, "fastroute"),
        (0x0001_0000, "notify"), (0x0008_0000, "proxy"),
    ]
    /// RTAX_* in iproute2's order (the attribute index), with the names it prints.
    static let metricOrder: [(index: Int, name: String)] = [
        (2, "mtu"), (3, "window"), (4, "rtt"), (5, "rttvar"), (6, "ssthresh"), (7, "cwnd"), (8, "advmss"),
        (9, "reordering"), (10, "hoplimit"), (11, "initcwnd"), (12, "features"), (13, "rto_min"), (14, "initrwnd"),
        (15, "quickack"), (16, "congctl"), (17, "fastopen_no_cookie"),
    ]

    /// The text of one message, without the final newline. `oneline` is `ip -o`: the line
    /// breaks inside the answer become a backslash.
    public static func append(_ m: IPRouteMessage, names: IPRouteNames = .builtin, oneline: Bool = false, to o: inout [UInt8]) {
        write(m, names: names, oneline: oneline, to: &o)
    }

    /// `append` into any byte sink (route-get --batch writes into its own buffer).
    static func write<Out: ByteSink>(_ m: IPRouteMessage, names: IPRouteNames, oneline: Bool = false, to o: inout Out) {
        let sl: StaticString = oneline ? "\\" : "\n"
        let hostLen = UInt8(m.family.bitWidth)
        let cloned = m.flags & IPRouteMessage.cloned != 0
        if m.type != .unicast { o.write(m.type.nameText); o.write(32) }
        appendPrefix(m.dst, m.dstLength, hostLen: hostLen, missing: "default", to: &o); o.write(32)
        if let src = m.src {
            o.write("from "); appendPrefix(src, m.srcLength, hostLen: hostLen, missing: "", to: &o); o.write(32)
        } else if m.srcLength != 0 {
            o.write("from 0/"); o.write(decimal: m.srcLength); o.write(32)
        }
        if let id = m.nhid { o.write("nhid "); o.write(decimal: id); o.write(32) }
        if m.tos != 0 { o.write("tos "); o.write(utf8: names.dsfield(m.tos)); o.write(32) }
        if let c = m.candidates, !c.isEmpty {
            o.write("nexthop-candidates")
            for p in c {
                o.write(" [")
                if let g = p.gateway { o.write("via "); o.write(g); o.write(32) }
                o.write("dev "); o.write(utf8: p.dev.terminalEscaped); o.write(" weight "); o.write(decimal: p.weight)
                if let e = p.error { o.write(" error "); o.write(utf8: e.rawValue) }
                o.write(UInt8(ascii: "]"))
            }
            o.write(32)
        } else {
            appendGateway(m.gateway, routeFamily: m.family, &o)
            if let d = m.dev { o.write("dev "); o.write(utf8: d.terminalEscaped); o.write(32) }
        }
        if m.table != 0 && m.table != Table.main { o.write("table "); o.write(utf8: names.table(m.table)); o.write(32) }
        if !cloned {
            if m.protocol != 3 { o.write("proto "); o.write(utf8: names.proto(m.protocol)); o.write(32) }
            if m.scope != 0 { o.write("scope "); o.write(utf8: names.scope(m.scope)); o.write(32) }
        }
        if let p = m.prefsrc { o.write("src "); o.write(p); o.write(32) }
        if let p = m.priority { o.write("metric "); o.write(decimal: p); o.write(32) }
        appendFlags(m.flags, &o)
        if let mark = m.mark, mark != 0 {
            if mark >= 16 { o.write("mark 0x"); o.write(hex: UInt64(mark)) } else { o.write("mark "); o.write(decimal: mark) }
            o.write(32)
        }
        if let u = m.uid { o.write("uid "); o.write(decimal: u); o.write(32) }
        if m.family == .v4 && cloned {
            o.write(sl); o.write("    cache ")
            var f = m.flags & ~UInt32(0xffff)
            if f != 0 {
                o.write(UInt8(ascii: "<"))
                for (bit, name) in cacheNames where f & bit != 0 {
                    f &= ~bit
                    o.write(utf8: name); o.write(f != 0 ? "," : "> ")
                }
                if f != 0 { o.write(hex: UInt64(f)); o.write(UInt8(ascii: ">")) }
            }
        }
        if let mx = m.metrics { appendMetrics(mx, &o) }
        if let i = m.iif { o.write("iif "); o.write(utf8: i); o.write(32) }
        if let p = m.pref { o.write(utf8: prefName(p)) }
        if let hops = m.multipath {
            for h in hops {
                o.write(sl); o.write("\tnexthop ")
                appendGateway(h.gateway, routeFamily: m.family, &o)
                o.write("dev "); o.write(utf8: h.dev.terminalEscaped); o.write(" weight "); o.write(decimal: h.weight); o.write(32)
                appendFlags(h.flags, &o)
            }
        }
    }

    public static func text(_ m: IPRouteMessage, names: IPRouteNames = .builtin, oneline: Bool = false) -> String {
        var b: [UInt8] = []
        append(m, names: names, oneline: oneline, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// ADDRESS/LENGTH, the address alone at the host length, `missing` without an address
    /// (`0/LENGTH ` when the length is not 0).
    static func appendPrefix<Out: ByteSink>(_ a: IPAddress?, _ len: UInt8, hostLen: UInt8, missing: StaticString, to o: inout Out) {
        guard let a else {
            if len != 0 { o.write("0/"); o.write(decimal: len); o.write(32) } else { o.write(missing) }
            return
        }
        o.write(a)
        if len != hostLen { o.write(UInt8(ascii: "/")); o.write(decimal: len) }
    }

    static func appendGateway<Out: ByteSink>(_ g: IPAddress?, routeFamily: IPAddress.Family, _ o: inout Out) {
        guard let g else { return }
        o.write("via ")
        if g.family != routeFamily { o.write(utf8: g.family.description); o.write(32) }
        o.write(g); o.write(32)
    }

    static func appendFlags<Out: ByteSink>(_ f: UInt32, _ o: inout Out) {
        guard f & flagBits != 0 else { return }
        for (bit, name) in flagNames where f & bit != 0 { o.write(utf8: name); o.write(32) }
    }

    /// Every bit `flagNames` names.
    static let flagBits: UInt32 = flagNames.reduce(0) { $0 | $1.0 }

    static func prefName(_ p: UInt8) -> String {
        switch p {
        case 0: "pref medium"
        case 1: "pref high"
        case 3: "pref low"
        default: String(p)
        }
    }

    static func metricValue(_ mx: [String: UInt32], _ index: Int, _ name: String) -> UInt32? {
        mx[name] ?? mx["rtax\(index)"]
    }

    static func appendMetrics<Out: ByteSink>(_ mx: [String: UInt32], _ o: inout Out) {
        let lock = mx["lock"] ?? 0
        for (i, name) in metricOrder {
            let v = metricValue(mx, i, name)
            if v == nil && lock & (1 << UInt32(i)) == 0 { continue }
            let val = i == 16 ? 0 : (v ?? 0)
            if i == 10 && val == UInt32.max { continue }
            o.write(utf8: name); o.write(32)
            if lock & (1 << UInt32(i)) != 0 { o.write("lock ") }
            switch i {
            case 12:
                var f = val
                if f & 1 != 0 { o.write("ecn "); f &= ~1 }
                if f != 0 { o.write("0x"); o.write(hex: UInt64(val)); o.write(32) }
            case 4, 5, 13:
                let x = i == 4 ? val / 8 : (i == 5 ? val / 4 : val)
                if x >= 1000 { o.write(utf8: (Double(x) / 1e3).shortest); o.write("s ") } else { o.write(decimal: x); o.write("ms ") }
            case 16:
                // The snapshot keeps metrics as numbers: the algorithm's name is not recorded.
                o.write("? ")
            default:
                o.write(decimal: val); o.write(32)
            }
        }
    }

    // MARK: JSON (`ip -j`)

    /// One `-j` object, written with iproute2's json_writer string escaping.
    public static func appendJSON(_ m: IPRouteMessage, names: IPRouteNames = .builtin, to o: inout [UInt8]) {
        JSONWriter.append(to: &o, escaping: .iproute2) { w in writeJSON(m, names: names, to: &w) }
    }

    static func writeJSON(_ m: IPRouteMessage, names: IPRouteNames, to w: inout JSONWriter<[UInt8]>) {
        let hostLen = UInt8(m.family.bitWidth)
        let cloned = m.flags & IPRouteMessage.cloned != 0
        func flagArray(_ f: UInt32) {
            w.key("flags"); w.beginArray()
            for (bit, name) in flagNames where f & bit != 0 { w.element(); w.string(name) }
            w.endArray()
        }
        func gateway(_ g: IPAddress?) {
            guard let g else { return }
            if g.family == m.family { w.key("gateway"); w.address(g); return }
            w.key("via"); w.beginObject()
            w.key("family"); w.string(g.family.description)
            w.key("host"); w.address(g)
            w.endObject()
        }
        w.beginObject()
        if m.type != .unicast { w.key("type"); w.string(m.type.name) }
        w.key("dst"); w.plainString { appendPrefix(m.dst, m.dstLength, hostLen: hostLen, missing: "default", to: &$0) }
        if let src = m.src {
            w.key("from"); w.plainString { appendPrefix(src, m.srcLength, hostLen: hostLen, missing: "", to: &$0) }
        } else if m.srcLength != 0 {
            w.key("src"); w.plainString { $0.write("0/"); $0.write(decimal: m.srcLength) }
        }
        if let id = m.nhid { w.key("nhid"); w.int(id) }
        if m.tos != 0 { w.key("tos"); w.string(names.dsfield(m.tos)) }
        gateway(m.gateway)
        if let d = m.dev { w.key("dev"); w.string(d) }
        if m.table != 0 && m.table != Table.main { w.key("table"); w.string(names.table(m.table)) }
        if !cloned {
            if m.protocol != 3 { w.key("protocol"); w.string(names.proto(m.protocol)) }
            if m.scope != 0 { w.key("scope"); w.string(names.scope(m.scope)) }
        }
        if let p = m.prefsrc { w.key("prefsrc"); w.address(p) }
        if let p = m.priority { w.key("metric"); w.int(p) }
        flagArray(m.flags)
        if let mark = m.mark, mark != 0 { w.key("mark"); w.int(mark) }
        if let u = m.uid { w.key("uid"); w.int(u) }
        if m.family == .v4 && cloned {
            w.key("cache"); w.beginArray()
            var f = m.flags & ~UInt32(0xffff)
            for (bit, name) in cacheNames where f & bit != 0 {
                f &= ~bit
                w.element(); w.string(name)
            }
            w.endArray()
        }
        if let mx = m.metrics {
            w.key("metrics"); w.beginArray(); w.element(); w.beginObject()
            let lock = mx["lock"] ?? 0
            for (i, name) in metricOrder {
                let v = metricValue(mx, i, name)
                if v == nil && lock & (1 << UInt32(i)) == 0 { continue }
                let val = v ?? 0
                if i == 10 && val == UInt32.max { continue }
                switch i {
                case 4: w.key(escaping: name); w.int(val / 8)
                case 5: w.key(escaping: name); w.int(val / 4)
                case 16: w.key("congestion"); w.string("?")
                case 12:
                    if val & 1 != 0 { w.key("ecn"); w.null() }
                    if val & ~1 != 0 { w.key("features"); w.plainString { $0.write("0x"); $0.write(hex: UInt64(val)) } }
                default: w.key(escaping: name); w.int(val)
                }
            }
            w.endObject(); w.endArray()
        }
        if let i = m.iif { w.key("iif"); w.string(i) }
        if let p = m.pref {
            w.key("pref")
            switch p {
            case 0: w.string("medium")
            case 1: w.string("high")
            case 3: w.string("low")
            default: w.int(p)
            }
        }
        if let hops = m.multipath {
            w.key("nexthops"); w.beginArray()
            for h in hops {
                w.element(); w.beginObject()
                gateway(h.gateway)
                w.key("dev"); w.string(h.dev)
                w.key("weight"); w.int(h.weight)
                flagArray(h.flags)
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
    }
}

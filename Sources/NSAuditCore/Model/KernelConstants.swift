/// Kernel ABI values the model needs, with the names `ip` prints for them. The core stays
/// free of C headers; the Linux layer passes raw values straight through.

public enum LinkFlags {
    public static let up: UInt32 = 0x1
    public static let broadcast: UInt32 = 0x2
    public static let loopback: UInt32 = 0x8
    public static let pointopoint: UInt32 = 0x10
    public static let noarp: UInt32 = 0x80
    public static let multicast: UInt32 = 0x1000
    public static let lowerUp: UInt32 = 0x10000
    public static let names: [(UInt32, String)] = [
        (0x1, "UP"), (0x2, "BROADCAST"), (0x4, "DEBUG"), (0x8, "LOOPBACK"), (0x10, "POINTOPOINT"),
        (0x20, "NOTRAILERS"), (0x80, "NOARP"), (0x100, "PROMISC"), (0x200, "ALLMULTI"),
        (0x400, "MASTER"), (0x800, "SLAVE"), (0x1000, "MULTICAST"), (0x10000, "LOWER_UP"),
        (0x20000, "DORMANT"), (0x40000, "ECHO"),
    ]
}

public enum RuleAction {
    public static let toTable: UInt8 = 1, goto: UInt8 = 2, nop: UInt8 = 3
    public static let blackhole: UInt8 = 6, unreachable: UInt8 = 7, prohibit: UInt8 = 8
    public static func name(_ a: UInt8) -> String {
        switch a {
        case toTable: "lookup"; case goto: "goto"; case nop: "nop"; case blackhole: "blackhole"
        case unreachable: "unreachable"; case prohibit: "prohibit"; default: "action-\(a)"
        }
    }
}

public enum RuleFlags {
    public static let permanent: UInt32 = 1, invert: UInt32 = 2, unresolved: UInt32 = 4
    public static let iifDetached: UInt32 = 8, oifDetached: UInt32 = 16
}

/// rtm_type.
public enum RouteType: UInt8, Codable, Sendable, CaseIterable {
    case unspec = 0, unicast, local, broadcast, anycast, multicast, blackhole, unreachable
    case prohibit, `throw`, nat, xresolve

    public var name: String { String(describing: nameText) }
    /// The name as `ip` prints it (for the byte-level writers).
    var nameText: StaticString {
        switch self {
        case .unspec: "none"; case .unicast: "unicast"; case .local: "local"
        case .broadcast: "broadcast"; case .anycast: "anycast"; case .multicast: "multicast"
        case .blackhole: "blackhole"; case .unreachable: "unreachable"; case .prohibit: "prohibit"
        case .throw: "throw"; case .nat: "nat"; case .xresolve: "xresolve"
        }
    }
    public init?(name: String) {
        guard let t = RouteType.allCases.first(where: { $0.name == name }) else { return nil }
        self = t
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let t = RouteType(name: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown route type \(s)")
        }
        self = t
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}

/// RTNH_F_* nexthop flags (also the low byte of rtm_flags).
public enum NexthopFlags {
    public static let dead: UInt32 = 1, pervasive: UInt32 = 2, onlink: UInt32 = 4
    public static let offload: UInt32 = 8, linkdown: UInt32 = 16, unresolved: UInt32 = 32
    public static let trap: UInt32 = 64
    public static let names: [(UInt32, String)] = [
        (1, "dead"), (2, "pervasive"), (4, "onlink"), (8, "offload"), (16, "linkdown"),
        (32, "unresolved"), (64, "trap"),
    ]
}

public enum AddressFlags {
    public static let secondary: UInt32 = 0x01, nodad: UInt32 = 0x02, optimistic: UInt32 = 0x04
    public static let dadfailed: UInt32 = 0x08, homeaddress: UInt32 = 0x10
    public static let deprecated: UInt32 = 0x20, tentative: UInt32 = 0x40
    public static let permanent: UInt32 = 0x80, managetempaddr: UInt32 = 0x100
    public static let noprefixroute: UInt32 = 0x200, mcautojoin: UInt32 = 0x400
    public static let stablePrivacy: UInt32 = 0x800
    public static let names: [(UInt32, String)] = [
        (0x01, "secondary"), (0x02, "nodad"), (0x04, "optimistic"), (0x08, "dadfailed"),
        (0x10, "home"), (0x20, "deprecated"), (0x40, "tentative"), (0x80, "permanent"),
        (0x100, "mngtmpaddr"), (0x200, "noprefixroute"), (0x400, "autojoin"),
        (0x800, "stable-privacy"),
    ]
}

/// rt_scope_t
public enum Scope {
    public static let universe: UInt8 = 0, site: UInt8 = 200, link: UInt8 = 253
    public static let host: UInt8 = 254, nowhere: UInt8 = 255
    public static func name(_ s: UInt8) -> String {
        switch s {
        case 0: "global"; case 200: "site"; case 253: "link"; case 254: "host"; case 255: "nowhere"
        default: String(s)
        }
    }
    /// A name `name` gives (and `universe`), or a number.
    public static func parse(_ s: String) -> UInt8? {
        switch s {
        case "global", "universe": 0; case "site": 200; case "link": 253; case "host": 254; case "nowhere": 255
        default: UInt8(s)
        }
    }
}

/// Well-known routing table ids.
public enum Table {
    public static let unspec: UInt32 = 0, `default`: UInt32 = 253, main: UInt32 = 254
    public static let local: UInt32 = 255
    public static func name(_ t: UInt32) -> String {
        switch t {
        case 253: "default"; case 254: "main"; case 255: "local"; default: String(t)
        }
    }
    public static func parse(_ s: String) -> UInt32? {
        switch s {
        case "default": 253; case "main": 254; case "local": 255; default: UInt32(s)
        }
    }
}

/// rtm_protocol names, as iproute2's rt_protos lists them.
public enum RouteProtocol {
    public static let table: [UInt8: String] = [
        0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated", 9: "ra",
        10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp", 15: "ntk", 16: "dhcp",
        17: "mrouted", 18: "keepalived", 42: "babel", 99: "openr", 186: "bgp", 187: "isis",
        188: "ospf", 189: "rip", 192: "eigrp",
    ]
    public static func name(_ p: UInt8) -> String { table[p] ?? String(p) }
    /// A name `name` gives, or a number.
    public static func parse(_ s: String) -> UInt8? { table.first { $0.value == s }?.key ?? UInt8(s) }
}

/// IANA protocol numbers used by rules and queries.
public enum IPProto {
    public static let icmp: UInt8 = 1, tcp: UInt8 = 6, udp: UInt8 = 17, icmpv6: UInt8 = 58
    public static func name(_ p: UInt8) -> String {
        switch p { case 1: "icmp"; case 6: "tcp"; case 17: "udp"; case 58: "ipv6-icmp"; default: String(p) }
    }
    public static func parse(_ s: String) -> UInt8? {
        switch s { case "icmp": 1; case "tcp": 6; case "udp": 17; case "ipv6-icmp", "icmpv6": 58; default: UInt8(s) }
    }
}

/// RTAX_* route metrics by index.
public enum RouteMetricNames {
    public static let names: [Int: String] = [
        1: "lock", 2: "mtu", 3: "window", 4: "rtt", 5: "rttvar", 6: "ssthresh", 7: "cwnd",
        8: "advmss", 9: "reordering", 10: "hoplimit", 11: "initcwnd", 12: "features",
        13: "rto_min", 14: "initrwnd", 15: "quickack", 16: "congctl", 17: "fastopen_no_cookie",
    ]
}

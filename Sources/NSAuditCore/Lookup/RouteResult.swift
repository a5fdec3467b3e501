/// Errors the kernel returns from RTM_GETROUTE, by errno name.
public enum KernelError: String, Sendable, Equatable, CaseIterable {
    case ENETUNREACH, EHOSTUNREACH, EACCES, EINVAL, EXDEV, ENODEV, EADDRNOTAVAIL, ENETDOWN, EMSGSIZE
    /// Internal: "no match here, continue with the next rule" (never reported).
    case EAGAIN
    /// The strerror text `ip` prints after "RTNETLINK answers: ".
    public var message: String {
        switch self {
        case .ENETUNREACH: "Network is unreachable"
        case .EHOSTUNREACH: "No route to host"
        case .EACCES: "Permission denied"
        case .EINVAL: "Invalid argument"
        case .EXDEV: "Invalid cross-device link"
        case .ENODEV: "No such device"
        case .EADDRNOTAVAIL: "Cannot assign requested address"
        case .ENETDOWN: "Network is down"
        case .EMSGSIZE: "Message too long"
        case .EAGAIN: "Resource temporarily unavailable"
        }
    }
    public init?(message: String) {
        guard let e = KernelError.allCases.first(where: { $0.message == message }) else { return nil }
        self = e
    }
}

/// One path of the answer; for multipath routes the answer lists every path the kernel's
/// hash may choose (the hash itself cannot be known offline).
public struct RoutePath: Sendable, Equatable {
    public var dev: String
    public var gateway: IPAddress?
    public var weight: UInt16
    /// The source address the kernel would select if it chose this path.
    public var prefsrc: IPAddress?
    /// The error the kernel returns if its hash chooses this path (input lookups, where the
    /// source is validated against the chosen path).
    public var error: KernelError? = nil
    /// Forwarding back out of the input device would send an ICMP redirect
    /// (IPSKB_DOREDIRECT: `ip` prints `cache <redirect>`), input lookups.
    public var redirect = false
    /// The path's position among the route's nexthops (as `ip route show` lists them), or
    /// among the routes of fib_select_default's candidates.
    public var nexthop = 0
    /// The snapshot route of this path (position in the namespace's `routes`) when it is not
    /// the answer's matched route (fib_select_default's alternatives).
    public var route: Int? = nil
    public init(dev: String, gateway: IPAddress?, weight: UInt16, prefsrc: IPAddress? = nil) {
        self.dev = dev; self.gateway = gateway; self.weight = weight; self.prefsrc = prefsrc
    }
}

/// The FIB entry a lookup matched: what `ip route get fibmatch` prints (RTM_F_FIB_MATCH:
/// fib_dump_info of the fib_result for IPv4, rt6_fill_node of the fib6_info for IPv6).
public struct FIBMatch: Sendable, Equatable {
    /// Position of the route in the namespace snapshot's `routes`.
    public var route: Int
    /// The table the kernel names: for IPv4 the table the lookup searched (res.table, which
    /// is main for local routes while local and main share one trie); for IPv6 the route's.
    public var table: UInt32
    /// The answer's route type: for IPv4 the cached route's (rt_type: broadcast for
    /// 255.255.255.255 through a unicast default route), for IPv6 the route's.
    public var type: RouteType
    public init(route: Int, table: UInt32, type: RouteType) {
        self.route = route; self.table = table; self.type = type
    }
}

/// RTCF_* route cache flags the kernel reports in rtm_flags (`cache <...>`).
public enum RouteCacheFlags {
    public static let notify: UInt32 = 0x0001_0000, doRedirect: UInt32 = 0x0100_0000
    public static let broadcast: UInt32 = 0x1000_0000, multicast: UInt32 = 0x2000_0000
    public static let local: UInt32 = 0x8000_0000
}

/// The model's answer to one query: what `ip route get` would print.
public struct RouteResult: Sendable, Equatable {
    public var query: String
    public var family: IPAddress.Family
    public var error: KernelError?
    public var type: RouteType?
    public var dst: IPAddress
    public var from: IPAddress?
    public var iif: String?
    public var dev: String?
    public var gateway: IPAddress?
    /// Table id the kernel reports (RTA_TABLE); nil when it reports none (0).
    public var table: UInt32?
    public var prefsrc: IPAddress?
    /// Priority of the policy rule that produced the answer.
    public var rule: UInt32?
    /// Every path the kernel may choose, when more than one (empty for a single path).
    public var multipath: [RoutePath]
    // Extra fields for the text rendering.
    public var metric: UInt32?
    public var routeProtocol: UInt8?
    public var pref: UInt8?
    public var uid: UInt32?
    /// RTCF_* flags of the cached route (RouteCacheFlags), IPv4.
    public var cacheFlags: UInt32 = 0
    /// The matched route's TOS (the answer's rtm_tos), IPv4.
    public var tos: UInt8 = 0
    /// The query's mark, echoed by the kernel (RTA_MARK), IPv4.
    public var mark: UInt32 = 0
    /// Metrics the answer carries (the route's RTAX_* values when the kernel's cached
    /// route copies them), by RouteMetricNames name.
    public var metrics: [String: UInt32]? = nil
    /// The FIB entry matched, when the kernel's answer has one (nil: `fibmatch` fails).
    public var match: FIBMatch? = nil
    /// The query asked for the matched entry (`fibmatch`).
    public var fibmatch = false
    /// Model features this answer exercised (for the differential report's categories).
    public var features: [String] = []

    public init(query: String, family: IPAddress.Family, dst: IPAddress) {
        self.query = query; self.family = family; self.dst = dst
        multipath = []
    }

    public static func failure(_ q: RouteQuery, _ e: KernelError, rule: UInt32? = nil, type: RouteType? = nil) -> RouteResult {
        var r = RouteResult(query: q.line, family: q.family, dst: q.dst)
        r.error = e; r.rule = rule; r.type = type
        return r
    }

    /// Whether the kernel's observed (dev, gateway) is one the model allows.
    public func allows(dev d: String?, gateway g: IPAddress?) -> Bool {
        if multipath.isEmpty { return dev == d && gateway == g }
        return multipath.contains { $0.error == nil && $0.dev == d && $0.gateway == g }
    }
}

/// The entries the lookups read: devices, routes, nexthops and policy rules as the model
/// keeps them (built by DeviceTable, RouteTables and RuleSet).

/// A device as the lookups see it: its flags, VRF membership, addresses and effective
/// routing sysctls. Immutable: the addresses are gathered before it is made (DeviceTable).
final class LinkInfo: Sendable {
    let index: Int32
    let name: String
    let up: Bool
    let loopback: Bool
    let isVRF: Bool
    let vrfTable: UInt32?
    let master: Int32?
    let group: UInt32
    let addrs4: [Address]
    let addrs6: [Address]
    let forwarding: Bool
    let rpFilter: Int
    let acceptLocal: Bool
    let srcValidMark: Bool
    let sendRedirects: Bool
    let ignoreLinkdown4: Bool
    let ignoreLinkdown6: Bool
    let useOifAddrsOnly6: Bool
    let routeLocalnet: Bool
    let bcForwarding: Bool
    init(_ l: Link, addrs4: [Address], addrs6: [Address], ipv4 c: RoutingSettings.EffectiveIPv4,
         ipv6 c6: RoutingSettings.EffectiveIPv6) {
        index = l.index; name = l.name; up = l.adminUp; loopback = l.isLoopback; isVRF = l.isVRF
        vrfTable = l.vrfTable; master = l.master; group = l.group
        self.addrs4 = addrs4; self.addrs6 = addrs6
        forwarding = c.forwarding; rpFilter = c.rpFilter; acceptLocal = c.acceptLocal; srcValidMark = c.srcValidMark
        sendRedirects = c.sendRedirects; ignoreLinkdown4 = c.ignoreRoutesWithLinkdown; routeLocalnet = c.routeLocalnet
        bcForwarding = c.bcForwarding
        ignoreLinkdown6 = c6.ignoreRoutesWithLinkdown; useOifAddrsOnly6 = c6.useOifAddrsOnly
    }
}

/// The fields of an IPv6 route rt6_select and fib6_table_lookup read, compact.
struct RouteHot6: Sendable {
    var metric: UInt32
    var pathStart: Int32
    var pathCount: Int32
    var table: UInt32
    /// RoutingModel.decodePref of the route's preference.
    var pref: UInt8
    var dstLength: UInt8
    var type: RouteType
    var usesObject: Bool
    var blackholeObject: Bool
    /// A source prefix longer than 0.
    var hasSrc: Bool
}

struct RouteHot: Sendable {
    static let reject: UInt8 = 1, dead: UInt8 = 2, object: UInt8 = 4, blackholeObject: UInt8 = 8
    var tos: UInt8
    var flags: UInt8
    var type: UInt8
    var pathStart: Int32
    var pathCount: Int32
}

struct PathHot: Sendable {
    var dev: Int32
    var flags: UInt32
    /// fib_result_prefsrc for this path (the kernel caches it as nh_saddr); IPv4 only.
    var src: UInt32
}

/// One nexthop of a route (a path of a multipath route, or a member of a nexthop group).
struct FIBNexthop: Sendable {
    var dev: Int32
    var gateway: IPAddress?
    var weight: UInt16
    var flags: UInt32
    /// The gateway given to inet_select_addr when it is not used as a gateway.
    var selectGateway: IPAddress? = nil
    var dead: Bool { flags & NexthopFlags.dead != 0 }
    var linkdown: Bool { flags & NexthopFlags.linkdown != 0 }
}

/// A route as the lookup needs it.
struct FIBRoute: Sendable {
    var type: RouteType
    var table: UInt32
    var lookupTable: UInt32 = 0
    var dst: IPPrefix
    var src: IPPrefix?
    var tos: UInt8
    var scope: UInt8
    var metric: UInt32
    var prefsrc: IPAddress?
    var proto: UInt8
    var pref: UInt8?
    var pathStart: Int32 = 0
    var pathCount: Int32 = 0
    var usesObject = false
    var blackholeObject = false
    var dead = false
    var onlink = false
    init(_ r: Route) {
        onlink = r.flags & NexthopFlags.onlink != 0 || (r.nexthops ?? []).contains { $0.flags & NexthopFlags.onlink != 0 }
        type = r.type; table = r.table; dst = r.dst; src = r.src; tos = r.tos; scope = r.scope
        metric = r.metric; prefsrc = r.prefsrc; proto = r.protocol; pref = r.pref
    }
    var isReject: Bool {
        switch type {
        case .blackhole, .unreachable, .prohibit, .throw, .nat, .xresolve: true
        default: false
        }
    }
}

/// A policy rule with its selectors resolved against the namespace's devices.
public struct FIBRule: Sendable {
    public let priority: UInt32
    public let action: UInt8
    public let table: UInt32
    let gotoTarget: UInt32?
    var gotoIndex: Int = -1
    let srcBits: UInt128, srcMask: UInt128
    let dstBits: UInt128, dstMask: UInt128
    /// 0: any; -1: a device that does not exist (never matches); else ifindex.
    let iif: Int32
    let iifIsL3Master: Bool
    let oif: Int32
    let oifIsL3Master: Bool
    let mark: UInt32, markMask: UInt32
    let tos: UInt8
    let ipproto: UInt8
    let sport: PortRange?
    let dport: PortRange?
    let uidStart: UInt32, uidEnd: UInt32
    let l3mdev: Bool
    let invert: Bool
    let suppressPrefixlen: Int
    let suppressIfgroup: Int64
    /// No selector and no suppressor: a plain `from all lookup T`.
    let isPlain: Bool

    init(_ r: Rule, devices: DeviceTable) {
        priority = r.priority; action = r.action; table = r.table; gotoTarget = r.gotoTarget
        let w = r.family.bitWidth
        srcBits = r.src?.address.bits ?? 0; srcMask = r.src.map { IPPrefix.mask(Int($0.length), w) } ?? 0
        dstBits = r.dst?.address.bits ?? 0; dstMask = r.dst.map { IPPrefix.mask(Int($0.length), w) } ?? 0
        func dev(_ n: String?, detached: Bool) -> (Int32, Bool) {
            guard let n else { return (0, false) }
            guard !detached, let i = devices.byName[n] else { return (-1, false) }
            return (i, devices.link(i)?.isVRF ?? false)
        }
        (iif, iifIsL3Master) = dev(r.iif, detached: r.flags & RuleFlags.iifDetached != 0)
        (oif, oifIsL3Master) = dev(r.oif, detached: r.flags & RuleFlags.oifDetached != 0)
        if let m = r.fwmark { mark = m; markMask = r.fwmask ?? 0xffff_ffff } else { mark = 0; markMask = r.fwmask ?? 0 }
        tos = r.tos; ipproto = r.ipproto ?? 0; sport = r.sport; dport = r.dport
        uidStart = r.uidrange?.start ?? 0; uidEnd = r.uidrange?.end ?? UInt32.max
        l3mdev = r.l3mdev; invert = r.invert
        suppressPrefixlen = Int(r.suppressPrefixlen ?? -1)
        suppressIfgroup = r.suppressIfgroup.map { $0 == UInt32.max ? -1 : Int64($0) } ?? -1
        isPlain = r.hasNoSelector && !r.l3mdev
    }
}

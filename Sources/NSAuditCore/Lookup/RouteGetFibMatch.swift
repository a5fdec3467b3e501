/// `ip route get fibmatch`: the FIB entry the lookup matched, as the kernel reports it.
///
/// IPv4 (inet_rtm_getroute with RTM_F_FIB_MATCH): fib_dump_info of the lookup's fib_result,
/// that is the route as `ip route show` lists it, except that its type is the cached route's
/// (`broadcast default via ...` for 255.255.255.255) and its table the one the lookup
/// searched (main for a local route while local and main share one trie). Lookups that end
/// without a fib_info (0.0.0.0, limited broadcast or multicast input, a lookup failure with
/// an output device) answer EHOSTUNREACH.
///
/// IPv6 (inet6_rtm_getroute, fibmatch): rt6_fill_node of the fib6_info the answer came from,
/// with `iif` for input lookups; for a multipath route the hash's sibling comes first and
/// the others follow in their ring order.
extension RoutingModel {
    /// The fibmatch message for an answer without error; `path` chooses among several
    /// candidates (an index into `r.multipath`). Nil when the answer has no FIB entry.
    public func fibMatchMessage(_ r: RouteResult, path: Int?) -> IPRouteMessage? {
        guard r.error == nil, let match = r.match else { return nil }
        var chosen: RoutePath? = nil
        if let p = path, r.multipath.indices.contains(p) { chosen = r.multipath[p] }
        let position = chosen?.route ?? match.route
        guard snapshotRoutes.indices.contains(position) else { return nil }
        let route = snapshotRoutes[position]
        var m = IPRouteMessage(showing: route, deviceName: deviceName)
        if route.family == .v4 {
            m.type = match.type
            m.table = match.table
        } else {
            m.iif = r.iif
            if route.nhid == nil, var hops = m.multipath, let c = chosen, hops.indices.contains(c.nexthop) {
                hops = Array(hops[c.nexthop...] + hops[..<c.nexthop])
                m.multipath = hops
            }
        }
        return m
    }

    /// ll_index_to_name: a device of the namespace by index, `if%u` for one it lacks.
    func deviceName(_ index: Int32) -> String { name(of: index) ?? "if\(index)" }
}

extension IPRouteMessage {
    /// A FIB entry of the snapshot as the kernel dumps it (fib_dump_info for IPv4,
    /// rt6_fill_node for IPv6): the message `ip route show` prints and `fibmatch` starts from.
    /// `deviceName` names the ifindexes of the route's namespace.
    public init(showing route: Route, deviceName: (Int32) -> String) {
        self.init(family: route.family, type: route.type, dst: route.dst.length > 0 ? route.dst.address : nil,
                  dstLength: route.dst.length)
        table = route.table
        self.protocol = route.protocol
        flags = route.flags & ~IPRouteMessage.cloned
        nhid = route.nhid
        gateway = route.gateway
        dev = route.oif.map(deviceName)
        prefsrc = route.prefsrc
        metrics = route.metrics
        if let hops = route.nexthops {
            multipath = hops.map { Hop(gateway: $0.gateway, dev: $0.oif.map(deviceName) ?? "", weight: Int($0.weight), flags: $0.flags) }
        }
        if route.family == .v4 {
            tos = route.tos
            scope = route.scope
            if route.metric != 0 { priority = route.metric }
        } else {
            if let s = route.src, s.length > 0 { src = s.address; srcLength = s.length }
            priority = route.metric
            pref = route.pref ?? 0
        }
    }
}

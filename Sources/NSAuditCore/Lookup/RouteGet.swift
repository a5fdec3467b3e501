/// The entry point: answer one `ip route get` query from a namespace's model.
extension RoutingModel {
    /// Resolves device names and runs the IPv4 or IPv6 lookup. Unknown devices are query
    /// errors (as `ip` reports them before asking the kernel).
    public func routeGet(_ q: RouteQuery) throws(RouteQueryError) -> RouteResult {
        var oif: Int32 = 0, iif: Int32 = 0
        if let o = q.oif {
            guard let i = index(of: o) else { throw .unknownDevice(o) }
            oif = i
        }
        if let v = q.vrf {
            guard let i = index(of: v) else { throw .unknownDevice(v) }
            guard link(i)?.isVRF == true else { throw .notVRF(v) }
            oif = i
        }
        if let n = q.iif {
            guard let i = index(of: n) else { throw .unknownDevice(n) }
            iif = i
        }
        if q.family == .v4 {
            return iif != 0 ? input4(q, iif: iif) : output4(q, oif: oif)
        }
        return route6(q, oif: oif, iif: iif)
    }

    /// Parses and answers one query line.
    public func routeGet(line: String) throws(RouteQueryError) -> RouteResult {
        try routeGet(try RouteQuery.parse(line))
    }
}

/// An IPv4 output lookup's decision as a plain value, for callers that group lookups by
/// what they decided (the return-path analysis renders one full answer per distinct
/// decision): everything the answer depends on, and nothing of the model's buffers.
/// Two lookups with equal decisions get the same answer but for the destination itself.
struct ReplyDecision4: Hashable, Sendable {
    var error: KernelError?
    /// The reject route or rule type behind `error`.
    var rejectType: RouteType?
    var rule: UInt32?
    var type: RouteType
    /// The output device (the loopback or VRF for local answers).
    var egressDevice: Int32
    var local: Bool
    /// The table the route was found in (nil: no route, e.g. an error or 0.0.0.0).
    var table: UInt32?
    /// The chosen path's gateway.
    var gateway: IPAddress?
    /// The route's prefix is shorter than /4 (a multicast answer then drops the gateway).
    var shortPrefix: Bool
    /// The route is a default route (/0).
    var defaultRoute: Bool
    /// The route, when the answer lists candidate paths (multipath, or default routes
    /// fib_select_default may rotate among), whose candidates are then its own; else -1.
    var candidatesOf: Int32
}

extension RoutingModel {
    /// decideOutput4 as a ReplyDecision4 (the same arguments; `lookup` answers fib_lookup).
    @inline(__always)
    func replyDecision4(dst: UInt32, src: UInt32, oif: Int32, mark: UInt32, tos: UInt8, proto: UInt8, sport: UInt16,
                        dport: UInt16, uid: UInt32, lookup: FIBLookupHook?) -> ReplyDecision4 {
        let d = decideOutput4(dst: dst, src: src, oif: oif, mark: mark, tos: tos, proto: proto, sport: sport, dport: dport,
                              uid: uid, lookup: lookup)
        var r = ReplyDecision4(error: d.error, rejectType: d.rejectType, rule: d.rule, type: d.type, egressDevice: d.devOut,
                               local: d.local, table: nil, gateway: nil, shortPrefix: false, defaultRoute: false, candidatesOf: -1)
        if let h = d.hit {
            r.table = h.table
            r.shortPrefix = h.prefixLen < 4
            r.defaultRoute = h.prefixLen == 0
            r.gateway = gateway4(d, h)
            if d.multipath || d.defaultAlternatives { r.candidatesOf = h.route }
        }
        return r
    }

    /// The gateway of the path decision `d` chose (hit `h`): from the leaf it was resolved
    /// from when that says, else from the route's path.
    @inline(__always) func gateway4(_ d: OutputDecision4, _ h: Hit) -> IPAddress? {
        let lf = d.resolved
        if lf.route == h.route && lf.flags & (Leaf4.gatewayV4 | Leaf4.noGateway) != 0 {
            return lf.flags & Leaf4.gatewayV4 != 0 ? IPAddress(v4: lf.gw) : nil
        }
        let start = hot4.withUnsafeBufferPointer { $0[Int(h.route)].pathStart }
        return paths.withUnsafeBufferPointer { $0[Int(start + h.nhSel)].gateway }
    }
}

import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETROUTE dump of every table → `Route` values (rtmsg + RTA_* attributes).
extension NetlinkSocket {
    func dumpRoutes(family: IPAddress.Family, into out: inout [Route]) throws -> DumpOutcome {
        var body = [UInt8](repeating: 0, count: 12)  // struct rtmsg; table 0 = all tables
        body[0] = family.rawValue
        return try dump(type: UInt16(RTM_GETROUTE), body: body) { m in
            guard Int32(m.type) == RTM_NEWROUTE, m.payload.count >= 12 else { return }
            if let r = Self.decodeRoute(m.payload) { out.append(r) }
        }
    }

    static let clonedFlag: UInt32 = 0x200  // RTM_F_CLONED: cache entries, not FIB routes

    static func decodeRoute(_ p: UnsafeRawBufferPointer) -> Route? {
        guard let family = IPAddress.Family(rawValue: p.u8(0)) else { return nil }
        let flags = p.u32(8)
        if flags & clonedFlag != 0 { return nil }
        let dstLen = Int(p.u8(1)), srcLen = Int(p.u8(2))
        var route = Route(family: family, table: UInt32(p.u8(4)), type: RouteType(rawValue: p.u8(7)) ?? .unspec,
                          dst: IPPrefix.any(family), protocol: p.u8(5), scope: p.u8(6))
        route.tos = p.u8(3)
        route.flags = flags
        var dst: IPAddress?
        forEachAttribute(p, from: 12) { t, a in
            switch Int(t) {
            case K(RTA_DST): dst = a.ipAddress()
            case K(RTA_SRC): if let x = a.ipAddress() { route.src = IPPrefix(x, srcLen) }
            case K(RTA_TABLE): route.table = a.u32()
            case K(RTA_OIF): route.oif = a.i32()
            case K(RTA_GATEWAY): route.gateway = a.ipAddress()
            case K(RTA_VIA): route.gateway = a.ipAddress(at: 2)
            case K(RTA_PRIORITY): route.metric = a.u32()
            case K(RTA_PREFSRC): route.prefsrc = a.ipAddress()
            case K(RTA_NH_ID): route.nhid = a.u32()
            case K(RTA_PREF): route.pref = a.u8()
            case K(RTA_METRICS):
                var metrics: [String: UInt32] = [:]
                forEachAttribute(a, from: 0) { mt, ma in
                    metrics[RouteMetricNames.names[Int(mt)] ?? "rtax\(mt)"] = ma.u32()
                }
                if !metrics.isEmpty { route.metrics = metrics }
            case K(RTA_MULTIPATH):
                route.nexthops = decodeMultipath(a)
            default: break
            }
        }
        if let dst { route.dst = IPPrefix(dst, dstLen) } else if srcLen == 0 && dstLen != 0 { return nil }
        return route
    }

    /// struct rtnexthop entries: len u16, flags u8, hops u8, ifindex i32, then attributes.
    static func decodeMultipath(_ a: UnsafeRawBufferPointer) -> [RouteNexthop] {
        var hops: [RouteNexthop] = []
        var off = 0
        while off + 8 <= a.count {
            let len = Int(a.u16(off))
            guard len >= 8, off + len <= a.count else { break }
            var nh = RouteNexthop(gateway: nil, oif: a.i32(off + 4), weight: UInt16(a.u8(off + 3)) + 1,
                                  flags: UInt32(a.u8(off + 2)))
            let inner = UnsafeRawBufferPointer(rebasing: a[off..<(off + len)])
            forEachAttribute(inner, from: 8) { t, x in
                switch Int(t) {
                case K(RTA_GATEWAY): nh.gateway = x.ipAddress()
                case K(RTA_VIA): nh.gateway = x.ipAddress(at: 2)
                default: break
                }
            }
            hops.append(nh)
            off += (len + 3) & ~3
        }
        return hops
    }
}

import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETROUTE dump of every table → `Route` values (rtmsg + RTA_* attributes).
extension NetlinkSocket {
    func dumpRoutes(family: IPAddress.Family, into out: inout [Route]) throws -> DumpOutcome {
        let chunks = RouteChunks()
        let o = try dumpRoutes(family: family, into: chunks)
        out += chunks.array()
        return o
    }

    func dumpRoutes(family: IPAddress.Family, into out: RouteChunks) throws -> DumpOutcome {
        var header = rtmsg()  // table 0: every table
        header.rtm_family = family.rawValue
        return try dump(type: UInt16(RTM_GETROUTE), body: requestBody(header)) { m in
            guard Int32(m.type) == RTM_NEWROUTE, let h = m.payload.familyHeader(rtmsg.self) else { return }
            if let r = Self.decodeRoute(h, m.payload) { out.append(r) }
        }
    }

    /// `h`: the message's rtmsg; `p`: the whole payload (rtmsg, then RTA_* attributes).
    static func decodeRoute(_ h: rtmsg, _ p: UnsafeRawBufferPointer) -> Route? {
        guard let family = IPAddress.Family(rawValue: h.rtm_family) else { return nil }
        // RTM_F_CLONED: route cache entries, not FIB routes
        if h.rtm_flags & UInt32(RTM_F_CLONED) != 0 { return nil }
        let dstLen = Int(h.rtm_dst_len), srcLen = Int(h.rtm_src_len)
        var route = Route(family: family, table: UInt32(h.rtm_table), type: RouteType(rawValue: h.rtm_type) ?? .unspec,
                          dst: IPPrefix.any(family), protocol: h.rtm_protocol, scope: h.rtm_scope)
        route.tos = h.rtm_tos
        route.flags = h.rtm_flags
        var dst: IPAddress?
        forEachAttribute(p, after: rtmsg.self) { t, a in
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

    /// struct rtnexthop entries (RTNH_ALIGNed), each followed by its attributes.
    static func decodeMultipath(_ a: UnsafeRawBufferPointer) -> [RouteNexthop] {
        var hops: [RouteNexthop] = []
        let size = MemoryLayout<rtnexthop>.size
        var off = 0
        while off + size <= a.count {
            let rtnh = a.loadUnaligned(fromByteOffset: off, as: rtnexthop.self)
            let len = Int(rtnh.rtnh_len)
            guard len >= size, off + len <= a.count else { break }
            // rtnh_hops is the weight minus one
            var nh = RouteNexthop(gateway: nil, oif: rtnh.rtnh_ifindex, weight: UInt16(rtnh.rtnh_hops) + 1,
                                  flags: UInt32(rtnh.rtnh_flags))
            let inner = UnsafeRawBufferPointer(rebasing: a[off..<(off + len)])
            forEachAttribute(inner, after: rtnexthop.self) { t, x in
                switch Int(t) {
                case K(RTA_GATEWAY): nh.gateway = x.ipAddress()
                case K(RTA_VIA): nh.gateway = x.ipAddress(at: 2)
                default: break
                }
            }
            hops.append(nh)
            off += Int(cnl_rta_align(Int32(len)))  // RTNH_ALIGN
        }
        return hops
    }
}

/// Routes collected in fixed-size chunks, then moved (bitwise, no per-route copy) into one
/// array of exactly the right capacity. Appending a million routes to one growing array
/// would double its buffer (2M × `MemoryLayout<Route>.stride` = 160 B) and hold the old and
/// new buffers at once while copying; here the peak is the routes once plus one chunk, each
/// chunk being freed as soon as its routes have moved.
final class RouteChunks {
    static let chunkSize = 1 << 15
    private var chunks: [UnsafeMutablePointer<Route>] = []
    /// Routes in the last chunk.
    private var used = 0
    /// Capacity of the last chunk (the first one starts small: most namespaces hold a few routes).
    private var capacity = 0
    private(set) var count = 0

    init() {}

    deinit { release() }

    @inline(__always) func append(_ r: Route) {
        if used == capacity { newChunk() }
        (chunks[chunks.count - 1] + used).initialize(to: r)
        used += 1
        count += 1
    }

    @inline(never) private func newChunk() {
        if chunks.isEmpty {
            chunks.append(.allocate(capacity: 64))
            capacity = 64
            used = 0
            return
        }
        if let last = chunks.last, capacity < Self.chunkSize {
            // Grow the first (small) chunk in place of chaining a second one.
            let bigger = min(max(capacity * 4, 64), Self.chunkSize)
            let p = UnsafeMutablePointer<Route>.allocate(capacity: bigger)
            p.moveInitialize(from: last, count: used)
            last.deallocate()
            chunks[chunks.count - 1] = p
            capacity = bigger
            return
        }
        chunks.append(.allocate(capacity: Self.chunkSize))
        capacity = Self.chunkSize
        used = 0
    }

    /// All routes in dump order; leaves the collection empty.
    func array() -> [Route] {
        let total = count
        let out = [Route](unsafeUninitializedCapacity: total) { buf, initialized in
            var off = 0
            for (i, c) in chunks.enumerated() {
                let n = i == chunks.count - 1 ? used : Self.chunkSize
                (buf.baseAddress! + off).moveInitialize(from: c, count: n)
                c.deallocate()
                off += n
            }
            initialized = off
        }
        chunks = []; used = 0; capacity = 0; count = 0
        return out
    }

    private func release() {
        for (i, c) in chunks.enumerated() {
            c.deinitialize(count: i == chunks.count - 1 ? used : Self.chunkSize)
            c.deallocate()
        }
        chunks = []; used = 0; capacity = 0; count = 0
    }
}

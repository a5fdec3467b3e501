import CNetlink
import FoundationEssentials
import Glibc
import NSAuditCore
import SystemPackage

extension NetlinkSocket {
    /// The RTM_GETROUTE body (rtmsg and attributes) for one query, with device names already
    /// resolved to this namespace's ifindexes.
    static func routeRequest(_ q: RouteQuery, iif: Int32?, oif: Int32?) -> [UInt8] {
        let bits = q.family.bitWidth
        var hdr = rtmsg()
        hdr.rtm_family = q.family.rawValue
        hdr.rtm_dst_len = UInt8(bits)
        if q.src != nil { hdr.rtm_src_len = UInt8(bits) }
        hdr.rtm_tos = q.tos
        var b = AttributeBuilder(header: hdr)
        b.add(UInt16(K(RTA_DST)), q.dst.bytes)
        if let s = q.src { b.add(UInt16(K(RTA_SRC)), s.bytes) }
        if let i = iif { b.add(UInt16(K(RTA_IIF)), value: i) }
        if let o = oif { b.add(UInt16(K(RTA_OIF)), value: o) }
        if q.mark != 0 { b.add(UInt16(K(RTA_MARK)), value: q.mark) }
        if let u = q.uid { b.add(UInt16(K(RTA_UID)), value: u) }
        if q.ipproto != 0 { b.add(UInt16(K(RTA_IP_PROTO)), [q.ipproto]) }
        if q.sport != 0 { b.add(UInt16(K(RTA_SPORT)), value: q.sport.bigEndian) }
        if q.dport != 0 { b.add(UInt16(K(RTA_DPORT)), value: q.dport.bigEndian) }
        return b.bytes
    }

    /// The answer to an RTM_GETROUTE: an RTM_NEWROUTE message, or the kernel's errno.
    static func routeAnswer(_ m: NetlinkMessage?, errno: Int32) -> KernelRouteAnswer {
        guard let m else { return KernelRouteAnswer(error: Errno(rawValue: errno).symbolicName) }
        guard Int32(m.type) == RTM_NEWROUTE, let h = m.payload.familyHeader(rtmsg.self) else {
            return KernelRouteAnswer(error: "EPROTO")
        }
        var a = KernelRouteAnswer()
        a.type = RouteType(rawValue: h.rtm_type)
        a.table = UInt32(h.rtm_table)
        forEachAttribute(m.payload, after: rtmsg.self) { t, x in
            switch Int(t) {
            case K(RTA_OIF): a.oif = x.i32()
            case K(RTA_GATEWAY): a.gateway = x.ipAddress()
            case K(RTA_VIA): a.gateway = x.ipAddress(at: 2)
            case K(RTA_TABLE): a.table = x.u32()
            case K(RTA_PREFSRC): a.prefsrc = x.ipAddress()
            default: break
            }
        }
        return a
    }
}

/// Asks the live kernels of many namespaces: a few dedicated threads (one per core), each
/// entering namespace after namespace, with many requests in flight on one netlink socket per
/// namespace.
public enum KernelRouteLookup {
    /// The answers to each namespace's queries, in order; nil for a namespace that could not
    /// be entered or asked.
    public static func ask(_ batch: [(NamespaceSnapshot, [RouteQuery])]) -> [[KernelRouteAnswer]?] {
        let slots = UnsafeMutableBufferPointer<[KernelRouteAnswer]?>.allocate(capacity: batch.count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        final class Shared: @unchecked Sendable {
            let slots: UnsafeMutableBufferPointer<[KernelRouteAnswer]?>
            init(_ s: UnsafeMutableBufferPointer<[KernelRouteAnswer]?>) { slots = s }
        }
        let shared = Shared(slots)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, batch.count))
        NamespaceThread.runWorkers(workers) { w in
            var i = w
            while i < batch.count {
                shared.slots[i] = try? askHere(batch[i].0, batch[i].1)
                i += workers
            }
        }
        return Array(slots)
    }

    /// Enters `ns` on the current (dedicated) thread and asks its kernel.
    static func askHere(_ ns: NamespaceSnapshot, _ queries: [RouteQuery]) throws -> [KernelRouteAnswer] {
        guard let path = ns.foundBy.first?.path else { throw SystemCallError("setns", errno: .noSuchFileOrDirectory, subject: ns.id) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemCallError("open", subject: path) }
        defer { close(fd) }
        try NamespaceThread.enter(fd: fd, path: path)
        let nl = try NetlinkSocket()
        let index = Dictionary(ns.links.map { ($0.name, $0.index) }, uniquingKeysWith: { a, _ in a })
        let bodies = queries.map { q in
            NetlinkSocket.routeRequest(q, iif: q.iif.flatMap { index[$0] }, oif: (q.vrf ?? q.oif).flatMap { index[$0] })
        }
        var answers = [KernelRouteAnswer](repeating: KernelRouteAnswer(error: "EIO"), count: queries.count)
        try nl.requests(type: UInt16(RTM_GETROUTE), bodies) { i, m, e in
            answers[i] = NetlinkSocket.routeAnswer(m, errno: e)
        }
        return answers
    }
}

import CNetlink
import Glibc
import NSAuditCore

extension NetlinkSocket {
    /// RTM_GETROUTE for one query, with device names already resolved to this namespace's
    /// ifindexes.
    func getRoute(_ q: RouteQuery, iif: Int32?, oif: Int32?) -> KernelRouteAnswer {
        let bits = q.family.bitWidth
        var hdr = [UInt8](repeating: 0, count: 12)  // struct rtmsg
        hdr[0] = q.family.rawValue
        hdr[1] = UInt8(bits)
        if q.src != nil { hdr[2] = UInt8(bits) }
        hdr[3] = q.tos
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
        do {
            let answer = try request(type: UInt16(RTM_GETROUTE), body: b.bytes)
            guard Int32(answer.type) == RTM_NEWROUTE else { return KernelRouteAnswer(error: "EPROTO") }
            return answer.payload.withUnsafeBytes { p in
                var a = KernelRouteAnswer()
                a.type = RouteType(rawValue: p.u8(7))
                a.table = UInt32(p.u8(4))
                forEachAttribute(p, from: 12) { t, x in
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
        } catch let e as SystemError {
            return KernelRouteAnswer(error: e.name)
        } catch {
            return KernelRouteAnswer(error: "EIO")
        }
    }
}

/// Asks the live kernel of one namespace, from a dedicated thread that enters it.
public enum KernelRouteLookup {
    public static func ask(_ ns: NamespaceSnapshot, _ queries: [RouteQuery]) throws -> [KernelRouteAnswer] {
        guard let path = ns.foundBy.first?.path else { throw SystemError("setns", errno: ENOENT, subject: ns.id) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", subject: path) }
        defer { close(fd) }
        final class Box: @unchecked Sendable {
            var answers: [KernelRouteAnswer] = []
            var error: Error?
        }
        let box = Box()
        let index = Dictionary(ns.links.map { ($0.name, $0.index) }, uniquingKeysWith: { a, _ in a })
        NamespaceThread.runWorkers(1) { _ in
            do {
                try NamespaceThread.enter(fd: fd, path: path)
                let nl = try NetlinkSocket()
                for q in queries {
                    let oif = (q.vrf ?? q.oif).flatMap { index[$0] }
                    box.answers.append(nl.getRoute(q, iif: q.iif.flatMap { index[$0] }, oif: oif))
                }
            } catch { box.error = error }
        }
        if let e = box.error { throw e }
        return box.answers
    }
}

import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETADDR dump → `Address` values (ifaddrmsg + IFA_* attributes).
extension NetlinkSocket {
    func dumpAddresses() throws -> (addresses: [Address], outcome: DumpOutcome) {
        var out: [Address] = []
        let outcome = try dump(type: UInt16(RTM_GETADDR), body: requestBody(ifaddrmsg())) { m in  // AF_UNSPEC
            guard Int32(m.type) == RTM_NEWADDR, let h = m.payload.familyHeader(ifaddrmsg.self) else { return }
            if let a = Self.decodeAddress(h, m.payload) { out.append(a) }
        }
        return (out, outcome)
    }

    /// `h`: the message's ifaddrmsg; `p`: the whole payload (header, then IFA_* attributes).
    static func decodeAddress(_ h: ifaddrmsg, _ p: UnsafeRawBufferPointer) -> Address? {
        let prefixlen = h.ifa_prefixlen, scope = h.ifa_scope
        let index = Int32(bitPattern: h.ifa_index)
        var local: IPAddress?, address: IPAddress?, broadcast: IPAddress?, label: String?
        var flags = UInt32(h.ifa_flags)  // IFA_FLAGS, when present, has all 32 bits
        var valid: UInt32?, preferred: UInt32?
        forEachAttribute(p, after: ifaddrmsg.self) { t, a in
            switch Int(t) {
            case K(IFA_LOCAL): local = a.ipAddress()
            case K(IFA_ADDRESS): address = a.ipAddress()
            case K(IFA_BROADCAST): broadcast = a.ipAddress()
            case K(IFA_LABEL): label = a.cString()
            case K(IFA_FLAGS): flags = a.u32()
            case K(IFA_CACHEINFO):
                if let c = a.familyHeader(ifa_cacheinfo.self) { preferred = c.ifa_prefered; valid = c.ifa_valid }
            default: break
            }
        }
        guard let primary = local ?? address else { return nil }
        var addr = Address(index: index, local: primary, prefixlen: prefixlen, scope: scope, flags: flags)
        if let address, address != primary { addr.peer = address }
        addr.broadcast = broadcast
        addr.label = label
        addr.validLifetime = valid
        addr.preferredLifetime = preferred
        return addr
    }
}

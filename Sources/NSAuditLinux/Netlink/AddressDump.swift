import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETADDR dump → `Address` values (ifaddrmsg + IFA_* attributes).
extension NetlinkSocket {
    func dumpAddresses() throws -> (addresses: [Address], outcome: DumpOutcome) {
        var out: [Address] = []
        let body = [UInt8](repeating: 0, count: 8)  // struct ifaddrmsg, AF_UNSPEC
        let outcome = try dump(type: UInt16(RTM_GETADDR), body: body) { m in
            guard Int32(m.type) == RTM_NEWADDR, m.payload.count >= 8 else { return }
            if let a = Self.decodeAddress(m.payload) { out.append(a) }
        }
        return (out, outcome)
    }

    static func decodeAddress(_ p: UnsafeRawBufferPointer) -> Address? {
        let prefixlen = p.u8(1), flags8 = p.u8(2), scope = p.u8(3)
        let index = Int32(bitPattern: p.u32(4))
        var local: IPAddress?, address: IPAddress?, broadcast: IPAddress?, label: String?
        var flags = UInt32(flags8)
        var valid: UInt32?, preferred: UInt32?
        forEachAttribute(p, from: 8) { t, a in
            switch Int(t) {
            case K(IFA_LOCAL): local = a.ipAddress()
            case K(IFA_ADDRESS): address = a.ipAddress()
            case K(IFA_BROADCAST): broadcast = a.ipAddress()
            case K(IFA_LABEL): label = a.cString()
            case K(IFA_FLAGS): flags = a.u32()
            case K(IFA_CACHEINFO):
                preferred = a.u32(0); valid = a.u32(4)
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

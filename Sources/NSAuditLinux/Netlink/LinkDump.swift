import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETLINK dump → `Link` values (ifinfomsg + IFLA_* attributes).
extension NetlinkSocket {
    func dumpLinks() throws -> (links: [Link], outcome: DumpOutcome) {
        var links: [Link] = []
        let body = [UInt8](repeating: 0, count: 16)  // struct ifinfomsg, AF_UNSPEC
        let outcome = try dump(type: UInt16(RTM_GETLINK), body: body) { m in
            guard Int32(m.type) == RTM_NEWLINK, m.payload.count >= 16 else { return }
            links.append(Self.decodeLink(m.payload))
        }
        return (links, outcome)
    }

    static func decodeLink(_ p: UnsafeRawBufferPointer) -> Link {
        let type = p.u16(2)
        let index = p.i32(4)
        let flags = p.u32(8)
        var link = Link(index: index, name: "", flags: flags, operstate: "UNKNOWN", mtu: 0, linkType: type)
        forEachAttribute(p, from: 16) { t, a in
            switch Int(t) {
            case K(IFLA_IFNAME): link.name = a.cString()
            case K(IFLA_MTU): link.mtu = a.u32()
            case K(IFLA_LINK): link.link = a.i32()
            case K(IFLA_MASTER): link.master = a.i32()
            case K(IFLA_GROUP): link.group = a.u32()
            case K(IFLA_CARRIER): link.carrier = a.u8() != 0
            case K(IFLA_LINK_NETNSID): link.linkNetnsid = a.i32()
            case K(IFLA_OPERSTATE): link.operstate = operstateName(a.u8())
            case K(IFLA_ADDRESS) where a.count > 0:
                link.mac = a.map { b in
                    let s = String(b, radix: 16)
                    return s.count == 1 ? "0" + s : s
                }.joined(separator: ":")
            case K(IFLA_LINKINFO):
                var dataAttr: UnsafeRawBufferPointer?
                forEachAttribute(a, from: 0) { it, ia in
                    switch Int(it) {
                    case K(IFLA_INFO_KIND): link.kind = ia.cString()
                    case K(IFLA_INFO_SLAVE_KIND): link.slaveKind = ia.cString()
                    case K(IFLA_INFO_DATA): dataAttr = ia
                    default: break
                    }
                }
                if link.kind == "vrf", let d = dataAttr {
                    forEachAttribute(d, from: 0) { vt, va in
                        if Int(vt) == K(IFLA_VRF_TABLE) { link.vrfTable = va.u32() }
                    }
                }
            default: break
            }
        }
        return link
    }

    static func operstateName(_ v: UInt8) -> String {
        switch v {
        case 0: "UNKNOWN"; case 1: "NOTPRESENT"; case 2: "DOWN"; case 3: "LOWERLAYERDOWN"
        case 4: "TESTING"; case 5: "DORMANT"; case 6: "UP"; default: "UNKNOWN"
        }
    }
}

import CNetlink
import FuzzSupport
import NSAuditCore
@testable import NSAuditLinux

/// The netlink message decoders, fed raw bytes as recv() would return them: the input is one
/// datagram (nlmsghdr framing, NetlinkDatagram), each message decoded by the decoder its type
/// names (links with their IFLA_AF_SPEC sysctls, addresses, rules, routes, nexthops, route-get
/// answers, nsid answers; and as a sock_diag answer, whose type number 20 RTM_NEWADDR shares).
/// What was decoded is then assembled into a namespace whose routing model is built and
/// asked, as the collector's snapshot would be.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNetlink(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    var ns = NamespaceSnapshot(id: "fuzz")
    var sysctls = DeviceSysctls()
    var sockets: [Socket] = []
    input.bytes.withUnsafeBytes { raw in
        _ = NetlinkDatagram(raw).forEachMessage { m, _ in
            let p = m.payload
            switch Int(m.type) {
            case RTM_NEWLINK:
                guard let h = p.familyHeader(ifinfomsg.self) else { break }
                let link = NetlinkSocket.decodeLink(h, p)
                forEachAttribute(p, after: ifinfomsg.self) { t, a in
                    if Int(t) == K(IFLA_AF_SPEC) { sysctls.add(device: link.name, afSpec: a) }
                }
                ns.links.append(link)
            case RTM_NEWADDR:
                if let h = p.familyHeader(ifaddrmsg.self), let a = NetlinkSocket.decodeAddress(h, p) { ns.addresses.append(a) }
                for proto in [IPProto.tcp, IPProto.udp] {
                    if let s = NetlinkSocket.decodeSocket(p, protocol: proto) { sockets.append(s) }
                }
            case RTM_NEWRULE:
                if let h = p.familyHeader(fib_rule_hdr.self), let r = NetlinkSocket.decodeRule(h, p) { ns.rules.append(r) }
            case RTM_NEWROUTE:
                if let h = p.familyHeader(rtmsg.self), let r = NetlinkSocket.decodeRoute(h, p) { ns.routes.append(r) }
                _ = NetlinkSocket.routeAnswer(m, errno: 0)
            case RTM_NEWNEXTHOP:
                if let h = p.familyHeader(nhmsg.self) { ns.nexthops.append(NetlinkSocket.decodeNexthop(h, p)) }
            case RTM_NEWNSID:
                _ = NetlinkSocket.decodeNSID(p)
            default:
                break
            }
            return false
        }
    }
    ns.settings = sysctls.settings
    ns.sockets = sockets
    let model = RoutingModel(ns)
    for q in ["10.0.0.1", "10.0.0.1 from 10.0.0.2 iif eth0", "2001:db8::1", "fe80::1 oif eth0"] {
        _ = try? model.routeGet(line: q)
    }
    return 0
}

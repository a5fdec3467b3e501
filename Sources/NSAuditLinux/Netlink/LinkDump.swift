import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETLINK dump → `Link` values (ifinfomsg + IFLA_* attributes).
extension NetlinkSocket {
    /// The links, and the per-device routing sysctls the kernel sends along in IFLA_AF_SPEC
    /// (the same values /proc/sys/net/ipv{4,6}/conf/DEV/ shows, without opening ~15 files
    /// per device).
    func dumpLinks() throws -> (links: [Link], outcome: DumpOutcome, sysctls: DeviceSysctls) {
        var links: [Link] = []
        var sysctls = DeviceSysctls()
        let body = [UInt8](repeating: 0, count: 16)  // struct ifinfomsg, AF_UNSPEC
        let outcome = try dump(type: UInt16(RTM_GETLINK), body: body) { m in
            guard Int32(m.type) == RTM_NEWLINK, m.payload.count >= 16 else { return }
            let link = Self.decodeLink(m.payload)
            forEachAttribute(m.payload, from: 16) { t, a in
                if Int(t) == K(IFLA_AF_SPEC) { sysctls.add(device: link.name, afSpec: a) }
            }
            links.append(link)
        }
        return (links, outcome, sysctls)
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

/// Per-device routing sysctls from IFLA_AF_SPEC: AF_INET → IFLA_INET_CONF (u32 per
/// IPV4_DEVCONF_*, starting at 1), AF_INET6 → IFLA_INET6_CONF (s32 per DEVCONF_*, from 0).
struct DeviceSysctls {
    /// sysctl(8) names → values, for the devices listed below.
    var values: [String: Int] = [:]
    /// Devices whose IPv4 / IPv6 values came from the dump (by name, as in /proc/sys).
    var v4Devices: Set<String> = []
    var v6Devices: Set<String> = []

    mutating func add(device name: String, afSpec: UnsafeRawBufferPointer) {
        guard !name.isEmpty else { return }
        forEachAttribute(afSpec, from: 0) { family, fa in
            switch Int32(family) {
            case AF_INET:
                forEachAttribute(fa, from: 0) { t, a in
                    guard Int(t) == K(IFLA_INET_CONF) else { return }
                    add(name, "ipv4", a, RoutingSysctls.ipv4DevconfIndex, v4: true)
                }
            case AF_INET6:
                forEachAttribute(fa, from: 0) { t, a in
                    guard Int(t) == K(IFLA_INET6_CONF) else { return }
                    add(name, "ipv6", a, RoutingSysctls.ipv6DevconfIndex, v4: false)
                }
            default: break
            }
        }
    }

    private mutating func add(_ dev: String, _ family: String, _ a: UnsafeRawBufferPointer,
                              _ index: [(String, Int)], v4: Bool) {
        // Every wanted entry must be present, or the files are read instead.
        guard let maxIndex = index.map({ $0.1 }).max(), a.count >= 4 * (maxIndex + 1) else { return }
        // sysctl(8) shows a device name's own dots as '/'.
        let prefix = "net.\(family).conf.\(String(dev.map { $0 == "." ? "/" : $0 }))."
        for (key, i) in index {
            values[prefix + key] = Int(a.i32(4 * i))
        }
        if v4 { v4Devices.insert(dev) } else { v6Devices.insert(dev) }
    }
}

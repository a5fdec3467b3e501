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
        let outcome = try dump(type: UInt16(RTM_GETLINK), body: requestBody(ifinfomsg())) { m in  // AF_UNSPEC
            guard Int32(m.type) == RTM_NEWLINK, let h = m.payload.familyHeader(ifinfomsg.self) else { return }
            let link = Self.decodeLink(h, m.payload)
            forEachAttribute(m.payload, after: ifinfomsg.self) { t, a in
                if Int(t) == K(IFLA_AF_SPEC) { sysctls.add(device: link.name, afSpec: a) }
            }
            links.append(link)
        }
        return (links, outcome, sysctls)
    }

    /// `h`: the message's ifinfomsg; `p`: the whole payload (header, then IFLA_* attributes).
    static func decodeLink(_ h: ifinfomsg, _ p: UnsafeRawBufferPointer) -> Link {
        var link = Link(index: h.ifi_index, name: "", flags: h.ifi_flags, operstate: "UNKNOWN", mtu: 0, linkType: h.ifi_type)
        forEachAttribute(p, after: ifinfomsg.self) { t, a in
            switch Int(t) {
            case K(IFLA_IFNAME): link.name = a.cString()
            case K(IFLA_MTU): link.mtu = a.u32()
            case K(IFLA_LINK): link.link = a.i32()
            case K(IFLA_MASTER): link.master = a.i32()
            case K(IFLA_GROUP): link.group = a.u32()
            case K(IFLA_CARRIER): link.carrier = a.u8() != 0
            case K(IFLA_LINK_NETNSID): link.linkNetnsid = a.i32()
            case K(IFLA_OPERSTATE): link.operstate = operstateName(a.u8())
            // Since Linux 5.15: the hardware behind the link (absent for virtual devices).
            case K(IFLA_PARENT_DEV_NAME): link.parentDev = a.cString()
            case K(IFLA_PARENT_DEV_BUS_NAME): link.parentBus = a.cString()
            case K(IFLA_ADDRESS) where a.count > 0: link.mac = a.hardwareAddress()
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
    /// The devices' `conf` values (only `ipv4` and `ipv6` by device are filled here).
    var settings = RoutingSettings()
    /// Devices whose IPv4 / IPv6 values came from the dump (by name, as in /proc/sys).
    var v4Devices: Set<String> = []
    var v6Devices: Set<String> = []

    mutating func add(device name: String, afSpec: UnsafeRawBufferPointer) {
        guard !name.isEmpty else { return }
        forEachAttribute(afSpec, from: 0) { family, fa in
            switch Int32(family) {
            case AF_INET:
                forEachAttribute(fa, from: 0) { t, a in
                    guard Int(t) == K(IFLA_INET_CONF), let c = Self.conf(a, RoutingSysctls.ipv4DevconfIndex) else { return }
                    settings.ipv4.devices[name] = c
                    v4Devices.insert(name)
                }
            case AF_INET6:
                forEachAttribute(fa, from: 0) { t, a in
                    guard Int(t) == K(IFLA_INET6_CONF), let c = Self.conf(a, RoutingSysctls.ipv6DevconfIndex) else { return }
                    settings.ipv6.devices[name] = c
                    v6Devices.insert(name)
                }
            default: break
            }
        }
    }

    /// The wanted entries of a devconf array; nil unless every one is present (the files are
    /// read instead, e.g. on a kernel older than one of the entries).
    private static func conf<C: ConfDirectory>(_ a: UnsafeRawBufferPointer, _ index: [(WritableKeyPath<C, Int?> & Sendable, Int)]) -> C? {
        guard let maxIndex = index.map({ $0.1 }).max(), a.count >= 4 * (maxIndex + 1) else { return nil }
        var c = C()
        for (field, i) in index { c[keyPath: field] = Int(a.i32(4 * i)) }
        return c
    }
}

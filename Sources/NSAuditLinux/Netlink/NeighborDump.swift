import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETNEIGH dumps: the IPv4 and IPv6 neighbour tables (`ip neigh`) and, with AF_BRIDGE,
/// the forwarding databases (`bridge fdb`). Both answer with ndmsg + NDA_* attributes.
extension NetlinkSocket {
    /// The ARP and neighbour-discovery entries (AF_UNSPEC walks both tables; proxy entries,
    /// which need NTF_PROXY in the request, are not asked for).
    func dumpNeighbors() throws -> (neighbors: [Neighbor], outcome: DumpOutcome) {
        var out: [Neighbor] = []
        let outcome = try dump(type: UInt16(RTM_GETNEIGH), body: requestBody(ndmsg())) { m in
            guard Int32(m.type) == RTM_NEWNEIGH, let h = m.payload.familyHeader(ndmsg.self),
                  Int32(h.ndm_family) == AF_INET || Int32(h.ndm_family) == AF_INET6 else { return }
            let a = Self.decodeNeighborAttributes(m.payload)
            guard let dst = a.dst else { return }
            out.append(Neighbor(index: h.ndm_ifindex, address: dst, lladdr: a.lladdr, state: h.ndm_state,
                                flags: UInt32(h.ndm_flags) | a.extFlags << 8))
        }
        return (out, outcome)
    }

    /// Every forwarding database entry: bridge entries (NTF_MASTER) and devices' own address
    /// lists (NTF_SELF), as `bridge fdb show` lists them.
    func dumpFDB() throws -> (entries: [FDBEntry], outcome: DumpOutcome) {
        var out: [FDBEntry] = []
        var req = ndmsg()
        req.ndm_family = UInt8(AF_BRIDGE)
        let outcome = try dump(type: UInt16(RTM_GETNEIGH), body: requestBody(req)) { m in
            guard Int32(m.type) == RTM_NEWNEIGH, let h = m.payload.familyHeader(ndmsg.self),
                  Int32(h.ndm_family) == AF_BRIDGE else { return }
            let a = Self.decodeNeighborAttributes(m.payload)
            guard let mac = a.lladdr else { return }
            var e = FDBEntry(mac: mac, index: h.ndm_ifindex, master: a.master, vlan: a.vlan, state: h.ndm_state,
                             flags: UInt32(h.ndm_flags) | a.extFlags << 8)
            e.dst = a.dst
            out.append(e)
        }
        return (out, outcome)
    }

    struct NeighborAttributes {
        var dst: IPAddress?, lladdr: String?, master: Int32?, vlan: UInt16?, extFlags: UInt32 = 0
    }

    static func decodeNeighborAttributes(_ p: UnsafeRawBufferPointer) -> NeighborAttributes {
        var r = NeighborAttributes()
        forEachAttribute(p, after: ndmsg.self) { t, a in
            switch Int(t) {
            case K(NDA_DST): r.dst = a.ipAddress()
            case K(NDA_LLADDR) where a.count > 0: r.lladdr = a.hardwareAddress()
            case K(NDA_MASTER): r.master = a.i32()
            case K(NDA_VLAN): r.vlan = a.u16()
            case K(NDA_FLAGS_EXT): r.extFlags = a.u32()
            default: break
            }
        }
        return r
    }
}

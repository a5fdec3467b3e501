import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETNEXTHOP dump → `Nexthop` objects and groups (nhmsg + NHA_* attributes).
extension NetlinkSocket {
    func dumpNexthops() throws -> (nexthops: [Nexthop], outcome: DumpOutcome) {
        var out: [Nexthop] = []
        let body = [UInt8](repeating: 0, count: 8)  // struct nhmsg, AF_UNSPEC
        do {
            let outcome = try dump(type: UInt16(RTM_GETNEXTHOP), body: body) { m in
                guard Int32(m.type) == RTM_NEWNEXTHOP, m.payload.count >= 8 else { return }
                out.append(Self.decodeNexthop(m.payload))
            }
            return (out, outcome)
        } catch let e as SystemError where e.errno == EOPNOTSUPP || e.errno == EINVAL || e.errno == EAFNOSUPPORT {
            return ([], DumpOutcome())  // kernel without nexthop objects: there are none
        }
    }

    static func decodeNexthop(_ p: UnsafeRawBufferPointer) -> Nexthop {
        var nh = Nexthop(id: 0, family: p.u8(0))
        nh.protocol = p.u8(2)
        nh.scope = p.u8(1)
        nh.flags = p.u32(4)
        forEachAttribute(p, from: 8) { t, a in
            switch Int(t) {
            case K(NHA_ID): nh.id = a.u32()
            case K(NHA_OIF): nh.oif = a.i32()
            case K(NHA_GATEWAY): nh.gateway = a.ipAddress()
            case K(NHA_BLACKHOLE): nh.blackhole = true
            case K(NHA_FDB): nh.fdb = true
            case K(NHA_GROUP_TYPE): nh.groupType = a.u16() == 1 ? "resilient" : "mpath"
            case K(NHA_GROUP):
                // struct nexthop_grp: id u32, weight u8 (weight - 1), weight_high u8, resvd u16
                var members: [NexthopGroupMember] = []
                var off = 0
                while off + 8 <= a.count {
                    let w = UInt16(a.u8(off + 4)) | UInt16(a.u8(off + 5)) << 8
                    members.append(NexthopGroupMember(id: a.u32(off), weight: w + 1))
                    off += 8
                }
                nh.group = members
            default: break
            }
        }
        if nh.group != nil && nh.groupType == nil { nh.groupType = "mpath" }
        return nh
    }

    /// RTM_GETNSID: the id this namespace gives the namespace behind `fd`, or nil if none.
    func nsid(of fd: Int32) throws -> Int32? {
        var b = AttributeBuilder(header: [UInt8](repeating: 0, count: 4))  // struct rtgenmsg, aligned
        b.add(UInt16(K(NETNSA_FD)), value: UInt32(bitPattern: fd))
        let answer = try request(type: UInt16(RTM_GETNSID), body: b.bytes)
        guard Int32(answer.type) == RTM_NEWNSID else { return nil }
        var id: Int32?
        answer.payload.withUnsafeBytes { p in
            forEachAttribute(p, from: 4) { t, a in
                if Int(t) == K(NETNSA_NSID) { id = a.i32() }
            }
        }
        return (id ?? -1) >= 0 ? id : nil
    }
}

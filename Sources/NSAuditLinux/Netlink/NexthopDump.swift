import CNetlink
import Glibc
import NSAuditCore
import SystemPackage

/// RTM_GETNEXTHOP dump → `Nexthop` objects and groups (nhmsg + NHA_* attributes).
extension NetlinkSocket {
    func dumpNexthops() throws -> (nexthops: [Nexthop], outcome: DumpOutcome) {
        var out: [Nexthop] = []
        do {
            let outcome = try dump(type: UInt16(RTM_GETNEXTHOP), body: requestBody(nhmsg())) { m in  // AF_UNSPEC
                guard Int32(m.type) == RTM_NEWNEXTHOP, let h = m.payload.familyHeader(nhmsg.self) else { return }
                out.append(Self.decodeNexthop(h, m.payload))
            }
            return (out, outcome)
        } catch let e as SystemCallError where [.notSupportedOnSocket, .invalidArgument, .addressFamilyNotSupported].contains(e.errno) {
            return ([], DumpOutcome())  // kernel without nexthop objects: there are none
        }
    }

    /// `h`: the message's nhmsg; `p`: the whole payload (header, then NHA_* attributes).
    static func decodeNexthop(_ h: nhmsg, _ p: UnsafeRawBufferPointer) -> Nexthop {
        var nh = Nexthop(id: 0, family: h.nh_family)
        nh.protocol = h.nh_protocol
        nh.scope = h.nh_scope
        nh.flags = h.nh_flags
        forEachAttribute(p, after: nhmsg.self) { t, a in
            switch Int(t) {
            case K(NHA_ID): nh.id = a.u32()
            case K(NHA_OIF): nh.oif = a.i32()
            case K(NHA_GATEWAY): nh.gateway = a.ipAddress()
            case K(NHA_BLACKHOLE): nh.blackhole = true
            case K(NHA_FDB): nh.fdb = true
            case K(NHA_GROUP_TYPE): nh.groupType = a.u16() == 1 ? "resilient" : "mpath"
            case K(NHA_GROUP):
                // struct nexthop_grp: id, weight (weight - 1), then the weight's high byte
                // (weight_high since Linux 6.12, resvd1 in older headers, so read by its place).
                var members: [NexthopGroupMember] = []
                let size = MemoryLayout<nexthop_grp>.stride
                let weightHigh = MemoryLayout<nexthop_grp>.offset(of: \nexthop_grp.weight)! + 1
                var off = 0
                while off + size <= a.count {
                    let g = a.loadUnaligned(fromByteOffset: off, as: nexthop_grp.self)
                    let w = UInt16(g.weight) | UInt16(a.u8(off + weightHigh)) << 8
                    // weights are 1...65535, so 0xffff is not one the kernel sends: read as
                    // the largest rather than trap on the overflow (fuzz regression)
                    members.append(NexthopGroupMember(id: g.id, weight: w == .max ? .max : w + 1))
                    off += size
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
        var b = AttributeBuilder(header: rtgenmsg())
        b.add(UInt16(K(NETNSA_FD)), value: UInt32(bitPattern: fd))
        let answer = try request(type: UInt16(RTM_GETNSID), body: b.bytes)
        guard Int32(answer.type) == RTM_NEWNSID else { return nil }
        return answer.payload.withUnsafeBytes { Self.decodeNSID($0) }
    }

    /// `p`: an RTM_NEWNSID payload (rtgenmsg, then NETNSA_* attributes); nil when it holds no
    /// id (or NETNSA_NSID_NOT_ASSIGNED, -1).
    static func decodeNSID(_ p: UnsafeRawBufferPointer) -> Int32? {
        var id: Int32?
        forEachAttribute(p, after: rtgenmsg.self) { t, a in
            if Int(t) == K(NETNSA_NSID) { id = a.i32() }
        }
        return (id ?? -1) >= 0 ? id : nil
    }
}

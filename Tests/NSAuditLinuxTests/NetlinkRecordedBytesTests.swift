import CNetlink
import Foundation
import NSAuditCore
@testable import NSAuditLinux
import Testing

/// The decoders on bytes a kernel really sent (the netlink fuzz target's seeds, recorded by
/// Fuzz/record-netlink-seeds.py from a throwaway namespace), and on the inputs the fuzzer
/// found to crash them (Fuzz/regressions/netlink), through NetlinkDatagram as recv() hands
/// them over.
@Suite struct NetlinkRecordedBytesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The messages of a recorded datagram: type and payload bytes.
    func messages(_ relative: String) throws -> [(type: Int, payload: [UInt8])] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent(relative))
        var out: [(Int, [UInt8])] = []
        _ = Array(data).withUnsafeBytes { raw in
            NetlinkDatagram(raw).forEachMessage { m, _ in out.append((Int(m.type), Array(m.payload))); return false }
        }
        return out
    }

    @Test func framingStopsAtABadLength() {
        // one 20-byte message, then a header claiming 4096 bytes: the walk ends there
        var bytes: [UInt8] = []
        bytes += withUnsafeBytes(of: nlmsghdr(nlmsg_len: 20, nlmsg_type: 3, nlmsg_flags: 2, nlmsg_seq: 7, nlmsg_pid: 0)) { Array($0) }
        bytes += [0, 0, 0, 0]
        bytes += withUnsafeBytes(of: nlmsghdr(nlmsg_len: 4096, nlmsg_type: 16, nlmsg_flags: 2, nlmsg_seq: 8, nlmsg_pid: 0)) { Array($0) }
        var seen: [(UInt16, UInt32, Int)] = []
        let stopped = bytes.withUnsafeBytes { raw in
            NetlinkDatagram(raw).forEachMessage { m, seq in seen.append((m.type, seq, m.payload.count)); return false }
        }
        #expect(!stopped)
        #expect(seen.count == 1 && seen[0] == (3, 7, 4))
    }

    @Test func recordedDumpsDecode() throws {
        let links = try messages("Fuzz/corpus/netlink/links-0.bin") + messages("Fuzz/corpus/netlink/links-1.bin")
        let names = links.compactMap { m -> String? in
            guard m.type == Int(RTM_NEWLINK) else { return nil }
            return m.payload.withUnsafeBytes { p in p.familyHeader(ifinfomsg.self).map { NetlinkSocket.decodeLink($0, p).name } }
        }
        #expect(Set(names).isSuperset(of: ["lo", "a0", "b0", "a1.10", "b1"]))

        let rules = try messages("Fuzz/corpus/netlink/rules4-0.bin").compactMap { m in
            m.payload.withUnsafeBytes { p in p.familyHeader(fib_rule_hdr.self).flatMap { NetlinkSocket.decodeRule($0, p) } }
        }
        let r100 = try #require(rules.first { $0.priority == 100 })
        #expect(r100.src == IPPrefix("10.92.0.0/24") && r100.dst == IPPrefix("198.51.100.0/24") && r100.iif == "a1.10")
        #expect(r100.fwmark == 0x10 && r100.fwmask == 0xff && r100.table == 100)
        #expect(rules.first { $0.priority == 400 }?.gotoTarget == 500)

        let nexthops = try messages("Fuzz/corpus/netlink/nexthops-0.bin").compactMap { m in
            m.payload.withUnsafeBytes { p in p.familyHeader(nhmsg.self).map { NetlinkSocket.decodeNexthop($0, p) } }
        }
        let group = try #require(nexthops.first { $0.id == 3 }?.group)
        #expect(group == [NexthopGroupMember(id: 1, weight: 3), NexthopGroupMember(id: 2, weight: 1)])
        #expect(nexthops.first { $0.id == 4 }?.blackhole == true)
    }

    /// Found by the fuzzer: a group member whose (weight - 1) is 0xffff overflowed the
    /// weight's UInt16 (a trap). A kernel sends weights 1...65535; this one is read as 65535.
    @Test func nexthopGroupWeightFFFFDoesNotTrap() throws {
        let msgs = try messages("Fuzz/regressions/netlink/nexthop-group-weight-ffff.bin")
        let nh = try #require(msgs.first { $0.type == Int(RTM_NEWNEXTHOP) })
        let decoded = nh.payload.withUnsafeBytes { p in p.familyHeader(nhmsg.self).map { NetlinkSocket.decodeNexthop($0, p) } }
        let members = try #require(decoded?.group)
        #expect(members.contains { $0.weight == .max })
    }
}

extension NetlinkRecordedBytesTests {
    /// Found by the fuzzer: a link dump holding ifindex 809,122,352 made building the model
    /// allocate a 3.2 GB device table (out of memory). The model now builds as for any index.
    @Test func linkWithAHugeIfindexBuildsAModel() throws {
        var ns = NamespaceSnapshot(id: "fuzz")
        for m in try messages("Fuzz/regressions/netlink/link-ifindex-800m-oom.bin") where m.type == Int(RTM_NEWLINK) {
            m.payload.withUnsafeBytes { p in
                if let h = p.familyHeader(ifinfomsg.self) { ns.links.append(NetlinkSocket.decodeLink(h, p)) }
            }
        }
        #expect(ns.links.contains { $0.index == 809_122_352 })
        let model = RoutingModel(ns)
        #expect((try? model.routeGet(line: "10.0.0.1")) != nil)
    }
}

import CNetlink
import Glibc
import NSAuditCore
@testable import NSAuditLinux
import SystemPackage
import Testing

/// The netlink decoders and request builders read and write the kernel's C structs (rtmsg,
/// fib_rule_hdr, ifinfomsg, rtnexthop, rtattr): checked here on messages built in memory, and
/// against request bytes written out by hand, without root or a kernel.
@Suite struct NetlinkHeaderTests {
    func bytes<T>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    func ipv4(_ s: String) -> [UInt8] { IPAddress(s)!.bytes }

    @Test func routeRequestBytesAreTheKernelLayout() {
        var q = RouteQuery(dst: IPAddress("10.0.0.1")!)
        q.tos = 0x10
        let body = NetlinkSocket.routeRequest(q, iif: nil, oif: 3)
        // struct rtmsg (12 bytes): family, dst_len, src_len, tos, table, protocol, scope, type, flags
        #expect(Array(body[0..<12]) == [UInt8(AF_INET), 32, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0])
        // RTA_DST (1): len 8, type 1, the address; RTA_OIF (4): len 8, type 4, ifindex 3
        #expect(Array(body[12...]) == [8, 0, 1, 0, 10, 0, 0, 1] + [8, 0, 4, 0, 3, 0, 0, 0])
    }

    @Test func dumpRequestsAreAlignedFamilyHeaders() {
        #expect(requestBody(rtmsg()).count == 12)
        #expect(requestBody(fib_rule_hdr()).count == 12)
        #expect(requestBody(ifinfomsg()).count == 16)
        #expect(requestBody(ifaddrmsg()).count == 8)
        #expect(requestBody(rtgenmsg()).count == 4)  // NLMSG_ALIGN(1)
        #expect(NetlinkSocket.headerSize == 16)
    }

    @Test func routeWithMultipathDecodes() throws {
        var h = rtmsg()
        h.rtm_family = UInt8(AF_INET); h.rtm_dst_len = 24; h.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        h.rtm_protocol = 4; h.rtm_scope = 0; h.rtm_type = UInt8(RTN_UNICAST)
        var b = AttributeBuilder(header: h)
        b.add(UInt16(K(RTA_TABLE)), value: UInt32(1000))
        b.add(UInt16(K(RTA_DST)), ipv4("198.51.100.0"))
        b.add(UInt16(K(RTA_PRIORITY)), value: UInt32(20))
        var paths: [UInt8] = []
        for (gw, dev, hops) in [("10.0.0.2", Int32(2), UInt8(0)), ("10.1.0.2", Int32(3), UInt8(2))] {
            var nh = AttributeBuilder(header: rtnexthop(rtnh_len: 0, rtnh_flags: 0, rtnh_hops: hops, rtnh_ifindex: dev))
            nh.add(UInt16(K(RTA_GATEWAY)), ipv4(gw))
            nh.bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt16($0.count), as: UInt16.self) }
            paths += nh.bytes
        }
        b.add(UInt16(K(RTA_MULTIPATH)), paths)
        let route = try #require(b.bytes.withUnsafeBytes { NetlinkSocket.decodeRoute(h, $0) })
        #expect(route.family == .v4 && route.dst == IPPrefix("198.51.100.0/24") && route.table == 1000)
        #expect(route.protocol == 4 && route.type == .unicast && route.metric == 20)
        let hops = try #require(route.nexthops)
        #expect(hops.map(\.gateway) == [IPAddress("10.0.0.2"), IPAddress("10.1.0.2")])
        #expect(hops.map(\.oif) == [2, 3] && hops.map(\.weight) == [1, 3])

        h.rtm_flags = UInt32(RTM_F_CLONED)
        #expect(AttributeBuilder(header: h).bytes.withUnsafeBytes { NetlinkSocket.decodeRoute(h, $0) } == nil, "cache entries are not FIB routes")
    }

    @Test func ruleDecodes() throws {
        var h = fib_rule_hdr()
        h.family = UInt8(AF_INET); h.src_len = 24; h.action = UInt8(FR_ACT_TO_TBL)
        var b = AttributeBuilder(header: h)
        b.add(UInt16(K(FRA_PRIORITY)), value: UInt32(100))
        b.add(UInt16(K(FRA_SRC)), ipv4("192.0.2.0"))
        b.add(UInt16(K(FRA_TABLE)), value: UInt32(1000))
        b.add(UInt16(K(FRA_IIFNAME)), Array("eth1".utf8) + [0])
        let rule = try #require(b.bytes.withUnsafeBytes { NetlinkSocket.decodeRule(h, $0) })
        #expect(rule.priority == 100 && rule.table == 1000 && rule.src == IPPrefix("192.0.2.0/24") && rule.iif == "eth1")
        #expect(rule.action == UInt8(FR_ACT_TO_TBL))
    }

    @Test func linkDecodes() {
        let h = ifinfomsg(ifi_family: 0, __ifi_pad: 0, ifi_type: UInt16(ARPHRD_ETHER), ifi_index: 7, ifi_flags: 0x1043, ifi_change: 0)
        var b = AttributeBuilder(header: h)
        b.add(UInt16(K(IFLA_IFNAME)), Array("eth0".utf8) + [0])
        b.add(UInt16(K(IFLA_MTU)), value: UInt32(9000))
        let link = b.bytes.withUnsafeBytes { NetlinkSocket.decodeLink(h, $0) }
        #expect(link.index == 7 && link.name == "eth0" && link.flags == 0x1043 && link.mtu == 9000 && link.linkType == UInt16(ARPHRD_ETHER))
    }

    @Test func attributeWalkStopsAtATruncatedAttribute() {
        var b = AttributeBuilder(header: rtmsg())
        b.add(UInt16(K(RTA_OIF)), value: Int32(5))
        b.bytes += [200, 0, 1, 0]  // claims 200 bytes, has 4
        var seen: [UInt16] = []
        b.bytes.withUnsafeBytes { p in forEachAttribute(p, after: rtmsg.self) { t, _ in seen.append(t) } }
        #expect(seen == [UInt16(K(RTA_OIF))])
    }
}

/// Errors of the system layer name the call, the file and the errno (text and symbol), and
/// writes report failures instead of stopping silently.
@Suite struct SystemLayerTests {
    @Test func errorsNameTheFileAndTheErrno() throws {
        let e = SystemCallError("open", errno: .noSuchFileOrDirectory, subject: "/run/netns/x")
        #expect(e.description == "open /run/netns/x: No such file or directory (ENOENT)")
        #expect(Errno.notPermitted.symbolicName == "EPERM" && Errno(rawValue: 4095).symbolicName == "errno 4095")
        #expect { _ = try readWholeFile("/nonexistent/nsaudit") } throws: { error in
            "\(error)" == "open /nonexistent/nsaudit: No such file or directory (ENOENT)"
        }
    }

    @Test func aFailedWriteIsAnError() throws {
        guard access("/dev/full", W_OK) == 0 else { return }
        let out = try OutputFile(path: "/dev/full")
        #expect { try out.write("x") } throws: { error in
            (error as? SystemCallError)?.errno == .noSpace && "\(error)".hasPrefix("write /dev/full: ") && "\(error)".hasSuffix("(ENOSPC)")
        }
    }

    @Test func outputFileIsWrittenWhole() throws {
        let dir = "/tmp/nsat-syslayer-\(getpid())"
        mkdir(dir, 0o755)
        defer { unlink(dir + "/out.txt"); rmdir(dir) }
        let text = String(repeating: "0123456789abcdef", count: 1 << 16)  // 1 MiB
        let out = try OutputFile(path: dir + "/out.txt")
        try out.write(text)
        #expect(access(dir + "/out.txt", F_OK) != 0, "not visible before commit")
        try out.commit()
        #expect(try readWholeFile(dir + "/out.txt") == Array(text.utf8))
    }

    /// A file whose size fstat does not give (procfs says 0) is read whole all the same, and
    /// so is an empty one.
    @Test func filesWithoutASizeAreReadWhole() throws {
        let status = String(decoding: try readWholeFile("/proc/self/status"), as: UTF8.self)
        #expect(status.hasPrefix("Name:") && status.contains("\nPid:"), "\(status.prefix(80))")
        #expect(try readWholeFile("/dev/null").isEmpty)
    }
}

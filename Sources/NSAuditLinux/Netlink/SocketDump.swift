import CNetlink
import Glibc
import NSAuditCore

/// sock_diag (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY) dumps of TCP and UDP sockets.
extension NetlinkSocket {
    static let tcpStates = ["", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                            "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]

    func dumpSockets(family: IPAddress.Family, protocol proto: UInt8, into out: inout [Socket]) throws {
        // struct inet_diag_req_v2: family, protocol, ext, pad, states u32, inet_diag_sockid (48)
        var body = [UInt8](repeating: 0, count: 56)
        body[0] = family.rawValue
        body[1] = proto
        // Every state except TIME_WAIT (6): lingering closed connections are not flows.
        let states: UInt32 = 0xffff_ffff & ~(1 << 6)
        withUnsafeBytes(of: states) { for (i, b) in $0.enumerated() { body[4 + i] = b } }
        let name = proto == IPProto.tcp ? "tcp" : "udp"
        try dump(type: UInt16(SOCK_DIAG_BY_FAMILY), body: body) { m in
            let p = m.payload
            guard p.count >= 72, let fam = IPAddress.Family(rawValue: p.u8(0)) else { return }
            let stateIndex = Int(p.u8(1))
            let sport = UInt16(bigEndian: p.u16(4)), dport = UInt16(bigEndian: p.u16(6))
            let addrLen = fam == .v4 ? 4 : 16
            guard let src = UnsafeRawBufferPointer(rebasing: p[8..<(8 + addrLen)]).ipAddress(),
                  let dst = UnsafeRawBufferPointer(rebasing: p[24..<(24 + addrLen)]).ipAddress() else { return }
            var state = stateIndex < Self.tcpStates.count ? Self.tcpStates[stateIndex] : String(stateIndex)
            if proto == IPProto.udp { state = stateIndex == 1 ? "ESTABLISHED" : "UNCONN" }
            var s = Socket(protocol: name, family: fam, state: state, local: src, localPort: sport,
                           remote: dst, remotePort: dport)
            let ifindex = p.i32(40)
            if ifindex != 0 { s.boundIf = ifindex }
            s.uid = p.u32(64)
            s.inode = p.u32(68)
            out.append(s)
        }
    }
}

import CNetlink
import Glibc
import NSAuditCore

/// sock_diag (NETLINK_SOCK_DIAG, SOCK_DIAG_BY_FAMILY) dumps of TCP and UDP sockets.
extension NetlinkSocket {
    static let tcpStates = ["", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                            "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]

    func dumpSockets(family: IPAddress.Family, protocol proto: UInt8, into out: inout [Socket]) throws {
        var req = inet_diag_req_v2()
        req.sdiag_family = family.rawValue
        req.sdiag_protocol = proto
        // TCP_ESTABLISHED (1) ... TCP_NEW_SYN_RECV (12) except TIME_WAIT (6): lingering
        // closed connections are not flows. TCP_BOUND_INACTIVE (13, bound but neither
        // listening nor connected) is left out too: not a flow, and asking for it makes the
        // kernel walk the whole bind hash as well.
        req.idiag_states = 0x1ffe & ~(1 << 6)
        try dump(type: UInt16(SOCK_DIAG_BY_FAMILY), body: requestBody(req)) { m in
            if let s = Self.decodeSocket(m.payload, protocol: proto) { out.append(s) }
        }
    }

    /// `p`: a SOCK_DIAG_BY_FAMILY answer's payload (inet_diag_msg, then attributes) for a
    /// dump of protocol `proto`; nil when it is short or of another family.
    static func decodeSocket(_ p: UnsafeRawBufferPointer, protocol proto: UInt8) -> Socket? {
        guard let msg = p.familyHeader(inet_diag_msg.self),
              let fam = IPAddress.Family(rawValue: msg.idiag_family) else { return nil }
        let stateIndex = Int(msg.idiag_state)
        let sport = UInt16(bigEndian: msg.id.idiag_sport), dport = UInt16(bigEndian: msg.id.idiag_dport)
        let addrLen = fam == .v4 ? 4 : 16
        var id = msg.id
        let src = withUnsafeBytes(of: &id.idiag_src) { UnsafeRawBufferPointer(rebasing: $0[0..<addrLen]).ipAddress() }
        let dst = withUnsafeBytes(of: &id.idiag_dst) { UnsafeRawBufferPointer(rebasing: $0[0..<addrLen]).ipAddress() }
        guard let src, let dst else { return nil }
        var state = stateIndex < Self.tcpStates.count ? Self.tcpStates[stateIndex] : String(stateIndex)
        if proto == IPProto.udp { state = stateIndex == 1 ? "ESTABLISHED" : "UNCONN" }
        var s = Socket(protocol: proto == IPProto.tcp ? "tcp" : "udp", family: fam, state: state, local: src, localPort: sport,
                       remote: dst, remotePort: dport)
        let ifindex = Int32(bitPattern: msg.id.idiag_if)
        if ifindex != 0 { s.boundIf = ifindex }
        s.uid = msg.idiag_uid
        s.inode = msg.idiag_inode
        return s
    }
}

/// The per-namespace socket counters of /proc/thread-self/net/sockstat and sockstat6
/// ("TCP: inuse N ...", "UDP6: inuse N ..."), read on the thread that entered the namespace.
/// A family/protocol whose counter is 0 has no socket a dump could report (TIME_WAIT and
/// bound-only sockets are not counted, and not asked for). When a file cannot be read, every
/// dump is done.
struct SocketsInUse {
    var tcp4 = 1, udp4 = 1, tcp6 = 1, udp6 = 1

    static func read() -> SocketsInUse {
        var s = SocketsInUse()
        withProcFile("/proc/thread-self/net/sockstat") { text in
            s.tcp4 = inuse(text, "TCP:") ?? 1
            s.udp4 = inuse(text, "UDP:") ?? 1
        }
        withProcFile("/proc/thread-self/net/sockstat6") { text in
            s.tcp6 = inuse(text, "TCP6:") ?? 1
            s.udp6 = inuse(text, "UDP6:") ?? 1
        }
        return s
    }

    var any: Bool { tcp4 + udp4 + tcp6 + udp6 > 0 }

    /// Both families are dumped when a protocol has any socket: an IPv6 TCP socket
    /// connected to a v4-mapped address switches to the IPv4 protocol and is counted under
    /// "TCP:" while the kernel still reports it with family AF_INET6.
    func mayHave(_ family: IPAddress.Family, _ proto: UInt8) -> Bool {
        switch proto {
        case IPProto.tcp: tcp4 + tcp6 > 0
        case IPProto.udp: udp4 + udp6 > 0
        default: true
        }
    }

    /// The number after "inuse" on the line starting with `tag` ("TCP: inuse 3 orphan 0 ...").
    static func inuse(_ text: UnsafeRawBufferPointer, _ tag: StaticString) -> Int? {
        let tagLen = tag.utf8CodeUnitCount
        let marker: StaticString = " inuse "
        var lineStart = 0
        while lineStart < text.count {
            var lineEnd = lineStart
            while lineEnd < text.count && text[lineEnd] != 10 { lineEnd += 1 }
            if lineEnd - lineStart > tagLen + marker.utf8CodeUnitCount,
               memcmp(text.baseAddress! + lineStart, tag.utf8Start, tagLen) == 0,
               memcmp(text.baseAddress! + lineStart + tagLen, marker.utf8Start, marker.utf8CodeUnitCount) == 0 {
                var i = lineStart + tagLen + marker.utf8CodeUnitCount
                var v = 0, digits = 0
                while i < lineEnd, text[i] >= 48, text[i] <= 57, digits < 18 {
                    v = v * 10 + Int(text[i] - 48); digits += 1; i += 1
                }
                return digits > 0 ? v : nil
            }
            lineStart = lineEnd + 1
        }
        return nil
    }

    /// Calls `body` with the contents of a small /proc file (sockstat is a few lines); not
    /// at all when it cannot be read.
    static func withProcFile(_ path: String, _ body: (UnsafeRawBufferPointer) -> Void) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var buf: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                  UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &buf) { p in
            let n = Glibc.read(fd, p.baseAddress, p.count)
            guard n > 0 else { return }
            body(UnsafeRawBufferPointer(rebasing: p[0..<n]))
        }
    }
}

import Glibc
import NSAuditCore
import SystemPackage

/// The socket side of a probe, on a thread inside the start namespace: one ICMP echo
/// request (raw socket), TCP SYN (non-blocking connect) or UDP datagram (connected socket),
/// and what comes back to the socket within the timeout.
enum ProbeSocket {
    static func exchange(_ flow: ProbeFlow, icmpID: UInt16, timeout: Double) -> LiveProbe.SentProbe {
        let v6 = flow.dst.family == .v6
        let family = v6 ? AF_INET6 : AF_INET
        let type: Int32, proto: Int32
        switch flow.proto {
        case .tcp: type = Int32(SOCK_STREAM.rawValue); proto = Int32(IPPROTO_TCP)
        case .udp: type = Int32(SOCK_DGRAM.rawValue); proto = Int32(IPPROTO_UDP)
        case .icmp: type = Int32(SOCK_RAW.rawValue); proto = v6 ? Int32(IPPROTO_ICMPV6) : Int32(IPPROTO_ICMP)
        }
        var result = LiveProbe.SentProbe(flow: flow, icmpID: flow.proto == .icmp ? icmpID : nil, answer: .none)
        let s = socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard s >= 0 else { result.answer = .sendFailed(SystemCallError("socket").description); return result }
        defer { close(s) }
        /// The kernel refused a call: the probe was not sent (errno name, e.g. ENETUNREACH).
        func fail() -> LiveProbe.SentProbe {
            var r = result
            r.answer = .sendFailed(Errno.lastCall.symbolicName)
            return r
        }
        if let m = flow.mark, !setInt(s, SOL_SOCKET, SO_MARK, Int32(bitPattern: m)) { return fail() }
        if let t = flow.ttl, !setInt(s, v6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP), v6 ? IPV6_UNICAST_HOPS : IP_TTL, Int32(t)) { return fail() }
        if let t = flow.tos, !setInt(s, v6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP), v6 ? IPV6_TCLASS : IP_TOS, Int32(t)) { return fail() }
        // ICMP errors reach a UDP or raw socket only with RECVERR (a connected TCP socket
        // in SYN_SENT gets them anyway).
        if flow.proto != .tcp { _ = setInt(s, v6 ? Int32(IPPROTO_IPV6) : Int32(IPPROTO_IP), v6 ? IPV6_RECVERR : IP_RECVERR, 1) }
        if flow.proto == .tcp {
            var l = linger(l_onoff: 1, l_linger: 0)   // close with a RST, leave no TIME_WAIT behind
            _ = setsockopt(s, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
        if flow.src != nil || (flow.sport != nil && flow.proto != .icmp) {
            let any = v6 ? IPAddress(v6: 0) : IPAddress(v4: 0)
            guard withSockaddr(flow.src ?? any, flow.proto == .icmp ? 0 : flow.sport ?? 0, { bind(s, $0, $1) }) == 0 else { return fail() }
        }
        let deadline = monotonicSeconds() + timeout
        switch flow.proto {
        case .tcp, .udp:
            let r = withSockaddr(flow.dst, flow.dport) { connect(s, $0, $1) }
            if r != 0 && errno != EINPROGRESS { return fail() }
            if let (a, p) = localAddress(s) { result.flow.src = a; result.flow.sport = p }
            if flow.proto == .udp {
                let payload: [UInt8] = Array("nsaudit probe\n".utf8)
                guard Glibc.send(s, payload, payload.count, 0) >= 0 else { return fail() }
                result.answer = waitUDP(s, deadline)
            } else {
                result.answer = waitTCP(s, deadline)
            }
        case .icmp:
            var msg: [UInt8] = [v6 ? 128 : 8, 0, 0, 0, UInt8(icmpID >> 8), UInt8(icmpID & 0xff), 0, 1]
            msg += Array("nsaudit!".utf8)
            if !v6 {   // the kernel computes ICMPv6 checksums itself
                let c = checksum(msg)
                msg[2] = UInt8(c >> 8); msg[3] = UInt8(c & 0xff)
            }
            let r = withSockaddr(flow.dst, 0) { a, l in msg.withUnsafeBytes { sendto(s, $0.baseAddress, $0.count, 0, a, l) } }
            guard r >= 0 else { return fail() }
            result.answer = waitICMP(s, id: icmpID, v6: v6, deadline)
        }
        return result
    }

    static func setInt(_ s: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var v = value
        return setsockopt(s, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Waits for the socket to be ready (or the deadline): true when ready. The socket is
    /// always looked at once more after the deadline, so a thread that was not scheduled in
    /// time (a loaded machine) still sees an answer that did arrive.
    static func wait(_ s: Int32, _ events: Int16, _ deadline: Double) -> Bool {
        while true {
            let left = deadline - monotonicSeconds()
            var p = pollfd(fd: s, events: events, revents: 0)
            let r = poll(&p, 1, left > 0 ? Int32(max(1, left * 1000)) : 0)
            if r > 0 { return true }
            if r < 0 && errno != EINTR { return false }
            if left <= 0 { return false }
        }
    }

    static func waitTCP(_ s: Int32, _ deadline: Double) -> ProbeAnswer {
        guard wait(s, Int16(POLLOUT), deadline) else { return .none }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len)
        switch err {
        case 0: return .reply
        case ECONNREFUSED: return .refused
        default: return .error(Errno(rawValue: err).symbolicName)
        }
    }

    static func waitUDP(_ s: Int32, _ deadline: Double) -> ProbeAnswer {
        var buf = [UInt8](repeating: 0, count: 2048)
        while wait(s, Int16(POLLIN), deadline) {
            let n = recv(s, &buf, buf.count, 0)
            if n >= 0 { return .reply }
            switch errno {
            case EAGAIN, EINTR: continue
            case ECONNREFUSED: return .refused
            default: return .error(Errno.lastCall.symbolicName)
            }
        }
        return .none
    }

    /// Raw ICMP sockets see every ICMP message of the namespace: only an echo reply with our
    /// identifier, or an error quoting our request, counts.
    static func waitICMP(_ s: Int32, id: UInt16, v6: Bool, _ deadline: Double) -> ProbeAnswer {
        var buf = [UInt8](repeating: 0, count: 2048)
        while wait(s, Int16(POLLIN), deadline) {
            let n = recv(s, &buf, buf.count, 0)
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                // an error queued by RECVERR: read it off the error queue
                var ebuf = [UInt8](repeating: 0, count: 512)
                _ = recv(s, &ebuf, ebuf.count, Int32(MSG_ERRQUEUE))
                continue
            }
            // IPv4 raw sockets deliver the IP header, IPv6 ones the ICMPv6 message only.
            let icmp = v6 ? 0 : Int(buf[0] & 0x0f) * 4
            guard n >= icmp + 8 else { continue }
            let type = buf[icmp], code = buf[icmp + 1]
            let gotID = UInt16(buf[icmp + 4]) << 8 | UInt16(buf[icmp + 5])
            if type == (v6 ? 129 : 0) && gotID == id { return .reply }
            let isError = v6 ? (1...4).contains(type) : [3, 11, 12].contains(type)
            guard isError else { continue }
            // the quoted request: IP header, then our echo request
            let inner = icmp + 8
            let innerICMP = v6 ? inner + 40 : inner + Int(buf[inner] & 0x0f) * 4
            guard n >= innerICMP + 6 else { continue }
            let quotedID = UInt16(buf[innerICMP + 4]) << 8 | UInt16(buf[innerICMP + 5])
            if buf[innerICMP] == (v6 ? 128 : 8) && quotedID == id {
                let from = v6 ? IPAddress(v6: 0) : IPAddress(v4: UInt32(buf[12]) << 24 | UInt32(buf[13]) << 16 | UInt32(buf[14]) << 8 | UInt32(buf[15]))
                return .error(ProbeICMPError(from: from, type: type, code: code).name)
            }
        }
        return .none
    }

    /// The internet checksum (RFC 1071).
    static func checksum(_ b: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < b.count { sum += UInt32(b[i]) << 8 | UInt32(b[i + 1]); i += 2 }
        if i < b.count { sum += UInt32(b[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func withSockaddr<R>(_ a: IPAddress, _ port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if a.family == .v4 {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = a.v4.bigEndian
            return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        let bytes = a.bytes
        withUnsafeMutableBytes(of: &sa.sin6_addr) { p in for i in 0..<16 { p[i] = bytes[i] } }
        return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }

    static func localAddress(_ s: Int32) -> (IPAddress, UInt16)? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        guard r == 0 else { return nil }
        if Int32(ss.ss_family) == AF_INET {
            return withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                (IPAddress(v4: UInt32(bigEndian: $0.pointee.sin_addr.s_addr)), UInt16(bigEndian: $0.pointee.sin_port))
            } }
        }
        return withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
            var a = p.pointee.sin6_addr
            let b = withUnsafeBytes(of: &a) { Array($0) }
            var v: UInt128 = 0
            for x in b { v = v << 8 | UInt128(x) }
            return (IPAddress(v6: v), UInt16(bigEndian: p.pointee.sin6_port))
        } }
    }
}

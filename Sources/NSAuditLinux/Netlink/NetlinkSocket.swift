import CNetlink
import Glibc
import NSAuditCore
import SystemPackage

/// One netlink message as received: valid only inside the handler it is passed to.
struct NetlinkMessage {
    let type: UInt16
    let flags: UInt16
    /// The bytes after the nlmsghdr (NLMSG_DATA): the family header, then attributes.
    let payload: UnsafeRawBufferPointer
}

/// The result of a dump: whether the kernel flagged it as interrupted by a concurrent change.
struct DumpOutcome {
    var interrupted = false
    var messages = 0
}

/// A netlink socket (NETLINK_ROUTE or NETLINK_SOCK_DIAG) in the namespace of the thread that
/// opened it. It stays bound to that namespace wherever it is used from afterwards.
final class NetlinkSocket {
    let fd: Int32
    private var seq: UInt32 = 0
    private let buffer: UnsafeMutableRawBufferPointer
    /// NLMSG_HDRLEN: where a message's payload starts.
    static let headerSize = Int(cnl_nlmsg_length(0))

    init(protocol proto: Int32 = NETLINK_ROUTE) throws {
        let s = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), proto)
        guard s >= 0 else { throw SystemCallError("socket(AF_NETLINK)") }
        fd = s
        buffer = .allocate(byteCount: 1 << 20, alignment: 8)
        var size: Int32 = 4 << 20
        let intSize = socklen_t(MemoryLayout<Int32>.size)
        // SO_RCVBUFFORCE needs CAP_NET_ADMIN; fall back to the capped SO_RCVBUF.
        if setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &size, intSize) != 0 {
            _ = setsockopt(s, SOL_SOCKET, SO_RCVBUF, &size, intSize)
        }
        var one: Int32 = 1
        _ = setsockopt(s, Int32(SOL_NETLINK), NETLINK_EXT_ACK, &one, intSize)
        var addr = sockaddr_nl()
        addr.nl_family = sa_family_t(AF_NETLINK)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(s, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard r == 0 else {
            let e = SystemCallError("bind(AF_NETLINK)")
            close(s); buffer.deallocate()
            throw e
        }
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Builds a request: nlmsghdr + `body` (family header and attributes).
    private func frame(type: UInt16, flags: UInt16, body: [UInt8]) -> [UInt8] {
        seq &+= 1
        var header = nlmsghdr(nlmsg_len: UInt32(Self.headerSize + body.count), nlmsg_type: type,
                              nlmsg_flags: flags, nlmsg_seq: seq, nlmsg_pid: 0)
        var msg = withUnsafeBytes(of: &header) { [UInt8]($0) }
        msg.append(contentsOf: body)
        return msg
    }

    private func send(_ msg: [UInt8]) throws {
        let sent = msg.withUnsafeBytes { p in retryingInterrupts { Glibc.send(fd, p.baseAddress, p.count, 0) } }
        switch sent {
        case .failure(let e): throw SystemCallError("send(netlink)", errno: e)
        case .success(let n) where n != msg.count: throw SystemCallError("send(netlink)", errno: .messageTooLong)
        case .success: break
        }
    }

    /// Receives datagrams and hands every message of sequence `seq` to `body` until it
    /// returns true (the exchange is complete).
    private func receive(seq wanted: UInt32, _ body: (NetlinkMessage) throws -> Bool) throws {
        try receive { m, mseq in mseq == wanted ? try body(m) : false }
    }

    /// Receives datagrams and hands every message, with its sequence number, to `body` until
    /// it returns true.
    private func receive(_ body: (NetlinkMessage, UInt32) throws -> Bool) throws {
        while true {
            let n: Int
            switch retryingInterrupts({ recv(fd, buffer.baseAddress, buffer.count, 0) }) {
            case .success(let got) where got > 0: n = got
            case .success: throw SystemCallError("recv(netlink)", errno: .ioError)
            case .failure(let e): throw SystemCallError("recv(netlink)", errno: e)
            }
            if try NetlinkDatagram(UnsafeRawBufferPointer(rebasing: buffer[0..<n])).forEachMessage(body) { return }
        }
    }

    /// The errno of an NLMSG_ERROR or NLMSG_DONE payload (0: success).
    private static func errorCode(_ payload: UnsafeRawBufferPointer) -> Int32 {
        payload.count >= MemoryLayout<Int32>.size ? -payload.loadUnaligned(as: Int32.self) : EIO
    }

    /// Sends a dump request and calls `handler` for each answer until NLMSG_DONE.
    @discardableResult
    func dump(type: UInt16, body: [UInt8], handler: (NetlinkMessage) throws -> Void) throws -> DumpOutcome {
        try send(frame(type: type, flags: UInt16(NLM_F_REQUEST | NLM_F_DUMP), body: body))
        var outcome = DumpOutcome()
        try receive(seq: seq) { m in
            if m.flags & UInt16(NLM_F_DUMP_INTR) != 0 { outcome.interrupted = true }
            switch Int32(m.type) {
            case NLMSG_DONE, NLMSG_ERROR:
                let err = Self.errorCode(m.payload)
                if err > 0 { throw SystemCallError("netlink dump \(type)", errno: Errno(rawValue: err)) }
                return true
            case NLMSG_NOOP, NLMSG_OVERRUN:
                return false
            default:
                outcome.messages += 1
                try handler(m)
                return false
            }
        }
        return outcome
    }

    /// Sends a single request and returns the payload bytes of the answer (or throws the
    /// kernel's errno).
    func request(type: UInt16, body: [UInt8]) throws -> (type: UInt16, payload: [UInt8]) {
        try send(frame(type: type, flags: UInt16(NLM_F_REQUEST), body: body))
        var answer: (type: UInt16, payload: [UInt8])?
        try receive(seq: seq) { m in
            if Int32(m.type) == NLMSG_ERROR {
                let err = Self.errorCode(m.payload)
                if err != 0 { throw SystemCallError("netlink request \(type)", errno: Errno(rawValue: err)) }
            }
            answer = (m.type, Array(m.payload))
            return true
        }
        return answer!
    }
}

extension NetlinkSocket {
    /// Sends many requests of one type, `window` of them in each datagram (the kernel
    /// answers each in turn), and hands every answer to `handle` with the request's
    /// position: the answer message and 0, or nil and the kernel's errno.
    func requests(type: UInt16, _ bodies: [[UInt8]], window: Int = 128,
                  _ handle: (Int, NetlinkMessage?, Int32) throws -> Void) throws {
        var start = 0
        while start < bodies.count {
            let end = min(start + window, bodies.count)
            var datagram: [UInt8] = []
            var first: UInt32 = 0
            for i in start..<end {
                let m = frame(type: type, flags: UInt16(NLM_F_REQUEST), body: bodies[i])
                if i == start { first = seq }
                datagram += m
                while datagram.count % 4 != 0 { datagram.append(0) }
            }
            try send(datagram)
            var answered = [Bool](repeating: false, count: end - start)
            var pending = end - start
            try receive { m, mseq in
                let k = Int(mseq &- first)
                guard k >= 0, k < answered.count, !answered[k] else { return false }
                answered[k] = true
                pending -= 1
                let err = Int32(m.type) == NLMSG_ERROR ? Self.errorCode(m.payload) : 0
                try handle(start + k, err == 0 ? m : nil, err)
                return pending == 0
            }
            start = end
        }
    }
}

/// A request body: the family header (`rtmsg`, `ifinfomsg`, ...) padded to NLMSG_ALIGN, then
/// netlink attributes (type, length, 4-byte aligned payload).
struct AttributeBuilder {
    var bytes: [UInt8]

    init<Header: BitwiseCopyable>(header: Header) {
        var h = header
        bytes = withUnsafeBytes(of: &h) { [UInt8]($0) }
        bytes += repeatElement(0, count: attributeOffset(after: Header.self) - bytes.count)
    }

    mutating func add(_ type: UInt16, _ payload: [UInt8]) {
        var a = rtattr(rta_len: UInt16(cnl_rta_length(Int32(payload.count))), rta_type: type)
        withUnsafeBytes(of: &a) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: payload)
        bytes += repeatElement(0, count: Int(cnl_rta_align(Int32(bytes.count))) - bytes.count)
    }
    mutating func add<T: FixedWidthInteger>(_ type: UInt16, value: T) {
        add(type, withUnsafeBytes(of: value) { Array($0) })
    }
}

/// A request body that is only a family header (a dump request).
func requestBody<Header: BitwiseCopyable>(_ header: Header) -> [UInt8] {
    AttributeBuilder(header: header).bytes
}

/// Where a message's attributes start: after its family header, aligned (NLMSG_ALIGN).
@inline(__always) func attributeOffset<Header>(after _: Header.Type) -> Int {
    Int(cnl_nlmsg_align(Int32(MemoryLayout<Header>.size)))
}

/// Walks the attributes of a message payload starting at `offset`.
@inline(__always)
func forEachAttribute(_ p: UnsafeRawBufferPointer, from offset: Int, _ body: (UInt16, UnsafeRawBufferPointer) throws -> Void) rethrows {
    let headerSize = MemoryLayout<rtattr>.size
    var off = offset
    let n = p.count
    while off + headerSize <= n {
        let a = p.loadUnaligned(fromByteOffset: off, as: rtattr.self)
        let len = Int(a.rta_len)
        guard len >= headerSize, off + len <= n else { return }
        try body(cnl_nla_type(a.rta_type), UnsafeRawBufferPointer(rebasing: p[(off + headerSize)..<(off + len)]))
        off += Int(cnl_rta_align(Int32(len)))
    }
}

/// Walks the attributes that follow a message's family header.
@inline(__always)
func forEachAttribute<Header>(_ p: UnsafeRawBufferPointer, after header: Header.Type, _ body: (UInt16, UnsafeRawBufferPointer) throws -> Void) rethrows {
    try forEachAttribute(p, from: attributeOffset(after: header), body)
}

extension UnsafeRawBufferPointer {
    /// The family header (`rtmsg`, `ifinfomsg`, ...) a message payload starts with; nil when
    /// the payload is shorter.
    @inline(__always) func familyHeader<Header: BitwiseCopyable>(_: Header.Type) -> Header? {
        count >= MemoryLayout<Header>.size ? loadUnaligned(as: Header.self) : nil
    }
    @inline(__always) func u8(_ at: Int = 0) -> UInt8 { count > at ? self[at] : 0 }
    @inline(__always) func u16(_ at: Int = 0) -> UInt16 { count >= at + 2 ? loadUnaligned(fromByteOffset: at, as: UInt16.self) : 0 }
    @inline(__always) func u32(_ at: Int = 0) -> UInt32 { count >= at + 4 ? loadUnaligned(fromByteOffset: at, as: UInt32.self) : 0 }
    @inline(__always) func i32(_ at: Int = 0) -> Int32 { Int32(bitPattern: u32(at)) }
    /// A NUL-terminated string attribute.
    func cString() -> String {
        let end = firstIndex(of: 0) ?? count
        return String(decoding: UnsafeRawBufferPointer(rebasing: self[0..<end]), as: UTF8.self)
    }
    /// A link-layer address attribute as `ip` prints it: lower-case hex bytes joined by colons.
    func hardwareAddress() -> String {
        map { b in
            let s = String(b, radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined(separator: ":")
    }
    /// An address attribute (4 or 16 bytes, network order).
    @inline(__always) func ipAddress(at: Int = 0) -> IPAddress? {
        let n = count - at
        if n == 4 {
            return IPAddress(v4: UInt32(bigEndian: loadUnaligned(fromByteOffset: at, as: UInt32.self)))
        } else if n == 16 {
            let hi = UInt64(bigEndian: loadUnaligned(fromByteOffset: at, as: UInt64.self))
            let lo = UInt64(bigEndian: loadUnaligned(fromByteOffset: at + 8, as: UInt64.self))
            return IPAddress(v6: UInt128(hi) << 64 | UInt128(lo))
        }
        return nil
    }
}

/// Kernel header constants arrive in Swift either as Int or as enum-like structs with a
/// rawValue; `K` turns both into Int so the decoders can switch over them uniformly.
@inline(__always) func K<T: BinaryInteger>(_ x: T) -> Int { Int(x) }
@inline(__always) func K<T: RawRepresentable>(_ x: T) -> Int where T.RawValue: BinaryInteger { Int(x.rawValue) }

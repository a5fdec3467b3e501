import CNetlink
import Glibc

/// The messages of one received netlink datagram: nlmsghdr framing (NLMSG_OK / NLMSG_NEXT).
/// Pure, no system calls: `NetlinkSocket` hands it what recv() returned, the fuzz target and
/// the tests hand it bytes. A message whose length is shorter than its header or runs past
/// the end ends the walk, as NLMSG_OK does.
struct NetlinkDatagram {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Calls `body` with each message and its sequence number until it returns true; returns
    /// whether it did.
    func forEachMessage(_ body: (NetlinkMessage, UInt32) throws -> Bool) rethrows -> Bool {
        let headerSize = NetlinkSocket.headerSize
        let n = bytes.count
        var off = 0
        while off + headerSize <= n {
            let h = bytes.loadUnaligned(fromByteOffset: off, as: nlmsghdr.self)
            let len = Int(h.nlmsg_len)
            guard len >= headerSize, len <= n - off else { return false }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(off + headerSize)..<(off + len)])
            off += Int(cnl_nlmsg_align(Int32(truncatingIfNeeded: len)))
            if try body(NetlinkMessage(type: h.nlmsg_type, flags: h.nlmsg_flags, payload: payload), h.nlmsg_seq) { return true }
        }
        return false
    }
}

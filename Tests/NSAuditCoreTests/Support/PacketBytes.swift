import Foundation
import NSAuditCore
import Testing

/// Hand-built packets: link headers, IPv4/IPv6, transport headers.
enum PacketBytes {
    static func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
    static func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }

    /// LINUX_SLL2: protocol, reserved, ifindex, hatype, pkttype, halen, address(8).
    static func sll2(ifindex: Int32, pkttype: UInt8, etherType: UInt16, hatype: UInt16 = 1) -> [UInt8] {
        be16(etherType) + [0, 0] + be32(UInt32(bitPattern: ifindex)) + be16(hatype) + [pkttype, 6] + [2, 0, 0, 0, 0, 1, 0, 0]
    }
    static func ipv4(_ src: String, _ dst: String, proto: UInt8, payload: [UInt8], fragOffset: UInt16 = 0) -> [UInt8] {
        let s = IPAddress(src)!, d = IPAddress(dst)!
        return [0x45, 0] + be16(UInt16(20 + payload.count)) + [0, 1] + be16(fragOffset) + [64, proto, 0, 0]
            + s.bytes + d.bytes + payload
    }
    static func ipv6(_ src: String, _ dst: String, next: UInt8, payload: [UInt8]) -> [UInt8] {
        [0x60, 0, 0, 0] + be16(UInt16(payload.count)) + [next, 64] + IPAddress(src)!.bytes + IPAddress(dst)!.bytes + payload
    }
    static func tcp(_ sport: UInt16, _ dport: UInt16, flags: UInt8) -> [UInt8] {
        be16(sport) + be16(dport) + be32(1) + be32(0) + [0x50, flags] + be16(65535) + [0, 0, 0, 0]
    }
    static func udp(_ sport: UInt16, _ dport: UInt16) -> [UInt8] { be16(sport) + be16(dport) + be16(8) + [0, 0] }
    static func icmpEcho(type: UInt8, id: UInt16, seq: UInt16) -> [UInt8] { [type, 0, 0, 0] + be16(id) + be16(seq) }

    /// A TCP packet over SLL2 (IPv4 or IPv6 by address).
    static func tcpPacket(_ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16, flags: UInt8,
                          ifindex: Int32, out: Bool) -> [UInt8] {
        let t = tcp(sport, dport, flags: flags)
        if src.contains(":") {
            return sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x86dd) + ipv6(src, dst, next: 6, payload: t)
        }
        return sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x0800) + ipv4(src, dst, proto: 6, payload: t)
    }
    static func icmpPacket(_ src: String, _ dst: String, request: Bool, id: UInt16, ifindex: Int32, out: Bool) -> [UInt8] {
        sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x0800)
            + ipv4(src, dst, proto: 1, payload: icmpEcho(type: request ? 8 : 0, id: id, seq: 1))
    }
    static func udpPacket(_ src: String, _ sport: UInt16, _ dst: String, _ dport: UInt16, ifindex: Int32, out: Bool) -> [UInt8] {
        sll2(ifindex: ifindex, pkttype: out ? 4 : 0, etherType: 0x0800) + ipv4(src, dst, proto: 17, payload: udp(sport, dport))
    }
}

import CNetlink
import Glibc
import NSAuditCore

/// RTM_GETRULE dump → `Rule` values (fib_rule_hdr + FRA_* attributes), IPv4 and IPv6.
extension NetlinkSocket {
    func dumpRules(family: IPAddress.Family) throws -> (rules: [Rule], outcome: DumpOutcome) {
        var out: [Rule] = []
        var header = fib_rule_hdr()
        header.family = family.rawValue
        let outcome = try dump(type: UInt16(RTM_GETRULE), body: requestBody(header)) { m in
            guard Int32(m.type) == RTM_NEWRULE, let h = m.payload.familyHeader(fib_rule_hdr.self) else { return }
            if let r = Self.decodeRule(h, m.payload) { out.append(r) }
        }
        return (out, outcome)
    }

    /// `h`: the message's fib_rule_hdr; `p`: the whole payload (header, then FRA_* attributes).
    static func decodeRule(_ h: fib_rule_hdr, _ p: UnsafeRawBufferPointer) -> Rule? {
        guard let family = IPAddress.Family(rawValue: h.family) else { return nil }
        let dstLen = Int(h.dst_len), srcLen = Int(h.src_len)
        var rule = Rule(family: family, priority: 0, table: UInt32(h.table), action: h.action)
        rule.tos = h.tos
        rule.flags = h.flags
        forEachAttribute(p, after: fib_rule_hdr.self) { t, a in
            switch Int(t) {
            case K(FRA_PRIORITY): rule.priority = a.u32()
            case K(FRA_TABLE): rule.table = a.u32()
            case K(FRA_DST): if let x = a.ipAddress() { rule.dst = IPPrefix(x, dstLen) }
            case K(FRA_SRC): if let x = a.ipAddress() { rule.src = IPPrefix(x, srcLen) }
            case K(FRA_IIFNAME): rule.iif = a.cString()
            case K(FRA_OIFNAME): rule.oif = a.cString()
            case K(FRA_GOTO): rule.gotoTarget = a.u32()
            case K(FRA_FWMARK): rule.fwmark = a.u32()
            case K(FRA_FWMASK): rule.fwmask = a.u32()
            case K(FRA_FLOW): rule.realms = a.u32()
            case K(FRA_SUPPRESS_PREFIXLEN): if a.i32() >= 0 { rule.suppressPrefixlen = a.i32() }  // -1: not set
            case K(FRA_SUPPRESS_IFGROUP): if a.i32() != -1 { rule.suppressIfgroup = a.u32() }  // -1: not set
            case K(FRA_L3MDEV): rule.l3mdev = a.u8() != 0
            case K(FRA_UID_RANGE): rule.uidrange = UIDRange(a.u32(0), a.u32(4))
            case K(FRA_PROTOCOL): rule.protocol = a.u8()
            case K(FRA_IP_PROTO): rule.ipproto = a.u8()
            case K(FRA_SPORT_RANGE): rule.sport = PortRange(a.u16(0), a.u16(2))
            case K(FRA_DPORT_RANGE): rule.dport = PortRange(a.u16(0), a.u16(2))
            default: break
            }
        }
        return rule
    }
}

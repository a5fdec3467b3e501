import CNetlink
import Glibc
import NSAuditCore

/// NFT_MSG_GETTABLE dump over NETLINK_NETFILTER (nfnetlink, the nf_tables subsystem): the
/// namespace's nftables tables, as `nft list tables` lists them.
extension NetlinkSocket {
    /// nfgenmsg family (NFPROTO_*, from <linux/netfilter.h>, which cannot be imported beside
    /// glibc's <netinet/in.h>) → the name `nft` uses.
    static func nftFamilyName(_ f: UInt8) -> String {
        switch f {
        case 1: "inet"; case 2: "ip"; case 3: "arp"; case 5: "netdev"; case 7: "bridge"; case 10: "ip6"
        default: "family-\(f)"
        }
    }

    /// "FAMILY NAME" of every table (all families: NFPROTO_UNSPEC).
    func dumpNftablesTables() throws -> [String] {
        var req = nfgenmsg()
        req.nfgen_family = 0   // NFPROTO_UNSPEC: every family
        req.version = UInt8(NFNETLINK_V0)
        let type = UInt16(NFNL_SUBSYS_NFTABLES) << 8 | UInt16(K(NFT_MSG_GETTABLE))
        let newTable = UInt16(NFNL_SUBSYS_NFTABLES) << 8 | UInt16(K(NFT_MSG_NEWTABLE))
        var out: [String] = []
        try dump(type: type, body: requestBody(req)) { m in
            guard m.type == newTable, let h = m.payload.familyHeader(nfgenmsg.self) else { return }
            var name: String?
            forEachAttribute(m.payload, after: nfgenmsg.self) { t, a in
                if Int(t) == K(NFTA_TABLE_NAME) { name = a.cString() }
            }
            if let name { out.append("\(Self.nftFamilyName(h.nfgen_family)) \(name)") }
        }
        return out
    }
}

/// What a namespace knows below and beside routing: its neighbour (ARP / NDP) entries, the
/// forwarding databases of its bridges, and whether netfilter could filter its packets.
/// Recorded by the collector for `nsaudit trace` (which bridge port leads to an address,
/// whether a next hop is known to be unreachable, which hops filtering could change).
/// Snapshots older than these fields read them as nil: not recorded.

/// NUD_* neighbour states (ndm_state), with the names `ip neigh` prints.
public enum NeighborState {
    public static let incomplete: UInt16 = 0x01, reachable: UInt16 = 0x02, stale: UInt16 = 0x04
    public static let delay: UInt16 = 0x08, probe: UInt16 = 0x10, failed: UInt16 = 0x20
    public static let noarp: UInt16 = 0x40, permanent: UInt16 = 0x80
    public static let names: [(UInt16, String)] = [
        (incomplete, "INCOMPLETE"), (reachable, "REACHABLE"), (stale, "STALE"), (delay, "DELAY"),
        (probe, "PROBE"), (failed, "FAILED"), (noarp, "NOARP"), (permanent, "PERMANENT"),
    ]
    /// `ip neigh`'s names for a state ("NONE" for 0).
    public static func names(_ state: UInt16) -> [String] {
        state == 0 ? ["NONE"] : names.filter { state & $0.0 != 0 }.map { $0.1 }
    }
    /// The state of a bridge FDB entry as `bridge fdb` names it: a local address of the
    /// bridge or a port (NUD_PERMANENT) is "permanent", a static entry (NUD_NOARP) "static",
    /// an expired learned one "stale", a learned one "dynamic".
    public static func fdbName(_ state: UInt16) -> String {
        state & permanent != 0 ? "permanent" : state & noarp != 0 ? "static" : state & stale != 0 ? "stale" : "dynamic"
    }
}

/// NTF_* neighbour flags (ndm_flags), and the NDA_FLAGS_EXT bits shifted up by 8.
public enum NeighborFlags {
    /// NTF_SELF: a device's own entry.
    public static let use: UInt32 = 0x01, selfEntry: UInt32 = 0x02, master: UInt32 = 0x04
    public static let proxy: UInt32 = 0x08, externLearned: UInt32 = 0x10, offloaded: UInt32 = 0x20
    public static let sticky: UInt32 = 0x40, router: UInt32 = 0x80
    /// NTF_EXT_MANAGED, NTF_EXT_LOCKED (NDA_FLAGS_EXT) << 8.
    public static let managed: UInt32 = 0x100, locked: UInt32 = 0x200
    public static let names: [(UInt32, String)] = [
        (use, "use"), (selfEntry, "self"), (master, "master"), (proxy, "proxy"),
        (externLearned, "extern_learn"), (offloaded, "offload"), (sticky, "sticky"), (router, "router"),
        (managed, "managed"), (locked, "locked"),
    ]
}

/// An entry of the IPv4 ARP or IPv6 neighbour table (RTM_NEWNEIGH, `ip neigh`).
public struct Neighbor: Codable, Sendable, Equatable {
    /// The device (ndm_ifindex).
    public var index: Int32
    public var family: IPAddress.Family
    /// NDA_DST.
    public var address: IPAddress
    /// NDA_LLADDR, lower-case hex with colons; absent while unresolved (INCOMPLETE, FAILED).
    public var lladdr: String?
    /// NUD_* bits (`NeighborState`).
    public var state: UInt16
    /// NTF_* bits (`NeighborFlags`).
    public var flags: UInt32

    public init(index: Int32, address: IPAddress, lladdr: String? = nil, state: UInt16, flags: UInt32 = 0) {
        self.index = index; self.family = address.family; self.address = address
        self.lladdr = lladdr; self.state = state; self.flags = flags
    }

    public var stateNames: [String] { NeighborState.names(state) }
    /// Resolution failed: the kernel gave up on this address (packets to it are dropped
    /// until a new attempt succeeds).
    public var isFailed: Bool { state & NeighborState.failed != 0 }
    /// The link-layer address is known (any state but INCOMPLETE, FAILED, NONE).
    public var isResolved: Bool { lladdr != nil && state & (NeighborState.incomplete | NeighborState.failed) == 0 && state != 0 }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case index, family, address, lladdr, state, flags
    }
}

/// An entry of a forwarding database (RTM_NEWNEIGH with AF_BRIDGE, `bridge fdb`): bridge
/// entries (with the bridge in `master`) say which port a MAC address is behind;
/// a device's own entries (NTF_SELF) list its unicast and multicast addresses.
public struct FDBEntry: Codable, Sendable, Equatable {
    /// NDA_LLADDR.
    public var mac: String
    /// The device the entry is on (ndm_ifindex): a bridge port, or the bridge itself for its
    /// own addresses.
    public var index: Int32
    /// NDA_MASTER: the bridge holding the entry.
    public var master: Int32?
    /// NDA_VLAN.
    public var vlan: UInt16?
    /// NUD_* bits (`NeighborState.fdbName`).
    public var state: UInt16
    /// NTF_* bits (`NeighborFlags`).
    public var flags: UInt32
    /// NDA_DST: the remote of a VXLAN entry.
    public var dst: IPAddress?

    public init(mac: String, index: Int32, master: Int32? = nil, vlan: UInt16? = nil, state: UInt16, flags: UInt32 = 0) {
        self.mac = mac; self.index = index; self.master = master; self.vlan = vlan
        self.state = state; self.flags = flags
    }

    public var stateName: String { NeighborState.fdbName(state) }
    /// An entry of a bridge's database (the kernel names the bridge in NDA_MASTER), not a
    /// device's own address list (NTF_SELF, no master).
    public var isBridgeEntry: Bool { master != nil }
    /// One of the bridge's or a port's own addresses: frames to it are for the bridge host.
    public var isLocal: Bool { state & NeighborState.permanent != 0 }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mac, index, master, vlan, state, flags, dst
    }
}

/// Whether netfilter could act on a namespace's packets: the tables present in it, per
/// source. nsaudit does not evaluate rules; a trace marks hops through a namespace with
/// tables "filtering not evaluated".
public struct NetfilterState: Codable, Sendable, Equatable {
    /// nf_tables tables (`nft list tables`; iptables-nft keeps its tables here too).
    public var nftables: NetfilterTables
    /// iptables-legacy: /proc/net/ip_tables_names in the namespace.
    public var iptablesLegacy: NetfilterTables
    /// ip6tables-legacy: /proc/net/ip6_tables_names.
    public var ip6tablesLegacy: NetfilterTables
    /// arptables-legacy: /proc/net/arp_tables_names.
    public var arptablesLegacy: NetfilterTables

    public init(nftables: NetfilterTables, iptablesLegacy: NetfilterTables, ip6tablesLegacy: NetfilterTables,
                arptablesLegacy: NetfilterTables) {
        self.nftables = nftables; self.iptablesLegacy = iptablesLegacy
        self.ip6tablesLegacy = ip6tablesLegacy; self.arptablesLegacy = arptablesLegacy
    }

    public var all: [NetfilterTables] { [nftables, iptablesLegacy, ip6tablesLegacy, arptablesLegacy] }

    /// true: some source has a table; false: every source was read and has none; nil: none
    /// found but some source could not be read.
    public var hasTables: Bool? {
        if all.contains(where: { !($0.tables ?? []).isEmpty }) { return true }
        return all.allSatisfy { $0.tables != nil } ? false : nil
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case nftables, iptablesLegacy = "iptables_legacy", ip6tablesLegacy = "ip6tables_legacy"
        case arptablesLegacy = "arptables_legacy"
    }
}

/// The tables one netfilter source reported, or why it could not be read.
public struct NetfilterTables: Codable, Sendable, Equatable {
    /// How they were read: "nfnetlink" (an NFT_MSG_GETTABLE dump) or the /proc file.
    public var source: String
    /// Table names ("inet filter" for nftables: family and name); nil when unknown.
    public var tables: [String]?
    /// Why `tables` is unknown.
    public var unknown: String?

    public init(source: String, tables: [String]) { self.source = source; self.tables = tables }
    public init(source: String, unknown: String) { self.source = source; self.unknown = unknown }
    init(source: String, tables: [String]?, unknown: String?) {
        self.source = source; self.tables = tables; self.unknown = unknown
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case source, tables, unknown }
}

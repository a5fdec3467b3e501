/// The routing state of a host: every network namespace with its links, addresses, policy
/// rules, routes (all tables), nexthop objects, routing sysctls and sockets.
/// JSON form: `schema/snapshot.schema.json`; written by `SnapshotWriter`, read by
/// `SnapshotReader` (the byte-level `SnapshotDecoder`, with `JSONDecoder` as its fallback).
///
/// Member names: each model type's `CodingKeys` (declared in the order `SnapshotWriter` writes
/// the members) are the one list: `Codable`, the writer and the decoder's tables all take the
/// names from them, and `SnapshotWrittenKeys` names what the writer adds for people. The
/// schema test checks the schema against these lists.
public struct Snapshot: Codable, Sendable, Equatable {
    public static let schemaVersion = "nsaudit.snapshot/v1"

    public var schema: String
    public var generator: String
    public var host: String
    public var kernel: String
    public var takenAt: String
    /// What the model depends on beyond routing state (`kernel_facts`); a file without them
    /// gets `KernelFacts.assumed`. Every namespace carries a copy (`NamespaceSnapshot.kernel`).
    public var kernelFacts: KernelFacts { didSet { shareKernelFacts() } }
    public var metadata: SnapshotMetadata?
    public var namespaces: [NamespaceSnapshot] { didSet { shareKernelFacts() } }

    public init(generator: String, host: String, kernel: String, takenAt: String, kernelFacts: KernelFacts? = nil,
                metadata: SnapshotMetadata? = nil, namespaces: [NamespaceSnapshot]) {
        self.schema = Snapshot.schemaVersion
        self.generator = generator; self.host = host; self.kernel = kernel
        self.takenAt = takenAt; self.metadata = metadata; self.namespaces = namespaces
        self.kernelFacts = kernelFacts ?? .assumed(release: kernel)
        shareKernelFacts()
    }

    /// Gives every namespace the snapshot's kernel facts (the model reads them there).
    private mutating func shareKernelFacts() {
        for i in namespaces.indices where namespaces[i].kernel != kernelFacts { namespaces[i].kernel = kernelFacts }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case schema, generator, host, kernel, takenAt = "taken_at", kernelFacts = "kernel_facts", metadata, namespaces
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(generator: try c.decode(String.self, forKey: .generator), host: try c.decode(String.self, forKey: .host),
                  kernel: try c.decode(String.self, forKey: .kernel), takenAt: try c.decode(String.self, forKey: .takenAt),
                  kernelFacts: try c.decodeIfPresent(KernelFacts.self, forKey: .kernelFacts),
                  metadata: try c.decodeIfPresent(SnapshotMetadata.self, forKey: .metadata),
                  namespaces: try c.decode([NamespaceSnapshot].self, forKey: .namespaces))
        schema = try c.decode(String.self, forKey: .schema)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(schema, forKey: .schema); try c.encode(generator, forKey: .generator)
        try c.encode(host, forKey: .host); try c.encode(kernel, forKey: .kernel); try c.encode(takenAt, forKey: .takenAt)
        if kernelFacts.recorded { try c.encode(kernelFacts, forKey: .kernelFacts) }
        try c.encodeIfPresent(metadata, forKey: .metadata)
        try c.encode(namespaces, forKey: .namespaces)
    }

    /// The namespace with this id or name.
    public func namespace(_ name: String) -> NamespaceSnapshot? {
        namespaces.first { $0.id == name } ?? namespaces.first { $0.names.contains(name) }
    }
}

/// Where a snapshot came from; hand-written fixtures say so here.
public struct SnapshotMetadata: Codable, Sendable, Equatable {
    /// "kernel" when recorded by `nsaudit snapshot`, "hand-written" otherwise.
    public var source: String
    public var lab: String?
    public var note: String?
    public init(source: String, lab: String? = nil, note: String? = nil) {
        self.source = source; self.lab = lab; self.note = note
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case source, lab, note }
}

public struct NamespaceSnapshot: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable { case ok, vanished, denied, error }

    /// Stable label: the first name (`ip netns list`), `root`, or `pid:PID:COMM`.
    public var id: String
    public var names: [String]
    public var inode: UInt64
    public var foundBy: [Discovery]
    public var status: Status
    public var error: String?
    /// False when a dump kept being interrupted by concurrent changes (NLM_F_DUMP_INTR).
    public var consistent: Bool
    public var dumpRetries: Int
    /// netnsid (as this namespace numbers its peers) → namespace id in this snapshot.
    public var nsids: [String: String]
    public var links: [Link]
    public var addresses: [Address]
    public var rules: [Rule]
    public var routes: [Route]
    public var nexthops: [Nexthop]
    /// The routing sysctls, typed (JSON: `sysctls`, by sysctl(8) names).
    public var settings: RoutingSettings
    public var sockets: [Socket]
    /// IPv4 and IPv6 neighbour entries; nil when not recorded (older snapshots).
    public var neighbors: [Neighbor]?
    /// Forwarding database entries (bridges, and devices' own addresses); nil when not recorded.
    public var fdb: [FDBEntry]?
    /// The netfilter tables present; nil when not recorded.
    public var netfilter: NetfilterState?
    /// The kernel facts of the snapshot this namespace belongs to (not written per namespace).
    public var kernel: KernelFacts = .assumed()

    public init(id: String, names: [String] = [], inode: UInt64 = 0, foundBy: [Discovery] = [],
                status: Status = .ok, error: String? = nil) {
        self.id = id; self.names = names; self.inode = inode; self.foundBy = foundBy
        self.status = status; self.error = error; consistent = true; dumpRetries = 0
        nsids = [:]; links = []; addresses = []; rules = []; routes = []; nexthops = []
        settings = RoutingSettings(); sockets = []
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, names, inode, foundBy = "found_by", status, error, consistent
        case dumpRetries = "dump_retries", nsids, links, addresses, rules, routes, nexthops
        case settings = "sysctls", sockets, neighbors, fdb, netfilter
    }

    public func link(index: Int32) -> Link? { links.first { $0.index == index } }
    public func link(named name: String) -> Link? { links.first { $0.name == name } }
    public func linkName(_ index: Int32?) -> String? {
        guard let index else { return nil }
        return link(index: index)?.name
    }
}

public struct Discovery: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case root, named, docker, process }
    public var kind: Kind
    public var path: String
    public var pid: Int32?
    public var comm: String?
    public init(kind: Kind, path: String, pid: Int32? = nil, comm: String? = nil) {
        self.kind = kind; self.path = path; self.pid = pid; self.comm = comm
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case kind, path, pid, comm }
}

public struct Link: Codable, Sendable, Equatable {
    public var index: Int32
    public var name: String
    /// IFLA_INFO_KIND: veth, bridge, vrf, macvlan, vxlan, dummy, ...; nil for plain devices.
    public var kind: String?
    public var slaveKind: String?
    /// ifi_flags (IFF_*).
    public var flags: UInt32
    /// IFLA_OPERSTATE as `ip` names it (UP, DOWN, UNKNOWN, LOWERLAYERDOWN, ...).
    public var operstate: String
    public var carrier: Bool?
    public var mtu: UInt32
    public var linkType: UInt16
    public var mac: String?
    public var master: Int32?
    public var vrfTable: UInt32?
    /// IFLA_LINK: for veth the peer's ifindex (in `peerNetns` when set).
    public var link: Int32?
    public var linkNetnsid: Int32?
    /// The peer's namespace id, resolved from `linkNetnsid`.
    public var peerNetns: String?
    public var group: UInt32
    /// IFLA_PARENT_DEV_BUS_NAME / IFLA_PARENT_DEV_NAME: the bus and device of the hardware
    /// behind the link ("pci", "0000:00:12.0"; "virtio", "virtio2"); nil for virtual devices.
    public var parentBus: String?
    public var parentDev: String?

    public init(index: Int32, name: String, flags: UInt32 = 0, operstate: String = "UNKNOWN",
                mtu: UInt32 = 1500, linkType: UInt16 = 1) {
        self.index = index; self.name = name; self.flags = flags; self.operstate = operstate
        self.mtu = mtu; self.linkType = linkType; group = 0
    }

    public var adminUp: Bool { flags & LinkFlags.up != 0 }
    /// IFF_RUNNING: carrier present and operational (what the FIB treats as not linkdown).
    public var lowerUp: Bool { flags & LinkFlags.lowerUp != 0 }
    public var isLoopback: Bool { flags & LinkFlags.loopback != 0 }
    public var isVRF: Bool { kind == "vrf" }
    /// Backed by hardware: the kernel names a parent device, or an Ethernet device has no
    /// IFLA_LINKINFO kind (every virtual driver reports one; a kernel before 5.15 reports no
    /// parent device).
    public var isHardware: Bool { parentDev != nil || (kind == nil && linkType == 1 && !isLoopback) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case index, name, kind, slaveKind = "slave_kind", flags, operstate, carrier, mtu
        case linkType = "link_type", mac, master, vrfTable = "vrf_table", link
        case linkNetnsid = "link_netnsid", peerNetns = "peer_netns", group
        case parentBus = "parent_bus", parentDev = "parent_dev"
    }
}

public struct Address: Codable, Sendable, Equatable {
    public var index: Int32
    public var family: IPAddress.Family
    public var local: IPAddress
    /// IFA_ADDRESS when it differs from IFA_LOCAL (point-to-point peer).
    public var peer: IPAddress?
    public var prefixlen: UInt8
    public var scope: UInt8
    /// IFA_FLAGS (IFA_F_*).
    public var flags: UInt32
    public var broadcast: IPAddress?
    public var label: String?
    public var validLifetime: UInt32?
    public var preferredLifetime: UInt32?

    public init(index: Int32, local: IPAddress, prefixlen: UInt8, scope: UInt8 = 0, flags: UInt32 = 0) {
        self.index = index; self.family = local.family; self.local = local
        self.prefixlen = prefixlen; self.scope = scope; self.flags = flags
    }

    public var prefix: IPPrefix { IPPrefix(peer ?? local, Int(prefixlen)) }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case index, family, local, peer, prefixlen, scope, flags, broadcast, label
        case validLifetime = "valid_lft", preferredLifetime = "preferred_lft"
    }
}

public struct PortRange: Codable, Sendable, Equatable, Hashable {
    public var start: UInt16
    public var end: UInt16
    public init(_ start: UInt16, _ end: UInt16) { self.start = start; self.end = end }
    public func contains(_ p: UInt16) -> Bool { p >= start && p <= end }
    typealias CodingKeys = RangeCodingKeys
}

/// The members of a range (PortRange, UIDRange).
enum RangeCodingKeys: String, CodingKey, CaseIterable { case start, end }

public struct UIDRange: Codable, Sendable, Equatable, Hashable {
    public var start: UInt32
    public var end: UInt32
    public init(_ start: UInt32, _ end: UInt32) { self.start = start; self.end = end }
    public func contains(_ u: UInt32) -> Bool { u >= start && u <= end }
    typealias CodingKeys = RangeCodingKeys
}

public struct Rule: Codable, Sendable, Equatable {
    public var family: IPAddress.Family
    public var priority: UInt32
    /// The table for `lookup` actions (FRA_TABLE, or rtm_table when FRA_TABLE is absent).
    public var table: UInt32
    /// FR_ACT_*.
    public var action: UInt8
    public var gotoTarget: UInt32?
    public var src: IPPrefix?
    public var dst: IPPrefix?
    public var iif: String?
    public var oif: String?
    /// FIB_RULE_* flags (invert, iif/oif detached).
    public var flags: UInt32
    public var fwmark: UInt32?
    public var fwmask: UInt32?
    /// The tos/dsfield selector.
    public var tos: UInt8
    public var ipproto: UInt8?
    public var sport: PortRange?
    public var dport: PortRange?
    public var uidrange: UIDRange?
    public var l3mdev: Bool
    /// nil when not set (the kernel's -1).
    public var suppressPrefixlen: Int32?
    /// nil when not set (the kernel's -1).
    public var suppressIfgroup: UInt32?
    public var `protocol`: UInt8
    public var realms: UInt32?

    public init(family: IPAddress.Family, priority: UInt32, table: UInt32, action: UInt8 = RuleAction.toTable) {
        self.family = family; self.priority = priority; self.table = table; self.action = action
        flags = 0; tos = 0; l3mdev = false; `protocol` = 0
    }

    public var invert: Bool { flags & RuleFlags.invert != 0 }

    /// No selector, no `not`, no suppression: the rule matches every packet of its family
    /// (an l3mdev rule still needs an l3mdev flow).
    public var hasNoSelector: Bool {
        src == nil && dst == nil && iif == nil && oif == nil && fwmark == nil && tos == 0 && (ipproto ?? 0) == 0
            && sport == nil && dport == nil && uidrange == nil && !invert
            && (suppressPrefixlen ?? -1) < 0 && (suppressIfgroup ?? UInt32.max) == UInt32.max
    }

    /// Whether `rules` hold exactly the three default IPv4 rules (local 0, main 32766,
    /// default 32767): the kernel then keeps local and main in one trie (no custom rules).
    public static func onlyDefaults4(_ rules: [Rule]) -> Bool {
        let r4 = rules.filter { $0.family == .v4 }.sorted { $0.priority < $1.priority }
        let defaults: [(UInt32, UInt32)] = [(0, Table.local), (32766, Table.main), (32767, Table.default)]
        return r4.count == 3 && zip(r4, defaults).allSatisfy { r, d in
            r.priority == d.0 && r.table == d.1 && r.action == RuleAction.toTable && r.hasNoSelector && !r.l3mdev
        }
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case family, priority, table, action, gotoTarget = "goto", src, dst, iif, oif, flags
        case fwmark, fwmask, tos, ipproto, sport, dport, uidrange, l3mdev
        case suppressPrefixlen = "suppress_prefixlength", suppressIfgroup = "suppress_ifgroup"
        case `protocol`, realms
    }
}

public struct RouteNexthop: Codable, Sendable, Equatable {
    public var gateway: IPAddress?
    public var oif: Int32?
    /// rtnh_hops + 1, as `ip` prints it.
    public var weight: UInt16
    /// RTNH_F_* flags.
    public var flags: UInt32
    public init(gateway: IPAddress?, oif: Int32?, weight: UInt16 = 1, flags: UInt32 = 0) {
        self.gateway = gateway; self.oif = oif; self.weight = weight; self.flags = flags
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case gateway, oif, weight, flags }
}

public struct Route: Codable, Sendable, Equatable {
    public var family: IPAddress.Family
    public var table: UInt32
    public var type: RouteType
    public var dst: IPPrefix
    /// IPv6 source-specific routes (RTA_SRC with rtm_src_len).
    public var src: IPPrefix?
    public var tos: UInt8
    public var `protocol`: UInt8
    public var scope: UInt8
    public var metric: UInt32
    public var prefsrc: IPAddress?
    public var gateway: IPAddress?
    public var oif: Int32?
    /// rtm_flags (RTNH_F_* in the low byte: dead, onlink, linkdown...).
    public var flags: UInt32
    public var nexthops: [RouteNexthop]?
    public var nhid: UInt32?
    /// RTAX_* metrics by name (mtu, advmss, hoplimit, ...).
    public var metrics: [String: UInt32]?
    /// IPv6 router preference (RTA_PREF).
    public var pref: UInt8?

    public init(family: IPAddress.Family, table: UInt32, type: RouteType, dst: IPPrefix,
                protocol: UInt8 = 4, scope: UInt8 = 0, metric: UInt32 = 0) {
        self.family = family; self.table = table; self.type = type; self.dst = dst
        tos = 0; self.protocol = `protocol`; self.scope = scope; self.metric = metric; flags = 0
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case family, table, type, dst, src, tos, `protocol`, scope, metric, prefsrc, gateway
        case oif, flags, nexthops, nhid, metrics, pref
    }
}

public struct NexthopGroupMember: Codable, Sendable, Equatable {
    public var id: UInt32
    public var weight: UInt16
    public init(id: UInt32, weight: UInt16) { self.id = id; self.weight = weight }
    enum CodingKeys: String, CodingKey, CaseIterable { case id, weight }
}

/// A nexthop object (`ip nexthop`): a single path or a group of others.
public struct Nexthop: Codable, Sendable, Equatable {
    public var id: UInt32
    public var family: UInt8
    public var gateway: IPAddress?
    public var oif: Int32?
    public var blackhole: Bool
    /// RTNH_F_* flags.
    public var flags: UInt32
    public var `protocol`: UInt8
    /// nhm_scope (link for a device nexthop, host for blackhole/groups).
    public var scope: UInt8?
    public var group: [NexthopGroupMember]?
    /// "mpath" or "resilient" for groups.
    public var groupType: String?
    public var fdb: Bool

    public init(id: UInt32, family: UInt8 = 0) {
        self.id = id; self.family = family; blackhole = false; flags = 0; `protocol` = 0; fdb = false
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case id, family, gateway, oif, blackhole, flags, `protocol`, scope, group
        case groupType = "group_type", fdb
    }
}

/// A TCP or UDP socket seen through sock_diag: evidence of real flows.
public struct Socket: Codable, Sendable, Equatable {
    public var `protocol`: String
    public var family: IPAddress.Family
    public var state: String
    public var local: IPAddress
    public var localPort: UInt16
    public var remote: IPAddress
    public var remotePort: UInt16
    /// SO_BINDTODEVICE / VRF binding, as an ifindex of this namespace.
    public var boundIf: Int32?
    public var uid: UInt32?
    public var inode: UInt32?

    public init(protocol: String, family: IPAddress.Family, state: String, local: IPAddress,
                localPort: UInt16, remote: IPAddress, remotePort: UInt16) {
        self.protocol = `protocol`; self.family = family; self.state = state
        self.local = local; self.localPort = localPort; self.remote = remote; self.remotePort = remotePort
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case `protocol`, family, state, local, localPort = "local_port", remote
        case remotePort = "remote_port", boundIf = "bound_if", uid, inode
    }
}

/// Members `SnapshotWriter` adds for people and tools reading the JSON (names for numbers,
/// device names for ifindexes): not part of the model, skipped by the readers.
enum SnapshotWrittenKeys: String, CodingKey, CaseIterable {
    /// Link and address flags by name.
    case flagNames = "flag_names"
    /// Link: IFF_UP.
    case adminUp = "admin_up"
    /// The device of an address, route, route nexthop or nexthop object.
    case dev
    /// Rule: FR_ACT_* by name.
    case actionName = "action_name"
    /// Socket: the device of `bound_if`.
    case boundDev = "bound_dev"
    /// Neighbour and FDB entry: NUD_* state by name.
    case stateNames = "state_names"
    /// FDB entry: the device of `master` (the bridge).
    case masterDev = "master_dev"
}

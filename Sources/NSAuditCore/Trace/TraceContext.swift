import FoundationEssentials
import Synchronization

/// What a trace needs of the host, built once and shared by every flow traced on it: the
/// snapshot, a FIB model per namespace (built when a trace first enters the namespace, or all
/// at once for a batch) and the address owners (which namespace and device hold an address:
/// who answers ARP/ND behind a link).
public final class TraceContext: @unchecked Sendable {
    public let snapshot: Snapshot
    let nsIndex: [String: Int]
    /// Every address of every namespace → (namespace, ifindex).
    let owners: [IPAddress: [(ns: Int, link: Int32)]]
    /// Every listening socket of the host, by (protocol name, port): where a listener for a
    /// port runs when the destination has none.
    let listeners: [String: [(ns: Int, socket: Socket)]]
    private let models: Mutex<[RoutingModel?]>
    /// Matched routes as text, by what the text depends on (see `routeText`).
    private let routeTexts = Mutex<[RouteTextKey: String]>([:])
    private let build: ModelBuild

    /// How the FIB models are built: `.standard` with every IPv4 accelerator (for many
    /// lookups: batches, reports); `.fewLookups` without the ones that only pay for
    /// themselves over many lookups (the leaves and the /24 output block index), for a
    /// single trace, whose few lookups the general path answers alike.
    public enum ModelBuild: Sendable { case standard, fewLookups }

    /// `models`: FIB models already built for some namespaces (by id), reused as they are.
    public init(_ snapshot: Snapshot, models known: [String: RoutingModel] = [:], build: ModelBuild = .standard) {
        self.snapshot = snapshot
        self.build = build
        var listeners: [String: [(ns: Int, socket: Socket)]] = [:]
        for (i, ns) in snapshot.namespaces.enumerated() {
            for s in ns.sockets where s.isListening { listeners["\(s.protocol)/\(s.localPort)", default: []].append((i, s)) }
        }
        self.listeners = listeners
        var index: [String: Int] = [:]
        var owners: [IPAddress: [(ns: Int, link: Int32)]] = [:]
        for (i, ns) in snapshot.namespaces.enumerated() {
            index[ns.id] = i
            for a in ns.addresses { owners[a.local, default: []].append((i, a.index)) }
        }
        nsIndex = index
        self.owners = owners
        models = Mutex(snapshot.namespaces.map { known[$0.id] })
        filtering = snapshot.namespaces.map { ns in ns.netfilter.map { $0.hasTables != false } ?? false }
    }

    /// The namespace with this id or name.
    public func namespaceIndex(_ name: String) -> Int? {
        if let i = nsIndex[name] { return i }
        return snapshot.namespaces.firstIndex { $0.names.contains(name) }
    }

    /// The FIB model of namespace `i`, built on first use.
    func model(_ i: Int) -> RoutingModel {
        if let m = models.withLock({ $0[i] }) { return m }
        let m = makeModel(i)
        return models.withLock { models in
            if let existing = models[i] { return existing }
            models[i] = m
            return m
        }
    }

    func makeModel(_ i: Int) -> RoutingModel {
        switch build {
        case .standard: return RoutingModel(snapshot.namespaces[i])
        case .fewLookups:
            var o = LookupAccelerator4.Options.standard
            o.leaves = false
            o.outputIndexMinimum = .max
            return RoutingModel(snapshot.namespaces[i], forceUnmerged: false, accelerators: o)
        }
    }

    /// Builds the models of these namespaces (every recorded one when nil) now, on every
    /// core (before a batch); the others are built when a trace enters them.
    public func buildModels(_ ids: Set<String>? = nil) {
        let missing = models.withLock { models in
            snapshot.namespaces.indices.filter { i in
                models[i] == nil && snapshot.namespaces[i].status == .ok && (ids?.contains(snapshot.namespaces[i].id) ?? true)
            }
        }
        let built = parallelMap(missing.count) { k in self.makeModel(missing[k]) }
        models.withLock { models in
            for (k, i) in missing.enumerated() where models[i] == nil { models[i] = built[k] }
        }
    }

    /// The FIB entry a lookup in namespace `ns` matched (`path`: the multipath branch taken),
    /// as `ip route show` prints it, without surrounding white space. Made once per entry and
    /// kept: the traces of a batch meet the same routes again and again.
    func routeText(_ ns: Int, _ r: RouteResult, path: Int?) -> String? {
        guard r.error == nil, let match = r.match else { return nil }
        let chosen = path.flatMap { r.multipath.indices.contains($0) ? r.multipath[$0] : nil }
        let key = RouteTextKey(ns: ns, route: chosen?.route ?? match.route, table: match.table, type: match.type,
                               iif: r.family == .v6 ? r.iif : nil, nexthop: chosen?.nexthop)
        if let known = routeTexts.withLock({ $0[key] }) { return known }
        guard let m = model(ns).fibMatchMessage(r, path: path) else { return nil }
        let text = IPRouteText.text(m).trimmedASCIIWhitespace
        routeTexts.withLock { $0[key] = text }
        return text
    }

    /// What the text of a matched route depends on: the entry, the table and type the lookup
    /// names (IPv4), and for IPv6 the input device and the nexthop listed first.
    struct RouteTextKey: Hashable {
        var ns: Int
        var route: Int
        var table: UInt32
        var type: RouteType
        var iif: String?
        var nexthop: Int?
    }

    /// Whether namespace `i` may have netfilter rules a trace does not evaluate: tables were
    /// recorded there, or a source of them could not be read. (A snapshot that did not
    /// record netfilter says nothing, and nothing is marked.)
    func filtersPackets(_ i: Int) -> Bool { filtering[i] }
    private let filtering: [Bool]

    /// The link-layer address namespace `ns` has resolved for `addr` on device `dev` (its
    /// neighbour table), when it has one.
    func neighborMAC(_ ns: Int, _ dev: Int32, _ addr: IPAddress) -> String? {
        snapshot.namespaces[ns].neighbors?.first { $0.index == dev && $0.address == addr && $0.isResolved }?.lladdr?.lowercased()
    }

    /// Where bridge `b` of namespace `ns` sends a frame for `mac`, by its forwarding
    /// database: to the bridge itself (one of its own addresses), or out of a port. nil when
    /// the database has no entry for it (the bridge would flood).
    enum FDBTarget { case bridge, port(Link) }
    func fdbTarget(_ ns: Int, _ b: Link, _ mac: String) -> FDBTarget? {
        let n = snapshot.namespaces[ns]
        if b.mac?.lowercased() == mac { return .bridge }
        guard let e = n.fdb?.first(where: { $0.master == b.index && $0.mac.lowercased() == mac && $0.vlan == nil })
                ?? n.fdb?.first(where: { $0.master == b.index && $0.mac.lowercased() == mac }) else { return nil }
        if e.index == b.index { return .bridge }
        guard let port = n.link(index: e.index) else { return nil }
        // a port's own address (permanent, not learned) is the bridge host's
        if e.isLocal && port.mac?.lowercased() == mac { return .bridge }
        return .port(port)
    }

    // MARK: links

    /// The far end of a veth: its peer's namespace and device, when the snapshot holds them.
    func vethPeer(_ ns: Int, _ l: Link) -> (ns: Int, link: Link)? {
        guard l.kind == "veth", let peerIndex = l.link else { return nil }
        let peerNs: Int
        if let id = l.peerNetns { guard let i = nsIndex[id] else { return nil }; peerNs = i }
        else if l.linkNetnsid == nil { peerNs = ns }
        else { return nil }
        let n = snapshot.namespaces[peerNs]
        guard n.status == .ok, let p = n.link(index: peerIndex) else { return nil }
        return (peerNs, p)
    }

    /// The namespace and ifindex of the parent of a macvlan/ipvlan device.
    func upperParent(_ ns: Int, _ l: Link) -> (ns: Int, index: Int32)? {
        guard let k = l.kind, Self.upperKinds.contains(k), let parent = l.link else { return nil }
        if let id = l.peerNetns { guard let i = nsIndex[id] else { return nil }; return (i, parent) }
        if l.linkNetnsid != nil { return nil }
        return (ns, parent)
    }
    static let upperKinds: Set<String> = ["macvlan", "macvtap", "ipvlan", "ipvtap"]

    /// The ports of bridge `b` in namespace `ns`.
    func bridgePorts(_ ns: Int, _ b: Link) -> [Link] {
        snapshot.namespaces[ns].links.filter { $0.master == b.index && $0.index != b.index }
    }

    /// The bridge a device is a port of.
    func bridge(of l: Link, in ns: Int) -> Link? {
        guard let m = l.master, let b = snapshot.namespaces[ns].link(index: m), b.kind == "bridge" else { return nil }
        return b
    }

    /// Whether namespace `ns` answers ARP/ND for `addr` arriving on `l`: IPv4 answers for any
    /// address of the namespace (arp_ignore 0), or only for one on `l` (arp_ignore 1 and up);
    /// IPv6 neighbour discovery answers for addresses on `l` only.
    func answersNeighbor(_ ns: Int, _ l: Link, _ addr: IPAddress) -> Bool {
        guard let o = owners[addr] else { return false }
        let onDevice = o.contains { $0.ns == ns && $0.link == l.index }
        if onDevice || addr.family == .v6 { return onDevice }
        guard o.contains(where: { $0.ns == ns }) else { return false }
        return snapshot.namespaces[ns].settings.effectiveIPv4(l.name).arpIgnore == 0
    }

    /// Whether a frame for `addr` sent out of `port` (a bridge port or a veth) reaches a
    /// namespace that answers for it, through any bridges on the way.
    func leadsTo(_ ns: Int, _ port: Link, _ addr: IPAddress, depth: Int = 0) -> Bool {
        guard depth < 8, let far = vethPeer(ns, port) else { return false }
        if let b = bridge(of: far.link, in: far.ns) {
            if answersNeighbor(far.ns, b, addr) { return true }
            return bridgePorts(far.ns, b).contains { $0.index != far.link.index && leadsTo(far.ns, $0, addr, depth: depth + 1) }
        }
        return answersNeighbor(far.ns, far.link, addr)
    }

    /// A port whose far side is outside the snapshot (a physical NIC, a veth to an unrecorded
    /// namespace, a tunnel): where a frame for an unknown neighbour leaves the host.
    func leavesHost(_ ns: Int, _ port: Link) -> Bool {
        port.kind != "veth" || vethPeer(ns, port) == nil
    }
}

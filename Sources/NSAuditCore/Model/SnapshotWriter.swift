/// Streams a snapshot as JSON (the schema in `schema/snapshot.schema.json`).
///
/// Hand-written rather than `JSONEncoder` because a namespace can hold a million routes and
/// the snapshot must be written faster than `ip -j route show` prints it: the one `JSONWriter`
/// appends bytes to a `ByteBuffer` that hands full chunks to `sink`, so memory stays flat.
/// Member names are the model types' `CodingKeys` (and `SnapshotWrittenKeys` for what only
/// the writer adds); the round-trip tests decode its output with `JSONDecoder` and compare
/// the values.
public struct SnapshotWriter {
    public typealias Sink = ([UInt8]) throws -> Void
    private var w: JSONWriter<ByteBuffer>
    private typealias Extra = SnapshotWrittenKeys

    public init(chunkSize: Int = 1 << 20, sink: @escaping Sink) {
        w = JSONWriter(ByteBuffer(chunkSize: chunkSize, sink: sink), escaping: .unicode)
    }

    /// Encodes a whole snapshot into memory (small snapshots, tests).
    public static func encode(_ s: Snapshot) -> [UInt8] {
        var out: [UInt8] = []
        var writer = SnapshotWriter(chunkSize: 1 << 16) { out += $0 }
        try! writer.write(s)   // the in-memory sink cannot throw
        return out
    }

    public mutating func write(_ s: Snapshot) throws {
        try writeHeader(s)
        for ns in s.namespaces { try writeNamespace(ns) }
        try finish()
    }

    /// Writes everything before the namespaces; call `writeNamespace` for each, then `finish`.
    public mutating func writeHeader(_ s: Snapshot) throws {
        typealias K = Snapshot.CodingKeys
        w.beginObject()
        w.key(K.schema); w.string(s.schema)
        w.key(K.generator); w.string(s.generator)
        w.key(K.host); w.string(s.host)
        w.key(K.kernel); w.string(s.kernel)
        w.key(K.takenAt); w.string(s.takenAt)
        if s.kernelFacts.recorded {
            typealias F = KernelFacts.CodingKeys
            w.key(K.kernelFacts); w.beginObject()
            w.key(F.release); w.string(s.kernelFacts.release)
            w.key(F.ipv6MulticastRouting); w.bool(s.kernelFacts.ipv6MulticastRouting)
            w.endObject()
        }
        if let m = s.metadata {
            typealias M = SnapshotMetadata.CodingKeys
            w.key(K.metadata); w.beginObject()
            w.key(M.source); w.string(m.source)
            if let l = m.lab { w.key(M.lab); w.string(l) }
            if let n = m.note { w.key(M.note); w.string(n) }
            w.endObject()
        }
        w.key(K.namespaces); w.beginArray()
        try w.out.flushIfFull()
    }

    public mutating func finish() throws {
        w.endArray(); w.endObject(); w.raw("\n")
        try w.out.flush()
    }

    public mutating func writeNamespace(_ ns: NamespaceSnapshot) throws {
        typealias K = NamespaceSnapshot.CodingKeys
        w.element(); w.beginObject()
        w.key(K.id); w.string(ns.id)
        w.key(K.names); w.beginArray(); for n in ns.names { w.element(); w.string(n) }; w.endArray()
        w.key(K.inode); w.int(ns.inode)
        w.key(K.foundBy); w.beginArray()
        for d in ns.foundBy {
            typealias D = Discovery.CodingKeys
            w.element(); w.beginObject()
            w.key(D.kind); w.string(d.kind.rawValue)
            w.key(D.path); w.string(d.path)
            if let p = d.pid { w.key(D.pid); w.int(p) }
            if let c = d.comm { w.key(D.comm); w.string(c) }
            w.endObject()
        }
        w.endArray()
        w.key(K.status); w.string(ns.status.rawValue)
        if let e = ns.error { w.key(K.error); w.string(e) }
        w.key(K.consistent); w.bool(ns.consistent)
        w.key(K.dumpRetries); w.int(ns.dumpRetries)
        w.key(K.nsids); w.beginObject()
        for (k, v) in ns.nsids.sorted(by: { $0.key < $1.key }) { w.key(escaping: k); w.string(v) }
        w.endObject()
        let names = Dictionary(ns.links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })

        w.key(K.links); w.beginArray()
        for l in ns.links { w.element(); writeLink(l) }
        w.endArray()
        w.key(K.addresses); w.beginArray()
        for a in ns.addresses { w.element(); writeAddress(a, names) }
        w.endArray()
        w.key(K.rules); w.beginArray()
        for r in ns.rules { w.element(); writeRule(r) }
        w.endArray()
        try w.out.flushIfFull()
        w.key(K.routes); w.beginArray()
        let devs = DeviceNames(ns.links)
        for r in ns.routes {
            w.element(); writeRoute(r, devs)
            try w.out.flushIfFull()
        }
        w.endArray()
        w.key(K.nexthops); w.beginArray()
        for n in ns.nexthops { w.element(); writeNexthop(n, names) }
        w.endArray()
        w.key(K.settings); w.beginObject()
        for (k, v) in ns.settings.sysctlEntries() { w.key(escaping: k); w.int(v) }
        w.endObject()
        w.key(K.sockets); w.beginArray()
        for s in ns.sockets { w.element(); writeSocket(s, names) }
        w.endArray()
        if let neighbors = ns.neighbors {
            w.key(K.neighbors); w.beginArray()
            for n in neighbors { w.element(); writeNeighbor(n, names) }
            w.endArray()
        }
        if let fdb = ns.fdb {
            w.key(K.fdb); w.beginArray()
            for e in fdb { w.element(); writeFDBEntry(e, names) }
            w.endArray()
        }
        if let nf = ns.netfilter {
            typealias N = NetfilterState.CodingKeys
            w.key(K.netfilter); w.beginObject()
            w.key(N.nftables); writeNetfilterTables(nf.nftables)
            w.key(N.iptablesLegacy); writeNetfilterTables(nf.iptablesLegacy)
            w.key(N.ip6tablesLegacy); writeNetfilterTables(nf.ip6tablesLegacy)
            w.key(N.arptablesLegacy); writeNetfilterTables(nf.arptablesLegacy)
            w.endObject()
        }
        w.endObject()
        try w.out.flushIfFull()
    }

    private mutating func writeLink(_ l: Link) {
        typealias K = Link.CodingKeys
        w.beginObject()
        w.key(K.index); w.int(l.index)
        w.key(K.name); w.string(l.name)
        if let k = l.kind { w.key(K.kind); w.string(k) }
        if let k = l.slaveKind { w.key(K.slaveKind); w.string(k) }
        w.key(K.flags); w.int(l.flags)
        w.key(Extra.flagNames); w.beginArray()
        for (bit, name) in LinkFlags.names where l.flags & bit != 0 { w.element(); w.string(name) }
        w.endArray()
        w.key(Extra.adminUp); w.bool(l.adminUp)
        w.key(K.operstate); w.string(l.operstate)
        if let c = l.carrier { w.key(K.carrier); w.bool(c) }
        w.key(K.mtu); w.int(l.mtu)
        w.key(K.linkType); w.int(l.linkType)
        if let m = l.mac { w.key(K.mac); w.string(m) }
        if let m = l.master { w.key(K.master); w.int(m) }
        if let t = l.vrfTable { w.key(K.vrfTable); w.int(t) }
        if let x = l.link { w.key(K.link); w.int(x) }
        if let x = l.linkNetnsid { w.key(K.linkNetnsid); w.int(x) }
        if let x = l.peerNetns { w.key(K.peerNetns); w.string(x) }
        w.key(K.group); w.int(l.group)
        if let x = l.parentBus { w.key(K.parentBus); w.string(x) }
        if let x = l.parentDev { w.key(K.parentDev); w.string(x) }
        w.endObject()
    }

    private mutating func writeAddress(_ a: Address, _ names: [Int32: String]) {
        typealias K = Address.CodingKeys
        w.beginObject()
        w.key(K.index); w.int(a.index)
        if let n = names[a.index] { w.key(Extra.dev); w.string(n) }
        w.key(K.family); w.string(a.family.description)
        w.key(K.local); w.address(a.local)
        if let p = a.peer { w.key(K.peer); w.address(p) }
        w.key(K.prefixlen); w.int(a.prefixlen)
        w.key(K.scope); w.int(a.scope)
        w.key(K.flags); w.int(a.flags)
        w.key(Extra.flagNames); w.beginArray()
        for (bit, name) in AddressFlags.names where a.flags & bit != 0 { w.element(); w.string(name) }
        w.endArray()
        if let b = a.broadcast { w.key(K.broadcast); w.address(b) }
        if let l = a.label { w.key(K.label); w.string(l) }
        if let v = a.validLifetime { w.key(K.validLifetime); w.int(v) }
        if let v = a.preferredLifetime { w.key(K.preferredLifetime); w.int(v) }
        w.endObject()
    }

    private mutating func writeRule(_ r: Rule) {
        typealias K = Rule.CodingKeys
        w.beginObject()
        w.key(K.family); w.string(r.family.description)
        w.key(K.priority); w.int(r.priority)
        w.key(K.table); w.int(r.table)
        w.key(K.action); w.int(r.action)
        w.key(Extra.actionName); w.string(RuleAction.name(r.action))
        if let g = r.gotoTarget { w.key(K.gotoTarget); w.int(g) }
        if let p = r.src { w.key(K.src); w.prefix(p) }
        if let p = r.dst { w.key(K.dst); w.prefix(p) }
        if let x = r.iif { w.key(K.iif); w.string(x) }
        if let x = r.oif { w.key(K.oif); w.string(x) }
        w.key(K.flags); w.int(r.flags)
        if let x = r.fwmark { w.key(K.fwmark); w.int(x) }
        if let x = r.fwmask { w.key(K.fwmask); w.int(x) }
        w.key(K.tos); w.int(r.tos)
        if let x = r.ipproto { w.key(K.ipproto); w.int(x) }
        if let x = r.sport { w.key(K.sport); range(x.start, x.end) }
        if let x = r.dport { w.key(K.dport); range(x.start, x.end) }
        if let x = r.uidrange { w.key(K.uidrange); range(x.start, x.end) }
        w.key(K.l3mdev); w.bool(r.l3mdev)
        if let x = r.suppressPrefixlen { w.key(K.suppressPrefixlen); w.int(x) }
        if let x = r.suppressIfgroup { w.key(K.suppressIfgroup); w.int(x) }
        w.key(K.protocol); w.int(r.protocol)
        if let x = r.realms { w.key(K.realms); w.int(x) }
        w.endObject()
    }

    private mutating func range<T: BinaryInteger>(_ a: T, _ b: T) {
        w.beginObject(); w.key(RangeCodingKeys.start); w.int(a); w.key(RangeCodingKeys.end); w.int(b); w.endObject()
    }

    /// The hot path (a million routes): members in a fixed order with their separators, no
    /// container bookkeeping, `"dev"` from a per-namespace table.
    private mutating func writeRoute(_ r: Route, _ devs: DeviceNames) {
        typealias K = Route.CodingKeys
        w.raw("{"); w.rawKey(K.family); w.raw(r.family == .v4 ? "\"inet\"" : "\"inet6\"")
        w.nextKey(K.table); w.int(r.table)
        w.nextKey(K.type); w.raw("\""); w.raw(r.type.nameText); w.raw("\"")
        w.nextKey(K.dst); w.prefix(r.dst)
        if let s = r.src { w.nextKey(K.src); w.prefix(s) }
        w.nextKey(K.tos); w.int(r.tos)
        w.nextKey(K.protocol); w.int(r.protocol)
        w.nextKey(K.scope); w.int(r.scope)
        w.nextKey(K.metric); w.int(r.metric)
        if let p = r.prefsrc { w.nextKey(K.prefsrc); w.address(p) }
        if let g = r.gateway { w.nextKey(K.gateway); w.address(g) }
        if let o = r.oif {
            w.nextKey(K.oif); w.int(o)
            devs.write(o, to: &w)
        }
        w.nextKey(K.flags); w.int(r.flags)
        if let nhs = r.nexthops {
            typealias N = RouteNexthop.CodingKeys
            w.nextKey(K.nexthops); w.raw("[")
            var first = true
            for nh in nhs {
                w.raw(first ? "{" : ",{")
                first = false
                var sep = false
                if let g = nh.gateway { w.rawKey(N.gateway); w.address(g); sep = true }
                if let o = nh.oif {
                    if sep { w.nextKey(N.oif) } else { w.rawKey(N.oif) }
                    w.int(o)
                    devs.write(o, to: &w)
                    sep = true
                }
                if sep { w.nextKey(N.weight) } else { w.rawKey(N.weight) }
                w.int(nh.weight)
                w.nextKey(N.flags); w.int(nh.flags)
                w.raw("}")
            }
            w.raw("]")
        }
        if let x = r.nhid { w.nextKey(K.nhid); w.int(x) }
        if let m = r.metrics {
            w.nextKey(K.metrics); w.raw("{")
            if m.count == 1, let (k, v) = m.first {
                w.string(k); w.raw(":"); w.int(v)
            } else {
                var first = true
                for (k, v) in m.sorted(by: { $0.key < $1.key }) {
                    if !first { w.raw(",") }
                    first = false
                    w.string(k); w.raw(":"); w.int(v)
                }
            }
            w.raw("}")
        }
        if let x = r.pref { w.nextKey(K.pref); w.int(x) }
        w.raw("}")
    }

    private mutating func writeNexthop(_ n: Nexthop, _ names: [Int32: String]) {
        typealias K = Nexthop.CodingKeys
        w.beginObject()
        w.key(K.id); w.int(n.id)
        w.key(K.family); w.int(n.family)
        if let g = n.gateway { w.key(K.gateway); w.address(g) }
        if let o = n.oif {
            w.key(K.oif); w.int(o)
            if let name = names[o] { w.key(Extra.dev); w.string(name) }
        }
        w.key(K.blackhole); w.bool(n.blackhole)
        w.key(K.flags); w.int(n.flags)
        w.key(K.protocol); w.int(n.protocol)
        if let s = n.scope { w.key(K.scope); w.int(s) }
        if let g = n.group {
            typealias G = NexthopGroupMember.CodingKeys
            w.key(K.group); w.beginArray()
            for m in g {
                w.element(); w.beginObject(); w.key(G.id); w.int(m.id); w.key(G.weight); w.int(m.weight); w.endObject()
            }
            w.endArray()
        }
        if let t = n.groupType { w.key(K.groupType); w.string(t) }
        w.key(K.fdb); w.bool(n.fdb)
        w.endObject()
    }

    private mutating func writeSocket(_ s: Socket, _ names: [Int32: String]) {
        typealias K = Socket.CodingKeys
        w.beginObject()
        w.key(K.protocol); w.string(s.protocol)
        w.key(K.family); w.string(s.family.description)
        w.key(K.state); w.string(s.state)
        w.key(K.local); w.address(s.local)
        w.key(K.localPort); w.int(s.localPort)
        w.key(K.remote); w.address(s.remote)
        w.key(K.remotePort); w.int(s.remotePort)
        if let b = s.boundIf {
            w.key(K.boundIf); w.int(b)
            if let n = names[b] { w.key(Extra.boundDev); w.string(n) }
        }
        if let u = s.uid { w.key(K.uid); w.int(u) }
        if let i = s.inode { w.key(K.inode); w.int(i) }
        w.endObject()
    }
}


extension SnapshotWriter {
    private mutating func writeNeighbor(_ n: Neighbor, _ names: [Int32: String]) {
        typealias K = Neighbor.CodingKeys
        w.beginObject()
        w.key(K.index); w.int(n.index)
        if let d = names[n.index] { w.key(Extra.dev); w.string(d) }
        w.key(K.family); w.string(n.family.description)
        w.key(K.address); w.address(n.address)
        if let l = n.lladdr { w.key(K.lladdr); w.string(l) }
        w.key(K.state); w.int(n.state)
        w.key(Extra.stateNames); w.beginArray()
        for name in n.stateNames { w.element(); w.string(name) }
        w.endArray()
        w.key(K.flags); w.int(n.flags)
        w.key(Extra.flagNames); w.beginArray()
        for (bit, name) in NeighborFlags.names where n.flags & bit != 0 { w.element(); w.string(name) }
        w.endArray()
        w.endObject()
    }

    private mutating func writeFDBEntry(_ e: FDBEntry, _ names: [Int32: String]) {
        typealias K = FDBEntry.CodingKeys
        w.beginObject()
        w.key(K.mac); w.string(e.mac)
        w.key(K.index); w.int(e.index)
        if let d = names[e.index] { w.key(Extra.dev); w.string(d) }
        if let m = e.master {
            w.key(K.master); w.int(m)
            if let d = names[m] { w.key(Extra.masterDev); w.string(d) }
        }
        if let v = e.vlan { w.key(K.vlan); w.int(v) }
        w.key(K.state); w.int(e.state)
        w.key(Extra.stateNames); w.beginArray(); w.element(); w.string(e.stateName); w.endArray()
        w.key(K.flags); w.int(e.flags)
        w.key(Extra.flagNames); w.beginArray()
        for (bit, name) in NeighborFlags.names where e.flags & bit != 0 { w.element(); w.string(name) }
        w.endArray()
        if let d = e.dst { w.key(K.dst); w.address(d) }
        w.endObject()
    }

    private mutating func writeNetfilterTables(_ t: NetfilterTables) {
        typealias K = NetfilterTables.CodingKeys
        w.beginObject()
        w.key(K.source); w.string(t.source)
        if let tables = t.tables {
            w.key(K.tables); w.beginArray()
            for name in tables { w.element(); w.string(name) }
            w.endArray()
        }
        if let u = t.unknown { w.key(K.unknown); w.string(u) }
        w.endObject()
    }
}

/// `,"dev":"NAME"` fragments of a namespace's links, encoded once and looked up by ifindex
/// (a flat table for the usual small indexes, a dictionary otherwise). The first link with
/// an index wins, as in the address and socket writers.
struct DeviceNames {
    private var dense: [[UInt8]?] = []
    private var sparse: [Int32: [UInt8]] = [:]

    init(_ links: [Link]) {
        var encoded: [(Int32, [UInt8])] = []
        for l in links {
            var frag = JSONWriter([UInt8](), escaping: .unicode)
            frag.nextKey(SnapshotWrittenKeys.dev); frag.string(l.name)
            encoded.append((l.index, frag.out))
        }
        let maxIndex = encoded.map { Int($0.0) }.max() ?? -1
        if maxIndex < 1 << 16 {
            dense = Array(repeating: nil, count: maxIndex + 1)
            for (i, f) in encoded where i >= 0 && dense[Int(i)] == nil { dense[Int(i)] = f }
        }
        for (i, f) in encoded where i < 0 || Int(i) >= dense.count {
            if sparse[i] == nil { sparse[i] = f }
        }
    }

    @inline(__always) func write<Out>(_ index: Int32, to w: inout JSONWriter<Out>) {
        let frag: [UInt8]?
        if index >= 0 && Int(index) < dense.count { frag = dense[Int(index)] } else { frag = sparse[index] }
        if let frag { frag.withUnsafeBufferPointer { w.raw($0) } }
    }
}

import FoundationEssentials
import Glibc

/// A byte-level JSON reader for exactly the snapshot model (`Snapshot` and what it contains).
///
/// `JSONDecoder` needs 40–90 s for a snapshot with a million routes; this reader walks the
/// bytes once and builds the model values directly. It accepts what `JSONDecoder` accepts for
/// these types: members in any order, any whitespace, unknown members skipped (their values
/// are still checked for JSON syntax), `null` for an optional member meaning absent, strings
/// with every JSON escape. One function per model type mirrors that type's `CodingKeys`.
///
/// Failures: `.syntax` (not well-formed JSON), `.field` (well-formed JSON that does not fit
/// the model, with the path to the value), and `.unsupported` for valid JSON this reader does
/// not handle itself (numbers with a fraction or exponent, `-0` for an unsigned field, a byte
/// order mark, invalid UTF-8 in a string, lone surrogates, nesting deeper than 512): the
/// caller then decodes with `JSONDecoder`, whose answer is authoritative.
struct SnapshotDecoder {
    enum PathPiece { case key(String), index(Int) }

    enum Failure: Error {
        case syntax
        case field(path: [PathPiece], detail: String)
        case unsupported(String)

        /// The same failure seen one level up.
        func at(_ piece: PathPiece) -> Failure {
            if case .field(let path, let detail) = self { return .field(path: [piece] + path, detail: detail) }
            return self
        }

        /// `.namespaces[0].routes[3].gateway` (empty at the top level).
        static func render(_ path: [PathPiece]) -> String {
            path.map { switch $0 { case .key(let k): ".\(k)"; case .index(let i): "[\(i)]" } }.joined()
        }
    }

    private let p: UnsafePointer<UInt8>
    private let n: Int
    private var i = 0

    private init(_ p: UnsafePointer<UInt8>, _ n: Int) { self.p = p; self.n = n }

    /// The members `schema(_:)` looks for.
    private static let header = FieldTable<Snapshot.CodingKeys>([.schema])

    /// Decodes a whole snapshot. The schema string is returned as found; the caller checks it.
    static func decode(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> Snapshot {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { throw .syntax }
        try rejectOtherEncodings(base, bytes.count)
        var d = SnapshotDecoder(base, bytes.count)
        let s = try d.run { try $0.snapshot() }
        return s
    }

    /// Reads only the top-level `schema` member, checking the whole document's syntax on the
    /// way (for error reports: a syntax error outranks a schema error, which outranks a field
    /// error). Returns nil when there is no `schema` member or it is null.
    static func schema(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> String? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0 else { throw .syntax }
        try rejectOtherEncodings(base, bytes.count)
        var d = SnapshotDecoder(base, bytes.count)
        return try d.run { d in
            var schema: String?
            try d.beginObject()
            var o = ObjectCursor()
            while let k = try d.field(Self.header, &o) {
                schema = try d.at(k.stringValue) { try $0.null() ? nil : $0.string() }
            }
            return schema
        }
    }

    /// The top-level `schema` member's string when it is the document's first member (as
    /// nsaudit writes it), read without looking further: a hint for callers that pick a
    /// reader by schema before reading a big file once. nil when the first member is another,
    /// or on anything unusual (the caller then uses `schema`, which checks the whole document).
    static func leadingSchema(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count > 0,
              (try? rejectOtherEncodings(base, bytes.count)) != nil else { return nil }
        var d = SnapshotDecoder(base, bytes.count)
        let name = Array("schema".utf8)
        do {
            try d.beginObject()
            var o = ObjectCursor()
            guard let k = try d.nextKey(&o), !k.escaped, k.end - k.start == name.count,
                  name.indices.allSatisfy({ base[k.start + $0] == name[$0] }) else { return nil }
            return try d.string()
        } catch {
            return nil
        }
    }

    private static func rejectOtherEncodings(_ p: UnsafePointer<UInt8>, _ n: Int) throws(Failure) {
        // UTF-8 byte order mark, or UTF-16/32 text: JSONDecoder copes, so let it.
        if p[0] == 0xEF || p[0] == 0xFE || p[0] == 0xFF || p[0] == 0 || (n > 1 && p[1] == 0) {
            throw .unsupported("byte order mark or UTF-16/32 text")
        }
    }

    /// Runs `body` on the top-level value and checks that only whitespace follows it.
    private mutating func run<T>(_ body: (inout SnapshotDecoder) throws -> T) throws(Failure) -> T {
        do {
            let v = try body(&self)
            skipWhitespace()
            guard i == n else { throw Failure.syntax }
            return v
        } catch let f as Failure {
            throw f
        } catch {
            throw .unsupported("\(error)")
        }
    }

    // MARK: - model types (member names from each type's CodingKeys)

    private mutating func snapshot() throws -> Snapshot {
        typealias K = Snapshot.CodingKeys
        try beginObject()
        var schema: String?, generator: String?, host: String?, kernel: String?, takenAt: String?
        var facts: KernelFacts?, metadata: SnapshotMetadata?, namespaces: [NamespaceSnapshot]?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .schema: schema = try d.string()
                case .generator: generator = try d.string()
                case .host: host = try d.string()
                case .kernel: kernel = try d.string()
                case .takenAt: takenAt = try d.string()
                case .kernelFacts: facts = try d.null() ? nil : d.kernelFacts()
                case .metadata: metadata = try d.null() ? nil : d.metadata()
                case .namespaces: namespaces = try d.array { try $0.namespace() }
                }
            }
        }
        var s = Snapshot(generator: try required(generator, K.generator), host: try required(host, K.host),
                         kernel: try required(kernel, K.kernel), takenAt: try required(takenAt, K.takenAt),
                         kernelFacts: facts, metadata: metadata, namespaces: try required(namespaces, K.namespaces))
        s.schema = try required(schema, K.schema)
        return s
    }

    private mutating func kernelFacts() throws -> KernelFacts {
        typealias K = KernelFacts.CodingKeys
        try beginObject()
        var release: String?, mroute6: Bool?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .release: release = try d.string()
                case .ipv6MulticastRouting: mroute6 = try d.bool()
                }
            }
        }
        return KernelFacts(release: try required(release, K.release),
                           ipv6MulticastRouting: try required(mroute6, K.ipv6MulticastRouting))
    }

    private mutating func metadata() throws -> SnapshotMetadata {
        typealias K = SnapshotMetadata.CodingKeys
        try beginObject()
        var source: String?, lab: String?, note: String?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .source: source = try d.string()
                case .lab: lab = try d.optionalString()
                case .note: note = try d.optionalString()
                }
            }
        }
        return SnapshotMetadata(source: try required(source, K.source), lab: lab, note: note)
    }

    private mutating func namespace() throws -> NamespaceSnapshot {
        typealias K = NamespaceSnapshot.CodingKeys
        try beginObject()
        var id: String?, names: [String]?, inode: UInt64?, foundBy: [Discovery]?
        var status: NamespaceSnapshot.Status?, error: String?, consistent: Bool?, dumpRetries: Int?
        var nsids: [String: String]?, links: [Link]?, addresses: [Address]?, rules: [Rule]?
        var routes: [Route]?, nexthops: [Nexthop]?, sysctls: [String: Int]?, sockets: [Socket]?
        var neighbors: [Neighbor]?, fdb: [FDBEntry]?, netfilter: NetfilterState?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .id: id = try d.string()
                case .names: names = try d.array { try $0.string() }
                case .inode: inode = try d.integer()
                case .foundBy: foundBy = try d.array { try $0.discovery() }
                case .status: status = try d.rawEnum()
                case .error: error = try d.optionalString()
                case .consistent: consistent = try d.bool()
                case .dumpRetries: dumpRetries = try d.integer()
                case .nsids: nsids = try d.dictionary { try $0.string() }
                case .links: links = try d.array { try $0.link() }
                case .addresses: addresses = try d.array { try $0.address() }
                case .rules: rules = try d.array { try $0.rule() }
                case .routes: routes = try d.array { try $0.route() }
                case .nexthops: nexthops = try d.array { try $0.nexthop() }
                case .settings: sysctls = try d.dictionary { try $0.integer() }
                case .sockets: sockets = try d.array { try $0.socket() }
                case .neighbors: neighbors = try d.null() ? nil : d.array { try $0.neighbor() }
                case .fdb: fdb = try d.null() ? nil : d.array { try $0.fdbEntry() }
                case .netfilter: netfilter = try d.null() ? nil : d.netfilter()
                }
            }
        }
        var ns = NamespaceSnapshot(id: try required(id, K.id), names: try required(names, K.names),
                                   inode: try required(inode, K.inode), foundBy: try required(foundBy, K.foundBy),
                                   status: try required(status, K.status), error: error)
        ns.consistent = try required(consistent, K.consistent)
        ns.dumpRetries = try required(dumpRetries, K.dumpRetries)
        ns.nsids = try required(nsids, K.nsids)
        ns.links = try required(links, K.links)
        ns.addresses = try required(addresses, K.addresses)
        ns.rules = try required(rules, K.rules)
        ns.routes = try required(routes, K.routes)
        ns.nexthops = try required(nexthops, K.nexthops)
        ns.settings = RoutingSettings(sysctls: try required(sysctls, K.settings))
        ns.sockets = try required(sockets, K.sockets)
        ns.neighbors = neighbors; ns.fdb = fdb; ns.netfilter = netfilter
        return ns
    }

    private mutating func discovery() throws -> Discovery {
        typealias K = Discovery.CodingKeys
        try beginObject()
        var kind: Discovery.Kind?, path: String?, pid: Int32?, comm: String?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .kind: kind = try d.rawEnum()
                case .path: path = try d.string()
                case .pid: pid = try d.optionalInteger()
                case .comm: comm = try d.optionalString()
                }
            }
        }
        return Discovery(kind: try required(kind, K.kind), path: try required(path, K.path), pid: pid, comm: comm)
    }

    private mutating func link() throws -> Link {
        typealias K = Link.CodingKeys
        try beginObject()
        var index: Int32?, name: String?, flags: UInt32?, operstate: String?, mtu: UInt32?
        var linkType: UInt16?, group: UInt32?
        var kind: String?, slaveKind: String?, carrier: Bool?, mac: String?, master: Int32?
        var vrfTable: UInt32?, link: Int32?, linkNetnsid: Int32?, peerNetns: String?
        var parentBus: String?, parentDev: String?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .index: index = try d.integer()
                case .name: name = try d.string()
                case .kind: kind = try d.optionalString()
                case .slaveKind: slaveKind = try d.optionalString()
                case .flags: flags = try d.integer()
                case .operstate: operstate = try d.string()
                case .carrier: carrier = try d.null() ? nil : d.bool()
                case .mtu: mtu = try d.integer()
                case .linkType: linkType = try d.integer()
                case .mac: mac = try d.optionalString()
                case .master: master = try d.optionalInteger()
                case .vrfTable: vrfTable = try d.optionalInteger()
                case .link: link = try d.optionalInteger()
                case .linkNetnsid: linkNetnsid = try d.optionalInteger()
                case .peerNetns: peerNetns = try d.optionalString()
                case .group: group = try d.integer()
                case .parentBus: parentBus = try d.optionalString()
                case .parentDev: parentDev = try d.optionalString()
                }
            }
        }
        var l = Link(index: try required(index, K.index), name: try required(name, K.name),
                     flags: try required(flags, K.flags), operstate: try required(operstate, K.operstate),
                     mtu: try required(mtu, K.mtu), linkType: try required(linkType, K.linkType))
        l.group = try required(group, K.group)
        l.kind = kind; l.slaveKind = slaveKind; l.carrier = carrier; l.mac = mac; l.master = master
        l.vrfTable = vrfTable; l.link = link; l.linkNetnsid = linkNetnsid; l.peerNetns = peerNetns
        l.parentBus = parentBus; l.parentDev = parentDev
        return l
    }

    private mutating func address() throws -> Address {
        typealias K = Address.CodingKeys
        try beginObject()
        var index: Int32?, family: IPAddress.Family?, local: IPAddress?, prefixlen: UInt8?
        var scope: UInt8?, flags: UInt32?
        var peer: IPAddress?, broadcast: IPAddress?, label: String?
        var validLifetime: UInt32?, preferredLifetime: UInt32?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .index: index = try d.integer()
                case .family: family = try d.family()
                case .local: local = try d.ipAddress()
                case .peer: peer = try d.null() ? nil : d.ipAddress()
                case .prefixlen: prefixlen = try d.integer()
                case .scope: scope = try d.integer()
                case .flags: flags = try d.integer()
                case .broadcast: broadcast = try d.null() ? nil : d.ipAddress()
                case .label: label = try d.optionalString()
                case .validLifetime: validLifetime = try d.optionalInteger()
                case .preferredLifetime: preferredLifetime = try d.optionalInteger()
                }
            }
        }
        var a = Address(index: try required(index, K.index), local: try required(local, K.local),
                        prefixlen: try required(prefixlen, K.prefixlen), scope: try required(scope, K.scope),
                        flags: try required(flags, K.flags))
        a.family = try required(family, K.family)
        a.peer = peer; a.broadcast = broadcast; a.label = label
        a.validLifetime = validLifetime; a.preferredLifetime = preferredLifetime
        return a
    }

    private mutating func rule() throws -> Rule {
        typealias K = Rule.CodingKeys
        try beginObject()
        var family: IPAddress.Family?, priority: UInt32?, table: UInt32?, action: UInt8?
        var flags: UInt32?, tos: UInt8?, l3mdev: Bool?, proto: UInt8?
        var r = Rule(family: .v4, priority: 0, table: 0)
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .family: family = try d.family()
                case .priority: priority = try d.integer()
                case .table: table = try d.integer()
                case .action: action = try d.integer()
                case .gotoTarget: r.gotoTarget = try d.optionalInteger()
                case .src: r.src = try d.null() ? nil : d.ipPrefix()
                case .dst: r.dst = try d.null() ? nil : d.ipPrefix()
                case .iif: r.iif = try d.optionalString()
                case .oif: r.oif = try d.optionalString()
                case .flags: flags = try d.integer()
                case .fwmark: r.fwmark = try d.optionalInteger()
                case .fwmask: r.fwmask = try d.optionalInteger()
                case .tos: tos = try d.integer()
                case .ipproto: r.ipproto = try d.optionalInteger()
                case .sport: r.sport = try d.null() ? nil : d.portRange()
                case .dport: r.dport = try d.null() ? nil : d.portRange()
                case .uidrange: r.uidrange = try d.null() ? nil : d.uidRange()
                case .l3mdev: l3mdev = try d.bool()
                case .suppressPrefixlen: r.suppressPrefixlen = try d.optionalInteger()
                case .suppressIfgroup: r.suppressIfgroup = try d.optionalInteger()
                case .protocol: proto = try d.integer()
                case .realms: r.realms = try d.optionalInteger()
                }
            }
        }
        r.family = try required(family, K.family)
        r.priority = try required(priority, K.priority)
        r.table = try required(table, K.table)
        r.action = try required(action, K.action)
        r.flags = try required(flags, K.flags)
        r.tos = try required(tos, K.tos)
        r.l3mdev = try required(l3mdev, K.l3mdev)
        r.protocol = try required(proto, K.`protocol`)
        return r
    }

    private mutating func portRange() throws -> PortRange {
        let (s, e): (UInt16, UInt16) = try range()
        return PortRange(s, e)
    }

    private mutating func uidRange() throws -> UIDRange {
        let (s, e): (UInt32, UInt32) = try range()
        return UIDRange(s, e)
    }

    /// `{"start": S, "end": E}` (PortRange and UIDRange).
    private mutating func range<T: FixedWidthInteger>() throws -> (T, T) {
        typealias K = RangeCodingKeys
        try beginObject()
        var start: T?, end: T?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .start: start = try d.integer()
                case .end: end = try d.integer()
                }
            }
        }
        return (try required(start, K.start), try required(end, K.end))
    }

    /// The hot path: a snapshot can hold a million of these.
    private mutating func route() throws -> Route {
        typealias K = Route.CodingKeys
        try beginObject()
        var family: IPAddress.Family?, table: UInt32?, type: RouteType?, dst: IPPrefix?
        var tos: UInt8?, proto: UInt8?, scope: UInt8?, metric: UInt32?, flags: UInt32?
        var src: IPPrefix?, prefsrc: IPAddress?, gateway: IPAddress?, oif: Int32?
        var nexthops: [RouteNexthop]?, nhid: UInt32?, metrics: [String: UInt32]?, pref: UInt8?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .family: family = try d.family()
                case .table: table = try d.integer()
                case .type: type = try d.routeType()
                case .dst: dst = try d.ipPrefix()
                case .src: src = try d.null() ? nil : d.ipPrefix()
                case .tos: tos = try d.integer()
                case .protocol: proto = try d.integer()
                case .scope: scope = try d.integer()
                case .metric: metric = try d.integer()
                case .prefsrc: prefsrc = try d.null() ? nil : d.ipAddress()
                case .gateway: gateway = try d.null() ? nil : d.ipAddress()
                case .oif: oif = try d.optionalInteger()
                case .flags: flags = try d.integer()
                case .nexthops: nexthops = try d.null() ? nil : d.array { try $0.routeNexthop() }
                case .nhid: nhid = try d.optionalInteger()
                case .metrics: metrics = try d.null() ? nil : d.dictionary { try $0.integer() }
                case .pref: pref = try d.optionalInteger()
                }
            }
        }
        var r = Route(family: try required(family, K.family), table: try required(table, K.table),
                      type: try required(type, K.type), dst: try required(dst, K.dst),
                      protocol: try required(proto, K.`protocol`), scope: try required(scope, K.scope),
                      metric: try required(metric, K.metric))
        r.tos = try required(tos, K.tos)
        r.flags = try required(flags, K.flags)
        r.src = src; r.prefsrc = prefsrc; r.gateway = gateway; r.oif = oif
        r.nexthops = nexthops; r.nhid = nhid; r.metrics = metrics; r.pref = pref
        return r
    }

    private mutating func routeNexthop() throws -> RouteNexthop {
        typealias K = RouteNexthop.CodingKeys
        try beginObject()
        var gateway: IPAddress?, oif: Int32?, weight: UInt16?, flags: UInt32?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .gateway: gateway = try d.null() ? nil : d.ipAddress()
                case .oif: oif = try d.optionalInteger()
                case .weight: weight = try d.integer()
                case .flags: flags = try d.integer()
                }
            }
        }
        return RouteNexthop(gateway: gateway, oif: oif, weight: try required(weight, K.weight),
                            flags: try required(flags, K.flags))
    }

    private mutating func nexthop() throws -> Nexthop {
        typealias K = Nexthop.CodingKeys
        try beginObject()
        var id: UInt32?, family: UInt8?, blackhole: Bool?, flags: UInt32?, proto: UInt8?, fdb: Bool?
        var gateway: IPAddress?, oif: Int32?, scope: UInt8?, group: [NexthopGroupMember]?, groupType: String?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .id: id = try d.integer()
                case .family: family = try d.integer()
                case .gateway: gateway = try d.null() ? nil : d.ipAddress()
                case .oif: oif = try d.optionalInteger()
                case .blackhole: blackhole = try d.bool()
                case .flags: flags = try d.integer()
                case .protocol: proto = try d.integer()
                case .scope: scope = try d.optionalInteger()
                case .group: group = try d.null() ? nil : d.array { try $0.groupMember() }
                case .groupType: groupType = try d.optionalString()
                case .fdb: fdb = try d.bool()
                }
            }
        }
        var h = Nexthop(id: try required(id, K.id), family: try required(family, K.family))
        h.blackhole = try required(blackhole, K.blackhole)
        h.flags = try required(flags, K.flags)
        h.protocol = try required(proto, K.`protocol`)
        h.fdb = try required(fdb, K.fdb)
        h.gateway = gateway; h.oif = oif; h.scope = scope; h.group = group; h.groupType = groupType
        return h
    }

    private mutating func groupMember() throws -> NexthopGroupMember {
        typealias K = NexthopGroupMember.CodingKeys
        try beginObject()
        var id: UInt32?, weight: UInt16?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .id: id = try d.integer()
                case .weight: weight = try d.integer()
                }
            }
        }
        return NexthopGroupMember(id: try required(id, K.id), weight: try required(weight, K.weight))
    }

    private mutating func socket() throws -> Socket {
        typealias K = Socket.CodingKeys
        try beginObject()
        var proto: String?, family: IPAddress.Family?, state: String?, local: IPAddress?
        var localPort: UInt16?, remote: IPAddress?, remotePort: UInt16?
        var boundIf: Int32?, uid: UInt32?, inode: UInt32?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .protocol: proto = try d.string()
                case .family: family = try d.family()
                case .state: state = try d.string()
                case .local: local = try d.ipAddress()
                case .localPort: localPort = try d.integer()
                case .remote: remote = try d.ipAddress()
                case .remotePort: remotePort = try d.integer()
                case .boundIf: boundIf = try d.optionalInteger()
                case .uid: uid = try d.optionalInteger()
                case .inode: inode = try d.optionalInteger()
                }
            }
        }
        var s = Socket(protocol: try required(proto, K.`protocol`), family: try required(family, K.family),
                       state: try required(state, K.state), local: try required(local, K.local),
                       localPort: try required(localPort, K.localPort), remote: try required(remote, K.remote),
                       remotePort: try required(remotePort, K.remotePort))
        s.boundIf = boundIf; s.uid = uid; s.inode = inode
        return s
    }

    private mutating func neighbor() throws -> Neighbor {
        typealias K = Neighbor.CodingKeys
        try beginObject()
        var index: Int32?, family: IPAddress.Family?, address: IPAddress?, lladdr: String?
        var state: UInt16?, flags: UInt32?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .index: index = try d.integer()
                case .family: family = try d.family()
                case .address: address = try d.ipAddress()
                case .lladdr: lladdr = try d.optionalString()
                case .state: state = try d.integer()
                case .flags: flags = try d.integer()
                }
            }
        }
        var n = Neighbor(index: try required(index, K.index), address: try required(address, K.address),
                         lladdr: lladdr, state: try required(state, K.state), flags: try required(flags, K.flags))
        n.family = try required(family, K.family)
        return n
    }

    private mutating func fdbEntry() throws -> FDBEntry {
        typealias K = FDBEntry.CodingKeys
        try beginObject()
        var mac: String?, index: Int32?, master: Int32?, vlan: UInt16?, state: UInt16?, flags: UInt32?
        var dst: IPAddress?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .mac: mac = try d.string()
                case .index: index = try d.integer()
                case .master: master = try d.optionalInteger()
                case .vlan: vlan = try d.optionalInteger()
                case .state: state = try d.integer()
                case .flags: flags = try d.integer()
                case .dst: dst = try d.null() ? nil : d.ipAddress()
                }
            }
        }
        var e = FDBEntry(mac: try required(mac, K.mac), index: try required(index, K.index), master: master,
                         vlan: vlan, state: try required(state, K.state), flags: try required(flags, K.flags))
        e.dst = dst
        return e
    }

    private mutating func netfilter() throws -> NetfilterState {
        typealias K = NetfilterState.CodingKeys
        try beginObject()
        var nft: NetfilterTables?, ip4: NetfilterTables?, ip6: NetfilterTables?, arp: NetfilterTables?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .nftables: nft = try d.netfilterTables()
                case .iptablesLegacy: ip4 = try d.netfilterTables()
                case .ip6tablesLegacy: ip6 = try d.netfilterTables()
                case .arptablesLegacy: arp = try d.netfilterTables()
                }
            }
        }
        return NetfilterState(nftables: try required(nft, K.nftables), iptablesLegacy: try required(ip4, K.iptablesLegacy),
                              ip6tablesLegacy: try required(ip6, K.ip6tablesLegacy),
                              arptablesLegacy: try required(arp, K.arptablesLegacy))
    }

    private mutating func netfilterTables() throws -> NetfilterTables {
        typealias K = NetfilterTables.CodingKeys
        try beginObject()
        var source: String?, tables: [String]?, unknown: String?
        var o = ObjectCursor()
        while let k = try field(K.fields, &o) {
            try at(k.stringValue) { d in
                switch k {
                case .source: source = try d.string()
                case .tables: tables = try d.null() ? nil : d.array { try $0.string() }
                case .unknown: unknown = try d.optionalString()
                }
            }
        }
        return NetfilterTables(source: try required(source, K.source), tables: tables, unknown: unknown)
    }

    // MARK: - values

    private func required<T, K: CodingKey>(_ v: T?, _ key: K) throws(Failure) -> T {
        guard let v else { throw .field(path: [], detail: "missing field \"\(key.stringValue)\"") }
        return v
    }

    /// Runs `body` for the value of member `key`, adding the key to a failure's path.
    @inline(__always)
    private mutating func at<T>(_ key: @autoclosure () -> String, _ body: (inout SnapshotDecoder) throws -> T) throws -> T {
        do { return try body(&self) } catch let f as Failure { throw f.at(.key(key())) }
    }

    private mutating func family() throws -> IPAddress.Family {
        let s = try stringSpan()
        if !s.escaped {
            if equals(s, "inet") { return .v4 }
            if equals(s, "inet6") { return .v6 }
        }
        let text = try makeString(s)
        switch text {
        case "inet": return .v4
        case "inet6": return .v6
        default: throw Failure.field(path: [], detail: "unknown family \(text) (inet or inet6)")
        }
    }

    private mutating func routeType() throws -> RouteType {
        let s = try stringSpan()
        if !s.escaped {
            if equals(s, "unicast") { return .unicast }
            if equals(s, "local") { return .local }
        }
        let text = try makeString(s)
        guard let t = RouteType(name: text) else { throw Failure.field(path: [], detail: "unknown route type \(text)") }
        return t
    }

    /// A String-backed enum (namespace status, discovery kind).
    private mutating func rawEnum<E: RawRepresentable>() throws -> E where E.RawValue == String {
        let text = try string()
        guard let e = E(rawValue: text) else {
            throw Failure.field(path: [], detail: "unknown value \"\(text)\" for \(E.self)")
        }
        return e
    }

    private mutating func ipAddress() throws -> IPAddress {
        let s = try stringSpan()
        if !s.escaped, let a = IPAddress.parse(bytes(s)) { return a }
        let text = try makeString(s)
        guard let a = IPAddress(text) else { throw Failure.field(path: [], detail: "not an IP address: \(text)") }
        return a
    }

    private mutating func ipPrefix() throws -> IPPrefix {
        let s = try stringSpan()
        if !s.escaped, let pr = IPPrefix.parse(bytes(s)) { return pr }
        let text = try makeString(s)
        do throws(IPPrefixError) { return try IPPrefix(validating: text) } catch {
            throw Failure.field(path: [], detail: "not an IP prefix: \(error)")
        }
    }

    /// Consumes `null` if it is next.
    private mutating func null() throws -> Bool {
        skipWhitespace()
        guard i + 3 < n, p[i] == UInt8(ascii: "n") else { return false }
        guard p[i + 1] == UInt8(ascii: "u"), p[i + 2] == UInt8(ascii: "l"), p[i + 3] == UInt8(ascii: "l") else {
            throw Failure.syntax
        }
        i += 4
        return true
    }

    private mutating func optionalString() throws -> String? { try null() ? nil : string() }
    private mutating func optionalInteger<T: FixedWidthInteger>() throws -> T? { try null() ? nil : integer() }

    private mutating func bool() throws -> Bool {
        skipWhitespace()
        if i < n && p[i] == UInt8(ascii: "t") { try literal("true"); return true }
        if i < n && p[i] == UInt8(ascii: "f") { try literal("false"); return false }
        throw mismatch("a boolean")
    }

    private func startsWith(_ word: StaticString) -> Bool {
        let m = word.utf8CodeUnitCount
        return i + m <= n && memcmp(p + i, word.utf8Start, m) == 0
    }

    private mutating func literal(_ word: StaticString) throws(Failure) {
        let m = word.utf8CodeUnitCount
        guard i + m <= n, memcmp(p + i, word.utf8Start, m) == 0 else { throw .syntax }
        i += m
    }

    /// An integer that must fit `T`.
    private mutating func integer<T: FixedWidthInteger>() throws -> T {
        skipWhitespace()
        let start = i
        var negative = false
        if i < n && p[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        guard i < n, p[i] >= 48, p[i] <= 57 else {
            if negative { throw Failure.syntax }
            throw mismatch("an integer")
        }
        var v: UInt64 = 0, overflow = false
        if p[i] == 48 {
            i += 1
            if i < n && p[i] >= 48 && p[i] <= 57 { throw Failure.syntax }   // leading zero
        } else {
            while i < n, p[i] >= 48, p[i] <= 57 {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(p[i] - 48))
                v = a; overflow = overflow || o1 || o2
                i += 1
            }
        }
        if i < n && (p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            throw Failure.unsupported("number with a fraction or exponent")
        }
        if negative && v == 0 && !T.isSigned { throw Failure.unsupported("-0") }
        if !overflow {
            if !negative, let x = T(exactly: v) { return x }
            if negative, v <= UInt64(Int64.max) + 1 {
                let s = v == UInt64(Int64.max) + 1 ? Int64.min : -Int64(v)
                if let x = T(exactly: s) { return x }
            }
        }
        let text = String(decoding: UnsafeBufferPointer(start: p + start, count: i - start), as: UTF8.self)
        throw Failure.field(path: [], detail: "number \(text) does not fit \(T.self) (\(T.min)...\(T.max))")
    }

    private mutating func string() throws -> String { try makeString(try stringSpan()) }

    private func makeString(_ s: StringSpan) throws(Failure) -> String {
        let text: String?
        if s.escaped {
            text = String(validating: try unescape(s), as: UTF8.self)
        } else {
            text = String(validating: bytes(s), as: UTF8.self)
        }
        guard let text else { throw .unsupported("invalid UTF-8 in a string") }
        return text
    }

    /// A string's bytes between the quotes (not unescaped).
    @inline(__always) private func bytes(_ s: StringSpan) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: p + s.start, count: s.end - s.start)
    }

    private func equals(_ s: StringSpan, _ word: StaticString) -> Bool {
        s.end - s.start == word.utf8CodeUnitCount && memcmp(p + s.start, word.utf8Start, word.utf8CodeUnitCount) == 0
    }

    /// `[` elements `]`, adding the index to a failure's path.
    private mutating func array<T>(_ element: (inout SnapshotDecoder) throws -> T) throws -> [T] {
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: "[") else { throw mismatch("an array") }
        i += 1
        var out: [T] = []
        let start = i
        skipWhitespace()
        if i < n && p[i] == UInt8(ascii: "]") { i += 1; return out }
        while true {
            do { out.append(try element(&self)) } catch let f as Failure { throw f.at(.index(out.count)) }
            if out.count == 4096 {
                // A long array (routes): size it from the bytes left and the first elements'
                // average size rather than doubling a million-element buffer several times.
                // An overestimate costs address space only (untouched pages are not resident).
                let estimate = 4096 + (n - i) / max(1, (i - start) / 4096)
                if estimate > out.capacity { out.reserveCapacity(estimate + estimate / 16) }
            }
            skipWhitespace()
            guard i < n else { throw Failure.syntax }
            if p[i] == UInt8(ascii: ",") { i += 1; continue }
            if p[i] == UInt8(ascii: "]") { i += 1; return out }
            throw Failure.syntax
        }
    }

    /// An object used as a dictionary (nsids, sysctls, metrics); a repeated key keeps the last value.
    private mutating func dictionary<T>(_ value: (inout SnapshotDecoder) throws -> T) throws -> [String: T] {
        try beginObject()
        var out: [String: T] = [:]
        var o = ObjectCursor()
        while let s = try nextKey(&o) {
            let key = try makeString(s)
            out[key] = try at(key) { try value(&$0) }
        }
        return out
    }

    // MARK: - JSON structure

    struct StringSpan { var start: Int; var end: Int; var escaped: Bool }
    struct ObjectCursor { var first = true; var hint = 0 }

    @inline(__always)
    private mutating func skipWhitespace() {
        while i < n {
            let c = p[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            i += 1
        }
    }

    /// A well-formed value of the wrong kind is a field error; anything else is a syntax error.
    private mutating func mismatch(_ expected: String) -> Failure {
        skipWhitespace()
        guard i < n else { return .syntax }
        let found: String
        switch p[i] {
        case UInt8(ascii: "\""): found = "a string"
        case UInt8(ascii: "{"): found = "an object"
        case UInt8(ascii: "["): found = "an array"
        case UInt8(ascii: "t") where startsWith("true"), UInt8(ascii: "f") where startsWith("false"): found = "a boolean"
        case UInt8(ascii: "n") where startsWith("null"): found = "null"
        case UInt8(ascii: "-"), 48...57: found = "a number"
        default: return .syntax
        }
        return .field(path: [], detail: "expected \(expected), found \(found)")
    }

    private mutating func beginObject() throws {
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: "{") else { throw mismatch("an object") }
        i += 1
    }

    /// The next member's key (the `:` consumed), or nil at the closing brace.
    @inline(__always)
    private mutating func nextKey(_ o: inout ObjectCursor) throws(Failure) -> StringSpan? {
        skipWhitespace()
        guard i < n else { throw .syntax }
        if p[i] == UInt8(ascii: "}") { i += 1; return nil }
        if o.first {
            o.first = false
        } else {
            guard p[i] == UInt8(ascii: ",") else { throw .syntax }
            i += 1
            skipWhitespace()
        }
        guard i < n, p[i] == UInt8(ascii: "\"") else { throw .syntax }   // also rejects {"a":1,}
        let s = try stringSpan()
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: ":") else { throw .syntax }
        i += 1
        return s
    }

    /// The next member this type knows, skipping the others; nil at the closing brace.
    @inline(__always)
    private mutating func field<K: EncodedCodingKey>(_ table: FieldTable<K>, _ o: inout ObjectCursor) throws(Failure) -> K? {
        while true {
            guard let s = try nextKey(&o) else { return nil }
            let found: Int?
            if s.escaped {
                let key = try unescape(s)
                found = key.withUnsafeBufferPointer { table.match($0.baseAddress!, $0.count, from: o.hint) }
            } else {
                found = table.match(p + s.start, s.end - s.start, from: o.hint)
            }
            if let f = found { o.hint = f + 1; return table.keys[f] }
            try skipValue(depth: 0)
        }
    }

    /// A string's bytes between the quotes (not unescaped).
    @inline(__always)
    private mutating func stringSpan() throws(Failure) -> StringSpan {
        skipWhitespace()
        guard i < n, p[i] == UInt8(ascii: "\"") else { throw mismatch("a string") }
        i += 1
        let start = i
        var escaped = false
        while i < n {
            let c = p[i]
            if c == UInt8(ascii: "\"") { i += 1; return StringSpan(start: start, end: i - 1, escaped: escaped) }
            if c == UInt8(ascii: "\\") {
                escaped = true
                i += 2
                continue
            }
            if c < 0x20 { throw .syntax }
            i += 1
        }
        throw .syntax
    }

    /// The bytes a string with escapes stands for.
    private func unescape(_ s: StringSpan) throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.end - s.start)
        var j = s.start
        func hex4(_ at: Int) throws(Failure) -> UInt32 {
            guard at + 4 <= s.end else { throw .syntax }
            var v: UInt32 = 0
            for k in at ..< at + 4 {
                let c = p[k]
                let d: UInt32
                switch c {
                case 48...57: d = UInt32(c - 48)
                case 97...102: d = UInt32(c - 87)
                case 65...70: d = UInt32(c - 55)
                default: throw .syntax
                }
                v = v << 4 | d
            }
            return v
        }
        while j < s.end {
            let c = p[j]
            guard c == UInt8(ascii: "\\") else { out.append(c); j += 1; continue }
            guard j + 1 < s.end else { throw .syntax }
            let e = p[j + 1]
            j += 2
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4(j)
                j += 4
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by \u and a low one.
                    guard j + 6 <= s.end, p[j] == UInt8(ascii: "\\"), p[j + 1] == UInt8(ascii: "u") else {
                        throw .unsupported("lone surrogate in a string")
                    }
                    let low = try hex4(j + 2)
                    guard low >= 0xDC00 && low < 0xE000 else { throw .unsupported("lone surrogate in a string") }
                    j += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw .unsupported("lone surrogate in a string")
                }
                guard let u = Unicode.Scalar(scalar) else { throw .unsupported("invalid \\u escape") }
                out.append(contentsOf: UTF8.encode(u)!)
            default: throw .syntax
            }
        }
        return out
    }

    /// Skips any value, checking its syntax.
    private mutating func skipValue(depth: Int) throws(Failure) {
        guard depth < 512 else { throw .unsupported("nesting deeper than 512") }
        skipWhitespace()
        guard i < n else { throw .syntax }
        switch p[i] {
        case UInt8(ascii: "\""):
            let s = try stringSpan()
            if s.escaped { _ = try unescape(s) }
        case UInt8(ascii: "{"):
            i += 1
            var o = ObjectCursor()
            while try nextKey(&o) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            i += 1
            skipWhitespace()
            if i < n && p[i] == UInt8(ascii: "]") { i += 1; return }
            while true {
                try skipValue(depth: depth + 1)
                skipWhitespace()
                guard i < n else { throw .syntax }
                if p[i] == UInt8(ascii: ",") { i += 1; continue }
                if p[i] == UInt8(ascii: "]") { i += 1; return }
                throw .syntax
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "-"), 48...57: try skipNumber()
        default: throw .syntax
        }
    }

    /// Any JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    private mutating func skipNumber() throws(Failure) {
        func digits(_ d: inout SnapshotDecoder) -> Int {
            let s = d.i
            while d.i < d.n, d.p[d.i] >= 48, d.p[d.i] <= 57 { d.i += 1 }
            return d.i - s
        }
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { throw .syntax }
        if p[i] == 48 { i += 1 } else if digits(&self) == 0 { throw .syntax }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw .syntax }
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits(&self) > 0 else { throw .syntax }
        }
    }
}

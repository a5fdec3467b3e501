/// Streams a snapshot as JSON (the schema in `schema/snapshot.schema.json`).
///
/// Hand-written rather than `JSONEncoder` because a namespace can hold a million routes and
/// the snapshot must be written faster than `ip -j route show` prints it: this writer appends
/// bytes to a buffer and hands full chunks to `sink`, so memory stays flat. Field names and
/// shapes match the `CodingKeys` of the model types; the round-trip tests decode its output
/// with `JSONDecoder` and compare the values.
public struct SnapshotWriter {
    public typealias Sink = ([UInt8]) throws -> Void
    private var w: JSONWriter

    public init(chunkSize: Int = 1 << 20, sink: @escaping Sink) {
        w = JSONWriter(chunkSize: chunkSize, sink: sink)
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
        w.begin()
        w.key("schema"); w.string(s.schema)
        w.key("generator"); w.string(s.generator)
        w.key("host"); w.string(s.host)
        w.key("kernel"); w.string(s.kernel)
        w.key("taken_at"); w.string(s.takenAt)
        if let m = s.metadata {
            w.key("metadata"); w.begin()
            w.key("source"); w.string(m.source)
            if let l = m.lab { w.key("lab"); w.string(l) }
            if let n = m.note { w.key("note"); w.string(n) }
            w.end()
        }
        w.key("namespaces"); w.beginArray()
        try w.flushIfFull()
    }

    public mutating func finish() throws {
        w.endArray(); w.end(); w.raw("\n")
        try w.flush()
    }

    public mutating func writeNamespace(_ ns: NamespaceSnapshot) throws {
        w.element(); w.begin()
        w.key("id"); w.string(ns.id)
        w.key("names"); w.beginArray(); for n in ns.names { w.element(); w.string(n) }; w.endArray()
        w.key("inode"); w.int(ns.inode)
        w.key("found_by"); w.beginArray()
        for d in ns.foundBy {
            w.element(); w.begin()
            w.key("kind"); w.string(d.kind.rawValue)
            w.key("path"); w.string(d.path)
            if let p = d.pid { w.key("pid"); w.int(p) }
            if let c = d.comm { w.key("comm"); w.string(c) }
            w.end()
        }
        w.endArray()
        w.key("status"); w.string(ns.status.rawValue)
        if let e = ns.error { w.key("error"); w.string(e) }
        w.key("consistent"); w.bool(ns.consistent)
        w.key("dump_retries"); w.int(ns.dumpRetries)
        w.key("nsids"); w.begin()
        for (k, v) in ns.nsids.sorted(by: { $0.key < $1.key }) { w.key(k); w.string(v) }
        w.end()
        let names = Dictionary(ns.links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })

        w.key("links"); w.beginArray()
        for l in ns.links { w.element(); writeLink(l) }
        w.endArray()
        w.key("addresses"); w.beginArray()
        for a in ns.addresses { w.element(); writeAddress(a, names) }
        w.endArray()
        w.key("rules"); w.beginArray()
        for r in ns.rules { w.element(); writeRule(r) }
        w.endArray()
        try w.flushIfFull()
        w.key("routes"); w.beginArray()
        for r in ns.routes {
            w.element(); writeRoute(r, names)
            try w.flushIfFull()
        }
        w.endArray()
        w.key("nexthops"); w.beginArray()
        for n in ns.nexthops { w.element(); writeNexthop(n, names) }
        w.endArray()
        w.key("sysctls"); w.begin()
        for (k, v) in ns.sysctls.sorted(by: { $0.key < $1.key }) { w.key(k); w.int(v) }
        w.end()
        w.key("sockets"); w.beginArray()
        for s in ns.sockets { w.element(); writeSocket(s, names) }
        w.endArray()
        w.end()
        try w.flushIfFull()
    }

    private mutating func writeLink(_ l: Link) {
        w.begin()
        w.key("index"); w.int(l.index)
        w.key("name"); w.string(l.name)
        if let k = l.kind { w.key("kind"); w.string(k) }
        if let k = l.slaveKind { w.key("slave_kind"); w.string(k) }
        w.key("flags"); w.int(l.flags)
        w.key("flag_names"); w.beginArray()
        for (bit, name) in LinkFlags.names where l.flags & bit != 0 { w.element(); w.string(name) }
        w.endArray()
        w.key("admin_up"); w.bool(l.adminUp)
        w.key("operstate"); w.string(l.operstate)
        if let c = l.carrier { w.key("carrier"); w.bool(c) }
        w.key("mtu"); w.int(l.mtu)
        w.key("link_type"); w.int(l.linkType)
        if let m = l.mac { w.key("mac"); w.string(m) }
        if let m = l.master { w.key("master"); w.int(m) }
        if let t = l.vrfTable { w.key("vrf_table"); w.int(t) }
        if let x = l.link { w.key("link"); w.int(x) }
        if let x = l.linkNetnsid { w.key("link_netnsid"); w.int(x) }
        if let x = l.peerNetns { w.key("peer_netns"); w.string(x) }
        w.key("group"); w.int(l.group)
        w.end()
    }

    private mutating func writeAddress(_ a: Address, _ names: [Int32: String]) {
        w.begin()
        w.key("index"); w.int(a.index)
        if let n = names[a.index] { w.key("dev"); w.string(n) }
        w.key("family"); w.string(a.family.description)
        w.key("local"); w.address(a.local)
        if let p = a.peer { w.key("peer"); w.address(p) }
        w.key("prefixlen"); w.int(a.prefixlen)
        w.key("scope"); w.int(a.scope)
        w.key("flags"); w.int(a.flags)
        w.key("flag_names"); w.beginArray()
        for (bit, name) in AddressFlags.names where a.flags & bit != 0 { w.element(); w.string(name) }
        w.endArray()
        if let b = a.broadcast { w.key("broadcast"); w.address(b) }
        if let l = a.label { w.key("label"); w.string(l) }
        if let v = a.validLifetime { w.key("valid_lft"); w.int(v) }
        if let v = a.preferredLifetime { w.key("preferred_lft"); w.int(v) }
        w.end()
    }

    private mutating func writeRule(_ r: Rule) {
        w.begin()
        w.key("family"); w.string(r.family.description)
        w.key("priority"); w.int(r.priority)
        w.key("table"); w.int(r.table)
        w.key("action"); w.int(r.action)
        w.key("action_name"); w.string(RuleAction.name(r.action))
        if let g = r.gotoTarget { w.key("goto"); w.int(g) }
        if let p = r.src { w.key("src"); w.prefix(p) }
        if let p = r.dst { w.key("dst"); w.prefix(p) }
        if let x = r.iif { w.key("iif"); w.string(x) }
        if let x = r.oif { w.key("oif"); w.string(x) }
        w.key("flags"); w.int(r.flags)
        if let x = r.fwmark { w.key("fwmark"); w.int(x) }
        if let x = r.fwmask { w.key("fwmask"); w.int(x) }
        w.key("tos"); w.int(r.tos)
        if let x = r.ipproto { w.key("ipproto"); w.int(x) }
        if let x = r.sport { w.key("sport"); w.range(x.start, x.end) }
        if let x = r.dport { w.key("dport"); w.range(x.start, x.end) }
        if let x = r.uidrange { w.key("uidrange"); w.range(x.start, x.end) }
        w.key("l3mdev"); w.bool(r.l3mdev)
        if let x = r.suppressPrefixlen { w.key("suppress_prefixlength"); w.int(x) }
        if let x = r.suppressIfgroup { w.key("suppress_ifgroup"); w.int(x) }
        w.key("protocol"); w.int(r.protocol)
        if let x = r.realms { w.key("realms"); w.int(x) }
        w.end()
    }

    private mutating func writeRoute(_ r: Route, _ names: [Int32: String]) {
        w.begin()
        w.key("family"); w.string(r.family.description)
        w.key("table"); w.int(r.table)
        w.key("type"); w.string(r.type.name)
        w.key("dst"); w.prefix(r.dst)
        if let s = r.src { w.key("src"); w.prefix(s) }
        w.key("tos"); w.int(r.tos)
        w.key("protocol"); w.int(r.protocol)
        w.key("scope"); w.int(r.scope)
        w.key("metric"); w.int(r.metric)
        if let p = r.prefsrc { w.key("prefsrc"); w.address(p) }
        if let g = r.gateway { w.key("gateway"); w.address(g) }
        if let o = r.oif {
            w.key("oif"); w.int(o)
            if let n = names[o] { w.key("dev"); w.string(n) }
        }
        w.key("flags"); w.int(r.flags)
        if let nhs = r.nexthops {
            w.key("nexthops"); w.beginArray()
            for nh in nhs {
                w.element(); w.begin()
                if let g = nh.gateway { w.key("gateway"); w.address(g) }
                if let o = nh.oif {
                    w.key("oif"); w.int(o)
                    if let n = names[o] { w.key("dev"); w.string(n) }
                }
                w.key("weight"); w.int(nh.weight)
                w.key("flags"); w.int(nh.flags)
                w.end()
            }
            w.endArray()
        }
        if let x = r.nhid { w.key("nhid"); w.int(x) }
        if let m = r.metrics {
            w.key("metrics"); w.begin()
            for (k, v) in m.sorted(by: { $0.key < $1.key }) { w.key(k); w.int(v) }
            w.end()
        }
        if let x = r.pref { w.key("pref"); w.int(x) }
        w.end()
    }

    private mutating func writeNexthop(_ n: Nexthop, _ names: [Int32: String]) {
        w.begin()
        w.key("id"); w.int(n.id)
        w.key("family"); w.int(n.family)
        if let g = n.gateway { w.key("gateway"); w.address(g) }
        if let o = n.oif {
            w.key("oif"); w.int(o)
            if let name = names[o] { w.key("dev"); w.string(name) }
        }
        w.key("blackhole"); w.bool(n.blackhole)
        w.key("flags"); w.int(n.flags)
        w.key("protocol"); w.int(n.protocol)
        if let s = n.scope { w.key("scope"); w.int(s) }
        if let g = n.group {
            w.key("group"); w.beginArray()
            for m in g {
                w.element(); w.begin(); w.key("id"); w.int(m.id); w.key("weight"); w.int(m.weight); w.end()
            }
            w.endArray()
        }
        if let t = n.groupType { w.key("group_type"); w.string(t) }
        w.key("fdb"); w.bool(n.fdb)
        w.end()
    }

    private mutating func writeSocket(_ s: Socket, _ names: [Int32: String]) {
        w.begin()
        w.key("protocol"); w.string(s.protocol)
        w.key("family"); w.string(s.family.description)
        w.key("state"); w.string(s.state)
        w.key("local"); w.address(s.local)
        w.key("local_port"); w.int(s.localPort)
        w.key("remote"); w.address(s.remote)
        w.key("remote_port"); w.int(s.remotePort)
        if let b = s.boundIf {
            w.key("bound_if"); w.int(b)
            if let n = names[b] { w.key("bound_dev"); w.string(n) }
        }
        if let u = s.uid { w.key("uid"); w.int(u) }
        if let i = s.inode { w.key("inode"); w.int(i) }
        w.end()
    }
}

/// A minimal streaming JSON byte writer (compact output, one container stack).
struct JSONWriter {
    private var buf: [UInt8] = []
    private var needComma: [Bool] = []
    private let chunkSize: Int
    private let sink: SnapshotWriter.Sink

    init(chunkSize: Int, sink: @escaping SnapshotWriter.Sink) {
        self.chunkSize = chunkSize
        self.sink = sink
        buf.reserveCapacity(chunkSize + 4096)
    }

    mutating func flushIfFull() throws { if buf.count >= chunkSize { try flush() } }
    mutating func flush() throws {
        if !buf.isEmpty { try sink(buf); buf.removeAll(keepingCapacity: true) }
    }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { buf.append(contentsOf: $0) }
    }
    mutating func begin() { buf.append(UInt8(ascii: "{")); needComma.append(false) }
    mutating func end() { buf.append(UInt8(ascii: "}")); needComma.removeLast() }
    mutating func beginArray() { buf.append(UInt8(ascii: "[")); needComma.append(false) }
    mutating func endArray() { buf.append(UInt8(ascii: "]")); needComma.removeLast() }
    /// Separator before an array element.
    mutating func element() {
        if needComma[needComma.count - 1] { buf.append(UInt8(ascii: ",")) } else { needComma[needComma.count - 1] = true }
    }
    mutating func key(_ k: String) {
        element()
        string(k)
        buf.append(UInt8(ascii: ":"))
    }
    mutating func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }
    mutating func int<T: BinaryInteger>(_ v: T) {
        if v == 0 { buf.append(48); return }
        var x = Int64(v)
        if x < 0 { buf.append(UInt8(ascii: "-")); x = -x }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { p in
            while x > 0 { p[n] = UInt8(48 + x % 10); x /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { buf.append(p[i]) }
        }
    }
    mutating func string(_ s: String) {
        buf.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): buf.append(92); buf.append(c)
            case UInt8(ascii: "\\"): buf.append(92); buf.append(c)
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buf.append(contentsOf: [92, UInt8(ascii: "u"), 48, 48, hex[Int(c >> 4)], hex[Int(c & 15)]])
            default: buf.append(c)
            }
        }
        buf.append(UInt8(ascii: "\""))
    }
    mutating func address(_ a: IPAddress) {
        if a.family == .v4 {
            buf.append(UInt8(ascii: "\""))
            let v = a.v4
            int(v >> 24); buf.append(46); int((v >> 16) & 0xff); buf.append(46)
            int((v >> 8) & 0xff); buf.append(46); int(v & 0xff)
            buf.append(UInt8(ascii: "\""))
        } else {
            string(a.description)
        }
    }
    mutating func prefix(_ p: IPPrefix) {
        if p.family == .v4 {
            address(p.address)
            buf.removeLast()
            buf.append(UInt8(ascii: "/")); int(p.length); buf.append(UInt8(ascii: "\""))
        } else {
            string(p.description)
        }
    }
    mutating func range<T: BinaryInteger>(_ a: T, _ b: T) {
        begin(); key("start"); int(a); key("end"); int(b); end()
    }
}

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
        if s.kernelFacts.recorded {
            w.key("kernel_facts"); w.begin()
            w.key("release"); w.string(s.kernelFacts.release)
            w.key("ipv6_multicast_routing"); w.bool(s.kernelFacts.ipv6MulticastRouting)
            w.end()
        }
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

    /// `,"dev":"NAME"` on its own (for `DeviceNames`).
    mutating func fragment(dev name: String) {
        w.raw(",\"dev\":"); w.string(name)
        try! w.flush()   // the in-memory sink cannot throw
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
        for (k, v) in ns.nsids.sorted(by: { $0.key < $1.key }) { w.key(string: k); w.string(v) }
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
        let devs = DeviceNames(ns.links)
        for r in ns.routes {
            w.element(); writeRoute(r, devs)
            try w.flushIfFull()
        }
        w.endArray()
        w.key("nexthops"); w.beginArray()
        for n in ns.nexthops { w.element(); writeNexthop(n, names) }
        w.endArray()
        w.key("sysctls"); w.begin()
        for (k, v) in ns.settings.sysctlEntries() { w.key(string: k); w.int(v) }
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

    /// The hot path (a million routes): member names and separators are written as literal
    /// fragments, no container bookkeeping, `"dev"` from a per-namespace table.
    private mutating func writeRoute(_ r: Route, _ devs: DeviceNames) {
        w.raw(r.family == .v4 ? "{\"family\":\"inet\",\"table\":" : "{\"family\":\"inet6\",\"table\":")
        w.uint(UInt64(r.table))
        w.raw(",\"type\":\""); w.raw(Self.routeTypeName(r.type)); w.raw("\",\"dst\":")
        w.prefix(r.dst)
        if let s = r.src { w.raw(",\"src\":"); w.prefix(s) }
        w.raw(",\"tos\":"); w.uint(UInt64(r.tos))
        w.raw(",\"protocol\":"); w.uint(UInt64(r.protocol))
        w.raw(",\"scope\":"); w.uint(UInt64(r.scope))
        w.raw(",\"metric\":"); w.uint(UInt64(r.metric))
        if let p = r.prefsrc { w.raw(",\"prefsrc\":"); w.address(p) }
        if let g = r.gateway { w.raw(",\"gateway\":"); w.address(g) }
        if let o = r.oif {
            w.raw(",\"oif\":"); w.int(o)
            devs.write(o, to: w)
        }
        w.raw(",\"flags\":"); w.uint(UInt64(r.flags))
        if let nhs = r.nexthops {
            w.raw(",\"nexthops\":[")
            var first = true
            for nh in nhs {
                if first { w.raw("{") } else { w.raw(",{") }
                first = false
                var sep = false
                if let g = nh.gateway { w.raw("\"gateway\":"); w.address(g); sep = true }
                if let o = nh.oif {
                    if sep { w.raw(",") }
                    w.raw("\"oif\":"); w.int(o)
                    devs.write(o, to: w)
                    sep = true
                }
                if sep { w.raw(",") }
                w.raw("\"weight\":"); w.uint(UInt64(nh.weight))
                w.raw(",\"flags\":"); w.uint(UInt64(nh.flags))
                w.raw("}")
            }
            w.raw("]")
        }
        if let x = r.nhid { w.raw(",\"nhid\":"); w.uint(UInt64(x)) }
        if let m = r.metrics {
            w.raw(",\"metrics\":{")
            if m.count == 1, let (k, v) = m.first {
                w.string(k); w.raw(":"); w.uint(UInt64(v))
            } else {
                var first = true
                for (k, v) in m.sorted(by: { $0.key < $1.key }) {
                    if !first { w.raw(",") }
                    first = false
                    w.string(k); w.raw(":"); w.uint(UInt64(v))
                }
            }
            w.raw("}")
        }
        if let x = r.pref { w.raw(",\"pref\":"); w.uint(UInt64(x)) }
        w.raw("}")
    }

    private static func routeTypeName(_ t: RouteType) -> StaticString {
        switch t {
        case .unspec: "none"; case .unicast: "unicast"; case .local: "local"
        case .broadcast: "broadcast"; case .anycast: "anycast"; case .multicast: "multicast"
        case .blackhole: "blackhole"; case .unreachable: "unreachable"; case .prohibit: "prohibit"
        case .throw: "throw"; case .nat: "nat"; case .xresolve: "xresolve"
        }
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


/// `,"dev":"NAME"` fragments of a namespace's links, encoded once and looked up by ifindex
/// (a flat table for the usual small indexes, a dictionary otherwise). The first link with
/// an index wins, as in the address and socket writers.
struct DeviceNames {
    private var dense: [[UInt8]?] = []
    private var sparse: [Int32: [UInt8]] = [:]

    init(_ links: [Link]) {
        var encoded: [(Int32, [UInt8])] = []
        for l in links {
            var frag: [UInt8] = []
            var tmp = SnapshotWriter(chunkSize: 1 << 16) { frag += $0 }
            tmp.fragment(dev: l.name)
            encoded.append((l.index, frag))
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

    @inline(__always) func write(_ index: Int32, to w: JSONWriter) {
        let frag: [UInt8]?
        if index >= 0 && Int(index) < dense.count { frag = dense[Int(index)] } else { frag = sparse[index] }
        if let frag { frag.withUnsafeBufferPointer { w.bytes($0) } }
    }
}

/// A minimal streaming JSON byte writer (compact output). Bytes go into one manually managed
/// buffer (no Array bounds/uniqueness checks per byte); numbers, IPv4/IPv6 addresses and
/// prefixes are formatted straight into it without building Strings. Container state is a
/// bit stack: bit `d` of `hasElement` says whether the container at depth `d` has an element.
final class JSONWriter {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private(set) var count = 0
    private let chunkSize: Int
    private let sink: SnapshotWriter.Sink
    private var depth = 0
    private var hasElement: UInt64 = 0

    init(chunkSize: Int, sink: @escaping SnapshotWriter.Sink) {
        self.chunkSize = max(chunkSize, 4096)
        self.sink = sink
        capacity = self.chunkSize + 64 * 1024
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func flushIfFull() throws { if count >= chunkSize { try flush() } }
    func flush() throws {
        if count > 0 {
            let chunk = Array(UnsafeBufferPointer(start: base, count: count))
            count = 0
            try sink(chunk)
        }
    }

    /// Makes room for `n` more bytes (the buffer grows when one element outgrows it).
    @inline(__always) func reserve(_ n: Int) {
        if count + n > capacity { grow(n) }
    }
    @inline(never) private func grow(_ n: Int) {
        let newCapacity = max(capacity * 2, count + n + 4096)
        let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        nb.update(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = newCapacity
    }
    /// Appends one byte; the caller has reserved room.
    @inline(__always) func put(_ b: UInt8) { base[count] = b; count += 1 }
    @inline(__always) func byte(_ b: UInt8) { reserve(1); put(b) }
    @inline(__always) func bytes(_ p: UnsafeBufferPointer<UInt8>) {
        reserve(p.count)
        if let a = p.baseAddress { (base + count).update(from: a, count: p.count) }
        count += p.count
    }
    @inline(__always) func raw(_ s: StaticString) {
        let n = s.utf8CodeUnitCount
        reserve(n)
        (base + count).update(from: s.utf8Start, count: n)
        count += n
    }
    /// Drops the last byte written (used to splice a prefix length into a quoted address).
    @inline(__always) func removeLast() { count -= 1 }

    // MARK: containers
    @inline(__always) private func push() {
        depth += 1
        precondition(depth < 64, "JSON nesting too deep")
        hasElement &= ~(1 << UInt64(depth))
    }
    @inline(__always) private func pop() { depth -= 1 }
    func begin() { byte(UInt8(ascii: "{")); push() }
    func end() { byte(UInt8(ascii: "}")); pop() }
    func beginArray() { byte(UInt8(ascii: "[")); push() }
    func endArray() { byte(UInt8(ascii: "]")); pop() }
    /// Separator before an array element or object member.
    @inline(__always) func element() {
        let bit: UInt64 = 1 << UInt64(depth)
        if hasElement & bit != 0 { byte(UInt8(ascii: ",")) } else { hasElement |= bit }
    }
    /// A member name known at compile time (plain ASCII, no escaping needed).
    @inline(__always) func key(_ k: StaticString) {
        element()
        let n = k.utf8CodeUnitCount
        reserve(n + 3)
        put(UInt8(ascii: "\""))
        (base + count).update(from: k.utf8Start, count: n)
        count += n
        put(UInt8(ascii: "\"")); put(UInt8(ascii: ":"))
    }
    /// A member name from data (escaped like any string).
    func key(string k: String) {
        element()
        string(k)
        byte(UInt8(ascii: ":"))
    }

    // MARK: scalars
    func bool(_ b: Bool) { if b { raw("true") } else { raw("false") } }

    @inline(__always) func int<T: BinaryInteger>(_ v: T) {
        if T.isSigned && v < 0 {
            byte(UInt8(ascii: "-"))
            uint(UInt64(v.magnitude))
        } else {
            uint(UInt64(v))
        }
    }

    /// "00" "01" ... "99"
    private static let pairs: StaticString =
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

    func uint(_ v: UInt64) {
        if v < 10 { byte(48 &+ UInt8(truncatingIfNeeded: v)); return }
        var digits = 1
        var t = v
        while t >= 10 { t /= 10; digits += 1 }
        reserve(digits)
        var x = v
        var i = count + digits
        let pairs = JSONWriter.pairs.utf8Start
        while x >= 100 {
            let r = Int(x % 100); x /= 100
            i -= 2
            base[i] = pairs[2 * r]; base[i + 1] = pairs[2 * r + 1]
        }
        if x >= 10 {
            let r = Int(x)
            i -= 2
            base[i] = pairs[2 * r]; base[i + 1] = pairs[2 * r + 1]
        } else {
            i -= 1
            base[i] = 48 &+ UInt8(truncatingIfNeeded: x)
        }
        count += digits
    }

    /// 0...255 without a division loop; the caller has reserved 3 bytes.
    @inline(__always) private func octet(_ v: UInt32) {
        if v >= 100 {
            let h = v / 100, r = v - h * 100
            put(48 &+ UInt8(truncatingIfNeeded: h))
            put(48 &+ UInt8(truncatingIfNeeded: r / 10)); put(48 &+ UInt8(truncatingIfNeeded: r % 10))
        } else if v >= 10 {
            put(48 &+ UInt8(truncatingIfNeeded: v / 10)); put(48 &+ UInt8(truncatingIfNeeded: v % 10))
        } else {
            put(48 &+ UInt8(truncatingIfNeeded: v))
        }
    }

    func string(_ s: String) {
        var s = s
        s.withUTF8 { p in
            reserve(p.count + 2)
            put(UInt8(ascii: "\""))
            var clean = true
            for c in p where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { clean = false; break }
            if clean {
                if let a = p.baseAddress { (base + count).update(from: a, count: p.count) }
                count += p.count
            } else {
                escaped(p)
            }
            byte(UInt8(ascii: "\""))
        }
    }

    @inline(never) private func escaped(_ p: UnsafeBufferPointer<UInt8>) {
        let hex: StaticString = "0123456789abcdef"
        for c in p {
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): reserve(2); put(92); put(c)
            case 0..<0x20:
                reserve(6)
                put(92); put(UInt8(ascii: "u")); put(48); put(48)
                put(hex.utf8Start[Int(c >> 4)]); put(hex.utf8Start[Int(c & 15)])
            default: byte(c)
            }
        }
    }

    /// The address text without quotes (what `IPAddress.description` gives).
    @inline(__always) private func addressText(_ a: IPAddress) {
        if a.family == .v4 { v4Text(a.v4) } else { v6Text(a.bits) }
    }

    private func v4Text(_ v: UInt32) {
        reserve(15)
        octet(v >> 24); put(46); octet((v >> 16) & 0xff); put(46)
        octet((v >> 8) & 0xff); put(46); octet(v & 0xff)
    }

    /// RFC 5952 text with glibc's embedded-IPv4 forms; must match `IPAddress.description`.
    private func v6Text(_ bits: UInt128) {
        var w: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        reserve(46)
        withUnsafeMutableBytes(of: &w) { raw in
            let w = raw.bindMemory(to: UInt16.self)
            for i in 0..<8 { w[i] = UInt16(truncatingIfNeeded: bits >> UInt128(16 * (7 - i))) }
            let (bestStart, bestLen, embedsV4) = IPAddress.v6Layout { w[$0] }
            let hex: StaticString = "0123456789abcdef"
            let h = hex.utf8Start
            var i = 0
            while i < 8 {
                if i == bestStart {
                    if i == 0 { put(58) }
                    put(58)
                    i += bestLen
                    continue
                }
                if embedsV4 && i == 6 {
                    v4Text(UInt32(w[6]) << 16 | UInt32(w[7]))
                    break
                }
                let x = w[i]
                if x >= 0x1000 { put(h[Int(x >> 12)]) }
                if x >= 0x100 { put(h[Int((x >> 8) & 15)]) }
                if x >= 0x10 { put(h[Int((x >> 4) & 15)]) }
                put(h[Int(x & 15)])
                if i < 7 { put(58) }
                i += 1
            }
        }
    }

    func address(_ a: IPAddress) {
        byte(UInt8(ascii: "\""))
        addressText(a)
        byte(UInt8(ascii: "\""))
    }
    func prefix(_ p: IPPrefix) {
        byte(UInt8(ascii: "\""))
        addressText(p.address)
        byte(UInt8(ascii: "/"))
        uint(UInt64(p.length))
        byte(UInt8(ascii: "\""))
    }
    func range<T: BinaryInteger>(_ a: T, _ b: T) {
        begin(); key("start"); int(a); key("end"); int(b); end()
    }
}

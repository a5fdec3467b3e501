// Micro-benchmarks of the byte-level text code through NSAuditCore's public API: the
// snapshot writer and reader, address parsing and formatting, route-get --batch text and
// JSON (one core). Built and run by bench/micro-bench.sh against one or more trees.
import Foundation
import NSAuditCore

let env = ProcessInfo.processInfo.environment
let n4 = Int(env["V4"] ?? "") ?? 500_000
let n6 = Int(env["V6"] ?? "") ?? 50_000
let runs = Int(env["RUNS"] ?? "") ?? 5
let queries = Int(env["Q"] ?? "") ?? 200_000
/// Only the measurements whose names contain this (for profiling one of them).
let only = env["ONLY"] ?? ""

var rng = SplitMix64(seed: 42)
func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
/// The best of `runs` timings of `body`, in seconds.
func best(_ name: String = "", _ body: () -> Void) -> Double {
    if !only.isEmpty && !name.contains(only) { return 0 }
    var b = Double.infinity
    for _ in 0..<runs { let t = now(); body(); b = min(b, now() - t) }
    return b
}
func report(_ name: String, _ seconds: Double, _ items: Int, _ unit: String) {
    let pad = name.padding(toLength: 44, withPad: " ", startingAt: 0)
    print(String(format: "%@ %9.2f ms  %8.1f ns/%@", pad, seconds * 1e3, seconds * 1e9 / Double(items), unit))
}

// one namespace: n4 IPv4 routes (gateways, device routes, multipath), n6 IPv6 routes
var ns = NamespaceSnapshot(id: "bench", names: ["bench"])
var lo = Link(index: 1, name: "lo", flags: LinkFlags.up | LinkFlags.loopback | LinkFlags.lowerUp, operstate: "UNKNOWN", mtu: 65536, linkType: 772)
lo.group = 0
ns.links = [lo] + (2...5).map { Link(index: Int32($0), name: "eth\($0 - 2)", flags: LinkFlags.up | LinkFlags.lowerUp, operstate: "UP") }
ns.addresses = [Address(index: 1, local: IPAddress("127.0.0.1")!, prefixlen: 8, scope: 254)]
    + (2...5).map { Address(index: Int32($0), local: IPAddress(v4: 0x0a00_0001 | UInt32($0) << 8), prefixlen: 24) }
    + (2...5).map { Address(index: Int32($0), local: IPAddress(v6: UInt128(0xfd00) << 112 | UInt128($0) << 64 | 1), prefixlen: 64) }
ns.rules = [Rule(family: .v4, priority: 0, table: 255), Rule(family: .v4, priority: 32766, table: 254), Rule(family: .v4, priority: 32767, table: 253),
            Rule(family: .v6, priority: 0, table: 255), Rule(family: .v6, priority: 32766, table: 254)]
var routes: [Route] = []
routes.reserveCapacity(n4 + n6 + 16)
var d = Route(family: .v4, table: 254, type: .unicast, dst: .any(.v4)); d.gateway = IPAddress(v4: 0x0a00_02fe); d.oif = 2
routes.append(d)
for k in 2...5 {
    var c = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v4: 0x0a00_0000 | UInt32(k) << 8), 24), protocol: 2, scope: 253)
    c.oif = Int32(k); c.prefsrc = IPAddress(v4: 0x0a00_0001 | UInt32(k) << 8)
    routes.append(c)
    var l = Route(family: .v4, table: 255, type: .local, dst: IPPrefix(IPAddress(v4: 0x0a00_0001 | UInt32(k) << 8), 32), protocol: 2, scope: 254)
    l.oif = Int32(k); l.prefsrc = l.dst.address
    routes.append(l)
}
let lens: [Int] = [8, 12, 16, 16, 20, 22, 23, 24, 24, 24, 24, 24, 24, 28, 32]
for i in 0..<n4 {
    let len = lens[Int(rng.next() % UInt64(lens.count))]
    let a = UInt32(truncatingIfNeeded: 0x0100_0000 &+ rng.next() % 0xDE00_0000)
    var r = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v4: a), len))
    let dev = Int32(2 + i % 4)
    switch i % 20 {
    case 0: r.nexthops = [RouteNexthop(gateway: IPAddress(v4: 0x0a00_0202), oif: 2), RouteNexthop(gateway: IPAddress(v4: 0x0a00_0302), oif: 3)]
    case 1, 2: r.oif = dev; r.scope = 253
    default: r.oif = dev; r.gateway = IPAddress(v4: 0x0a00_0002 | UInt32(dev) << 8 | UInt32(i % 200) + 2)
    }
    routes.append(r)
}
for i in 0..<n6 {
    let len = [48, 56, 64, 64, 64, 128][i % 6]
    let a = UInt128(0x2001_0db8) << 96 | UInt128(rng.next()) << 32 | UInt128(rng.next() & 0xffff_ffff)
    var r = Route(family: .v6, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v6: a), len), metric: 1024)
    r.oif = Int32(2 + i % 4); r.gateway = IPAddress(v6: UInt128(0xfe80) << 112 | UInt128(i % 250 + 1)); r.pref = 0
    routes.append(r)
}
ns.routes = routes
let snap = Snapshot(generator: "micro", host: "h", kernel: "6.18", takenAt: "now", namespaces: [ns])

print("micro-bench: \(n4) IPv4 + \(n6) IPv6 routes, \(queries) route-get lines, best of \(runs) runs")

// 1. the snapshot writer and reader
var bytes = SnapshotWriter.encode(snap)
let tw = best("write") { bytes = []; bytes = SnapshotWriter.encode(snap) }
report("snapshot write (SnapshotWriter)", tw, routes.count, "route")
let data = Data(bytes)
var back: Snapshot?
let tr = best("read") { back = try! SnapshotReader.decode(data, name: "bench") }
precondition(back == nil || back == snap, "the snapshot reads back")
report("snapshot read (SnapshotDecoder)", tr, routes.count, "route")
print(String(format: "  (%.0f MB)", Double(bytes.count) / 1e6))

// 2. address text
let addrs: [IPAddress] = routes.map { $0.gateway ?? $0.dst.address }
let texts = addrs.map(\.description)
let prefixTexts = routes.map(\.dst.description)
var sink = 0
let tp = best("parse") { for t in texts { sink &+= IPAddress(t)?.family == .v4 ? 1 : 2 } }
report("IPAddress(String)", tp, texts.count, "addr")
let tpp = best("parse") { for t in prefixTexts { sink &+= Int(IPPrefix(t)?.length ?? 0) } }
report("IPPrefix(String)", tpp, prefixTexts.count, "prefix")
let tf = best("format") { for a in addrs { sink &+= a.description.utf8.count } }
report("IPAddress.description", tf, addrs.count, "addr")

// 3. route-get --batch, one core
let model = only.isEmpty || only == "batch" ? RoutingModel(ns) : RoutingModel(NamespaceSnapshot(id: "empty"))
var lines: [UInt8] = []
for _ in 0..<queries {
    lines += IPAddress(v4: UInt32(truncatingIfNeeded: 0x0100_0000 &+ rng.next() % 0xDE00_0000)).description.utf8
    lines.append(10)
}
for json in [false, true] {
    var out = 0
    let t = best("batch") {
        out = 0
        _ = RouteGetBatch.run(model: model, input: lines, json: json, workers: 1) { b, _ in out += b.count }
    }
    report("route-get --batch \(json ? "--json" : "text"), one core", t, queries, "line")
}
if sink == 42 { print("") }

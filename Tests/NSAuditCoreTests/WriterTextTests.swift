import Foundation
import NSAuditCore
import Testing

/// The snapshot writer formats numbers, addresses and prefixes itself (no String building on
/// the hot path); its text must stay exactly what `description` gives, which is what `ip`
/// prints and what the readers parse.
@Suite struct WriterTextTests {
    static func addresses() -> [IPAddress] {
        var out: [IPAddress] = []
        let fixed = ["::", "::1", "::2", "::ffff:10.1.2.3", "::10.1.2.3", "::0.0.1.0", "1::", "1::1",
                     "fe80::1", "2001:db8::", "2001:db8:0:1:0:0:0:1", "2001:db8:0:0:1:0:0:1",
                     "1:0:0:2:0:0:0:3", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0:0:0:0:0:1:0:0",
                     "1:2:3:4:5:6:7:8", "1:0:3:4:5:6:7:8", "::ffff:0:1", "64:ff9b::192.0.2.1",
                     "0.0.0.0", "255.255.255.255", "10.0.0.1", "1.2.3.4", "100.10.1.99", "9.99.199.200"]
        out += fixed.map { IPAddress($0)! }
        var g = SeededRandom(17)
        for i in 0..<3000 {
            // Random words, many of them zero, so runs of zeros land everywhere.
            var v: UInt128 = 0
            for _ in 0..<8 {
                let w: UInt16 = Int.random(in: 0..<3, using: &g) == 0 ? UInt16.random(in: 0...UInt16.max, using: &g)
                    : (Int.random(in: 0..<4, using: &g) == 0 ? UInt16.random(in: 0..<16, using: &g) : 0)
                v = v << 16 | UInt128(w)
            }
            out.append(IPAddress(v6: v))
            out.append(IPAddress(v4: UInt32.random(in: 0...UInt32.max, using: &g) >> UInt32(i % 32)))
        }
        return out
    }

    @Test func addressesAndPrefixesMatchDescription() throws {
        let addrs = Self.addresses()
        var ns = NamespaceSnapshot(id: "t")
        ns.links = [Link(index: 2, name: "eth0")]
        for (i, a) in addrs.enumerated() {
            let len = i % (a.family.bitWidth + 1)
            var r = Route(family: a.family, table: UInt32(i), type: .unicast, dst: IPPrefix(a, len), metric: UInt32.max - UInt32(i))
            r.gateway = a
            r.oif = i % 3 == 0 ? 2 : 7   // 7: no such link, no "dev"
            ns.routes.append(r)
        }
        let snap = Snapshot(generator: "t", host: "h", kernel: "k", takenAt: "now", namespaces: [ns])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(SnapshotWriter.encode(snap))) as? [String: Any])
        let nss = try #require(json["namespaces"] as? [[String: Any]])
        let routes = try #require(nss.first?["routes"] as? [[String: Any]])
        #expect(routes.count == ns.routes.count)
        for (r, j) in zip(ns.routes, routes) {
            #expect(j["gateway"] as? String == r.gateway!.description)
            #expect(j["dst"] as? String == r.dst.description)
            #expect((j["table"] as? NSNumber)?.uint32Value == r.table)
            #expect((j["metric"] as? NSNumber)?.uint32Value == r.metric)
            #expect((j["dev"] as? String) == (r.oif == 2 ? "eth0" : nil))
        }
        // And the typed reader gets the same values back.
        let back = try JSONDecoder().decode(Snapshot.self, from: Data(SnapshotWriter.encode(snap)))
        #expect(back.namespaces[0].routes == ns.routes)
    }

    @Test func stringsAndIntegersAreEscapedAndFormatted() throws {
        var ns = NamespaceSnapshot(id: "q\"uo\\te\u{1}\ttab \u{e9}\u{1F600}", names: ["a\nb"], inode: UInt64.max)
        ns.dumpRetries = -3
        ns.settings = RoutingSettings(sysctls: ["net.ipv4.conf.x.rp_filter": -1, "big": Int.max, "small": Int.min + 1])
        var r = Route(family: .v4, table: 0, type: .blackhole, dst: IPPrefix.any(.v4))
        r.metrics = ["mtu": 0]
        ns.routes = [r]
        let snap = Snapshot(generator: "g", host: "h", kernel: "k", takenAt: "t", namespaces: [ns])
        let text = String(decoding: SnapshotWriter.encode(snap), as: UTF8.self)
        #expect(text.contains(#""id":"q\"uo\\te\u0001\u0009tab é😀""#))
        #expect(text.contains(#""names":["a\u000ab"]"#))
        #expect(text.contains("\"inode\":\(UInt64.max)"))
        #expect(text.contains("\"dump_retries\":-3"))
        #expect(text.contains("\"big\":\(Int.max)"))
        #expect(text.contains("\"small\":\(Int.min + 1)"))
        #expect(text.contains(#""type":"blackhole","dst":"0.0.0.0/0""#))
        #expect(text.contains(#""metrics":{"mtu":0}"#))
        let back = try JSONDecoder().decode(Snapshot.self, from: Data(text.utf8))
        #expect(back == snap)
    }
}

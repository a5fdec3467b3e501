import Foundation
@testable import NSAuditCore
import Testing

/// The per-/24 output block index (OutputBlockIndex4) must decide destination-only IPv4
/// output lookups exactly as the general path: on every recorded corpus namespace (with the
/// index forced onto their small tables, merged and unmerged), against the recorded kernel
/// answers, and on large generated tables with rules ahead of the indexed table.
@Suite("IPv4 output block index")
struct OutputBlockIndexTests {
    /// Destinations that probe every prefix of `ns`: its first and last address and their
    /// neighbours, inside a few blocks, plus random and special addresses.
    static func probes(_ ns: NamespaceSnapshot, random: Int, extra: [UInt32] = []) -> [UInt32] {
        var rng = SeededRandom(UInt64(random) &+ 14)
        var out = extra
        for r in ns.routes where r.family == .v4 {
            let k = UInt32(truncatingIfNeeded: r.dst.address.bits)
            let end = r.dst.length == 0 ? UInt32.max : k | (UInt32.max >> UInt32(r.dst.length))
            out += [k, k &+ 1, k &- 1, end, end &+ 1, end &- 1, k | 0x80, k &+ 0x100]
        }
        for a in ns.addresses where a.family == .v4 { out += [a.local.v4, a.local.v4 | 0xff, a.local.v4 &+ 0x100] }
        for _ in 0..<random { out.append(UInt32.random(in: 0...UInt32.max, using: &rng)) }
        out += [0, 1, 0xffff_ffff, 0x7f00_0001, 0x7f12_3456, 0xe000_0001, 0xefff_fffe, 0xf000_0001, 0x0a00_0001]
        return out
    }

    /// Compares the indexed model with the general one on `dsts`, one at a time, in bulk and
    /// (every fourth) with an oif, mark, tos or source.
    /// Returns how many lookups the index answered and the disagreements.
    static func compare(_ indexed: RoutingModel, _ general: RoutingModel, _ dsts: [UInt32], _ name: String) -> (Int, [String]) {
        var answered = 0, bad: [String] = []
        for a in dsts {
            if indexed.accel4.answersDestinationOnly(a) {
                answered += 1
            }
            let got = indexed.decideOutput4(dst: a), want = general.decideOutput4(dst: a)
            if got != want { bad.append("\(name) \(IPAddress(v4: a)): got \(got) want \(want)") }
        }
        // other flows: the table lookup reads the index's blocks as the table's /24 index
        for a in dsts.enumerated().filter({ $0.offset % 4 == 0 }).map(\.element) {
            for (oif, mark, tos, src) in [(Int32(2), UInt32(0), UInt8(0), UInt32(0)), (3, 0, 0, 0), (0, 7, 0, 0), (0, 0, 0x10, 0),
                                          (0, 0, 0, 0x0A00_0001)] {
                let got = indexed.decideOutput4(dst: a, src: src, oif: oif, mark: mark, tos: tos)
                let want = general.decideOutput4(dst: a, src: src, oif: oif, mark: mark, tos: tos)
                if got != want { bad.append("\(name) \(IPAddress(v4: a)) oif \(oif) mark \(mark) tos \(tos) src \(src): got \(got) want \(want)") }
            }
        }
        let out = UnsafeMutablePointer<RoutingModel.OutputDecision4>.allocate(capacity: dsts.count)
        defer { out.deinitialize(count: dsts.count); out.deallocate() }
        dsts.withUnsafeBufferPointer { _ = indexed.decideOutput4(destinations: $0, into: out) }
        for (i, a) in dsts.enumerated() where out[i] != general.decideOutput4(dst: a) {
            bad.append("\(name) \(IPAddress(v4: a)): bulk differs"); break
        }
        return (answered, bad)
    }

    @Test("the index forced onto every corpus namespace decides as the general path")
    func corpusNamespaces() throws {
        let files = LookupCorpusReplayTests.corpusFiles("generated") + LookupCorpusReplayTests.corpusFiles("vrf")
        #expect(files.count >= 100)
        var total = 0, answered = 0, indexedModels = 0, bad: [String] = []
        for f in files {
            let (header, cases) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
            let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
            let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            guard let ns = snap.namespace(header.namespace) else { continue }
            var extra: [UInt32] = []
            for c in cases {
                if let a = c.query.split(separator: " ").first.flatMap({ IPAddress(String($0)) }), a.family == .v4 { extra.append(a.v4) }
            }
            let dsts = Self.probes(ns, random: 100, extra: extra)
            for unmerged in [false, true] {
                let general = RoutingModel(ns, forceUnmerged: unmerged, outputIndexMinimum: Int.max)
                let indexed = RoutingModel(ns, forceUnmerged: unmerged, outputIndexMinimum: 0)
                #expect(!general.accel4.hasOutputIndex)
                if indexed.accel4.hasOutputIndex { indexedModels += 1 }
                let (n, b) = Self.compare(indexed, general, dsts, (f as NSString).lastPathComponent + (unmerged ? " unmerged" : ""))
                answered += n; total += dsts.count; bad += b
            }
        }
        // the index must actually answer many lookups, or this test checks nothing (most
        // corpus namespaces have a few routes, many of them local, and no default route)
        #expect(indexedModels >= 120, "only \(indexedModels) models have an index")
        #expect(answered >= 10_000, "the index answered \(answered) of \(total) lookups")
        #expect(bad.isEmpty, "\(bad.count) disagreements: \(bad.prefix(10))")
    }

    @Test("recorded kernel answers are reproduced with the index forced onto the corpus")
    func corpusKernelAnswers() throws {
        let files = LookupCorpusReplayTests.corpusFiles("generated") + LookupCorpusReplayTests.corpusFiles("vrf")
        let (tally, failures) = try LookupCorpusReplayTests.replay(files, title: "route-get offline replay with the output block index") {
            RoutingModel($0, forceUnmerged: false, outputIndexMinimum: 0)
        }
        #expect(tally.total >= 20_000)
        #expect(failures.isEmpty, "\(failures.count) disagreements: \(failures.prefix(20))")
    }

    /// A namespace with `n` IPv4 routes of every kind, clustered so that many /24 blocks hold
    /// longer prefixes, and the rules of `rules`.
    static func generated(_ n: Int, rules: [Rule], seed: UInt64) -> NamespaceSnapshot {
        var ns = NamespaceSnapshot(id: "generated")
        let up = LinkFlags.up | LinkFlags.lowerUp | LinkFlags.broadcast | 0x40
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.up | LinkFlags.loopback | LinkFlags.lowerUp),
                    Link(index: 2, name: "eth0", flags: up), Link(index: 3, name: "eth1", flags: up)]
        ns.addresses = [Address(index: 1, local: IPAddress("127.0.0.1")!, prefixlen: 8, scope: Scope.host),
                        Address(index: 2, local: IPAddress("10.0.0.1")!, prefixlen: 24),
                        Address(index: 3, local: IPAddress("10.1.0.1")!, prefixlen: 24),
                        Address(index: 3, local: IPAddress("10.1.0.9")!, prefixlen: 24, flags: AddressFlags.secondary)]
        var rng = SplitMix64(seed: seed)
        func local(_ a: String, _ len: UInt8, _ type: RouteType, _ dev: Int32) -> Route {
            var r = Route(family: .v4, table: Table.local, type: type, dst: IPPrefix(IPAddress(a)!, Int(len)), protocol: 2, scope: Scope.host)
            r.oif = dev; r.prefsrc = IPAddress(a.hasPrefix("127") ? "127.0.0.1" : (dev == 2 ? "10.0.0.1" : "10.1.0.1"))
            return r
        }
        var routes = [local("127.0.0.0", 8, .local, 1), local("127.0.0.1", 32, .local, 1), local("127.255.255.255", 32, .broadcast, 1),
                      local("10.0.0.1", 32, .local, 2), local("10.0.0.255", 32, .broadcast, 2),
                      local("10.1.0.1", 32, .local, 3), local("10.1.0.255", 32, .broadcast, 3)]
        for (dev, net) in [(Int32(2), "10.0.0.0"), (3, "10.1.0.0")] {
            var r = Route(family: .v4, table: Table.main, type: .unicast, dst: IPPrefix(IPAddress(net)!, 24), protocol: 2, scope: Scope.link)
            r.oif = dev; r.prefsrc = IPAddress(dev == 2 ? "10.0.0.1" : "10.1.0.1")
            routes.append(r)
        }
        // two default routes of the same metric (fib_select_default), one of another
        for (gw, metric) in [("10.0.0.254", UInt32(0)), ("10.0.0.253", 0), ("10.1.0.254", 10)] {
            var r = Route(family: .v4, table: Table.main, type: .unicast, dst: IPPrefix("0.0.0.0/0")!, metric: metric)
            r.gateway = IPAddress(gw); r.oif = gw.hasPrefix("10.0") ? 2 : 3
            routes.append(r)
        }
        let lens: [UInt8] = [8, 12, 16, 16, 20, 22, 23, 24, 24, 24, 24, 25, 26, 28, 30, 32, 32]
        for i in 0..<n {
            let len = lens[Int(rng.next() % UInt64(lens.count))]
            // a third in a few dense /16s, the rest anywhere from 1.0.0.0 to 223.255.255.255
            let a = i % 3 == 0 ? UInt32(0xC612_0000) | UInt32(rng.next() % 4) << 16 | UInt32(rng.next() & 0xffff)
                : UInt32(0x0100_0000) + UInt32(rng.next() % 0xDF00_0000)
            let table = i % 17 == 0 ? UInt32(200) : Table.main
            var r = Route(family: .v4, table: table, type: .unicast, dst: IPPrefix(IPAddress(v4: a), Int(len)))
            switch rng.next() % 100 {
            case 0..<2: r.type = .blackhole
            case 2..<3: r.type = .unreachable
            case 3..<4: r.type = .prohibit
            case 4..<5: r.type = .throw
            case 5..<12: r.oif = 3; r.scope = Scope.link
            case 12..<17: r.nexthops = [RouteNexthop(gateway: IPAddress("10.0.0.2"), oif: 2), RouteNexthop(gateway: IPAddress("10.1.0.2"), oif: 3)]
            case 17..<19: r.oif = 2; r.gateway = IPAddress("10.0.0.3"); r.tos = 0x10
            case 19..<21: r.oif = 3; r.gateway = IPAddress("10.1.0.3"); r.flags = NexthopFlags.linkdown
            case 21..<22: r.oif = 2; r.gateway = IPAddress("10.0.0.4"); r.flags = NexthopFlags.dead
            case 22..<24: r.oif = 2; r.gateway = IPAddress("10.0.0.5"); r.prefsrc = IPAddress("10.1.0.9")
            case 24..<25: r.type = .local; r.oif = 2; r.scope = Scope.host
            case 25..<26: r.type = .broadcast; r.oif = 2; r.scope = Scope.link
            case 26..<27: r.oif = 1; r.scope = Scope.link; r.prefsrc = IPAddress("127.0.0.1")
            default: r.oif = 2; r.gateway = IPAddress(v4: 0x0A00_0002 + UInt32(rng.next() % 200))
            }
            routes.append(r)
            // a second alias of the same prefix now and then (another metric or tos)
            if rng.next() % 20 == 0 {
                var b = Route(family: .v4, table: table, type: .unicast, dst: r.dst, metric: 100)
                b.oif = 3; b.gateway = IPAddress("10.1.0.7")
                routes.append(b)
            }
        }
        ns.routes = routes
        ns.rules = rules
        return ns
    }

    static func rule(_ priority: UInt32, _ table: UInt32, action: UInt8 = RuleAction.toTable, dst: String? = nil,
                     src: String? = nil, invert: Bool = false, suppress: Int32? = nil, goto: UInt32? = nil) -> Rule {
        var r = Rule(family: .v4, priority: priority, table: table, action: action)
        r.dst = dst.flatMap { IPPrefix($0) }; r.src = src.flatMap { IPPrefix($0) }
        if invert { r.flags |= RuleFlags.invert }
        r.suppressPrefixlen = suppress; r.gotoTarget = goto
        return r
    }

    @Test("large generated tables: the index decides as the general path, with rules ahead of the table")
    func generatedTables() {
        let defaults = [Self.rule(0, Table.local), Self.rule(32766, Table.main), Self.rule(32767, Table.default)]
        // (name, rules, whether an index is built, whether it answers lookups)
        let ruleSets: [(String, [Rule], Bool, Bool)] = [
            ("default rules (merged local/main)", defaults, true, true),
            ("custom rules", [Self.rule(0, Table.local), Self.rule(10, 200, dst: "198.18.0.0/15"),
                              Self.rule(11, 0, action: RuleAction.unreachable, dst: "198.20.5.0/24"),
                              Self.rule(12, 0, action: RuleAction.prohibit, dst: "203.0.113.128/25"),
                              Self.rule(13, 0, action: RuleAction.goto, dst: "100.64.0.0/10", goto: 32767),
                              Self.rule(14, 201, src: "192.0.2.1/32"), Self.rule(15, 202),
                              Self.rule(32766, Table.main), Self.rule(32767, Table.default)], true, true),
            ("a suppressing main rule first", [Self.rule(0, Table.local), Self.rule(5, Table.main, suppress: 0),
                                               Self.rule(6, 200), Self.rule(32766, Table.main)], true, false),
            ("an inverted rule", [Self.rule(0, Table.local), Self.rule(5, 200, dst: "10.0.0.0/8", invert: true),
                                  Self.rule(32766, Table.main)], false, false),
        ]
        for (name, rules, expectIndex, expectAnswers) in ruleSets {
            let ns = Self.generated(30_000, rules: rules, seed: 7)
            let general = RoutingModel(ns, forceUnmerged: false, outputIndexMinimum: Int.max)
            let indexed = RoutingModel(ns)
            #expect(indexed.accel4.hasOutputIndex == expectIndex, "\(name): index built \(indexed.accel4.hasOutputIndex)")
            var extra: [UInt32] = []
            for b in stride(from: UInt32(0xC612_0000), to: 0xC616_0000, by: 0x40) { extra.append(b | 0x11) }
            let dsts = Self.probes(ns, random: 50_000, extra: extra)
            let (answered, bad) = Self.compare(indexed, general, dsts, name)
            if expectAnswers { #expect(answered * 3 >= dsts.count, "\(name): the index answered \(answered) of \(dsts.count)") }
            else { #expect(answered == 0, "\(name): the index answered \(answered)") }
            #expect(bad.isEmpty, "\(name): \(bad.count) disagreements: \(bad.prefix(10))")
        }
    }
}

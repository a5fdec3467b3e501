import Foundation
import NSAuditCore
import Testing

/// Unit tests of the FIB model on hand-built snapshots (the management-interface scenario)
/// and of its building blocks. The kernel-exactness proof is the differential corpus
/// (LookupCorpusReplayTests); these pin the scenario's expected answers and edge cases.
@Suite("FIB lookup model")
struct LookupTests {
    // MARK: building blocks

    @Test("PrefixTable agrees with a brute-force longest prefix match")
    func prefixTableMatchesBruteForce() {
        var rng = SeededRandom(14)
        var items: [(key: UInt32, length: UInt8, item: Int32)] = []
        for i in 0..<3000 {
            let len = UInt8.random(in: 0...32, using: &rng)
            let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << (32 - UInt32(len))
            let key = UInt32.random(in: 0...UInt32.max, using: &rng) & mask & 0xF0FF_FFFF
            items.append((key, len, Int32(i)))
        }
        let t = PrefixTable(items)
        for _ in 0..<20_000 {
            let a = UInt32.random(in: 0...UInt32.max, using: &rng) & 0xF0FF_FFFF
            var best = -1
            for (k, it) in items.enumerated() {
                let mask: UInt32 = it.length == 0 ? 0 : ~UInt32(0) << (32 - UInt32(it.length))
                if a & mask == it.key && (best < 0 || it.length > items[best].length) { best = k }
            }
            let e = t.lookup(a)
            if best < 0 { #expect(e == -1, rng.seedNote); continue }
            #expect(e >= 0, rng.seedNote)
            guard e >= 0 else { continue }
            #expect(t.entries[Int(e)].length == items[best].length && t.entries[Int(e)].key == items[best].key)
            // parent links cover the address with shorter prefixes
            let p = t.parent(e)
            if p >= 0 { #expect(t.entries[Int(p)].length < t.entries[Int(e)].length) }
        }
    }

    @Test("ip route get syntax: keywords, hexadecimal tos, errors")
    func queryParsing() throws {
        let q = try RouteQuery.parse("to 10.0.0.1 from 10.99.0.40 iif ens19 oif ens18 mark 0x10 ipproto tcp sport 1000 dport 22 uid 1000 tos 10 vrf mgmt")
        #expect(q.dst == IPAddress("10.0.0.1")! && q.src == IPAddress("10.99.0.40")!)
        #expect(q.iif == "ens19" && q.oif == "ens18" && q.vrf == "mgmt")
        #expect(q.mark == 16 && q.ipproto == 6 && q.sport == 1000 && q.dport == 22 && q.uid == 1000)
        #expect(q.tos == 0x10)   // rtnl_dsfield_a2n reads hexadecimal
        #expect(try RouteQuery.parse("2001:db8::1/128").dst == IPAddress("2001:db8::1")!)
        #expect(throws: RouteQueryError.missingDestination) { try RouteQuery.parse("from 10.0.0.1") }
        #expect(throws: RouteQueryError.badAddress("to", "10.0.0.300")) { try RouteQuery.parse("10.0.0.300") }
        #expect(throws: RouteQueryError.familyMismatch("::1", "10.0.0.1")) { try RouteQuery.parse("10.0.0.1 from ::1") }
        #expect(throws: RouteQueryError.missingArgument("iif")) { try RouteQuery.parse("10.0.0.1 iif") }
    }

    // MARK: the management-interface scenario

    /// Server of scenario variant 1 (broken): ens18 10.20.30.40/24 (data), ens19
    /// 10.99.0.40/24 (management), one table whose default points at the data side.
    static func server(rpFilterEns19: Int = 0, sourceRouting: Bool = false) -> NamespaceSnapshot {
        var ns = NamespaceSnapshot(id: "server")
        var lo = Link(index: 1, name: "lo", flags: LinkFlags.up | LinkFlags.loopback | LinkFlags.lowerUp)
        lo.operstate = "UNKNOWN"
        ns.links = [lo,
                    Link(index: 2, name: "ens18", flags: LinkFlags.up | LinkFlags.broadcast | LinkFlags.lowerUp | 0x40, operstate: "UP"),
                    Link(index: 3, name: "ens19", flags: LinkFlags.up | LinkFlags.broadcast | LinkFlags.lowerUp | 0x40, operstate: "UP")]
        ns.addresses = [Address(index: 1, local: IPAddress("127.0.0.1")!, prefixlen: 8, scope: Scope.host),
                        Address(index: 2, local: IPAddress("10.20.30.40")!, prefixlen: 24),
                        Address(index: 3, local: IPAddress("10.99.0.40")!, prefixlen: 24)]
        func r(_ table: UInt32, _ type: RouteType, _ dst: String, oif: Int32, gw: String? = nil, scope: UInt8 = 0, src: String? = nil) -> Route {
            var x = Route(family: .v4, table: table, type: type, dst: IPPrefix(dst)!, scope: scope)
            x.oif = oif; x.gateway = gw.flatMap { IPAddress($0) }; x.prefsrc = src.flatMap { IPAddress($0) }
            return x
        }
        ns.routes = [
            r(255, .local, "127.0.0.0/8", oif: 1, scope: Scope.host, src: "127.0.0.1"),
            r(255, .local, "127.0.0.1/32", oif: 1, scope: Scope.host, src: "127.0.0.1"),
            r(255, .local, "10.20.30.40/32", oif: 2, scope: Scope.host, src: "10.20.30.40"),
            r(255, .broadcast, "10.20.30.255/32", oif: 2, scope: Scope.link, src: "10.20.30.40"),
            r(255, .local, "10.99.0.40/32", oif: 3, scope: Scope.host, src: "10.99.0.40"),
            r(255, .broadcast, "10.99.0.255/32", oif: 3, scope: Scope.link, src: "10.99.0.40"),
            r(254, .unicast, "10.20.30.0/24", oif: 2, scope: Scope.link, src: "10.20.30.40"),
            r(254, .unicast, "10.99.0.0/24", oif: 3, scope: Scope.link, src: "10.99.0.40"),
            r(254, .unicast, "0.0.0.0/0", oif: 2, gw: "10.20.30.1"),
        ]
        ns.rules = [Rule(family: .v4, priority: 0, table: 255), Rule(family: .v4, priority: 32766, table: 254),
                    Rule(family: .v4, priority: 32767, table: 253)]
        if sourceRouting {
            var rule = Rule(family: .v4, priority: 100, table: 100)
            rule.src = IPPrefix("10.99.0.40/32")
            ns.rules.insert(rule, at: 1)
            ns.routes.append(r(100, .unicast, "0.0.0.0/0", oif: 3, gw: "10.99.0.1"))
        }
        ns.settings = RoutingSettings(sysctls: ["net.ipv4.ip_forward": 0, "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.ens19.rp_filter": rpFilterEns19])
        return ns
    }

    @Test("variant 1: the management reply leaves through the data side")
    func brokenVariantReplyLeaks() throws {
        let m = RoutingModel(Self.server())
        let request = try m.routeGet(line: "10.99.0.40 iif ens19 from 192.168.127.10")
        #expect(request.error == nil && request.type == .local && request.dev == "lo")
        let reply = try m.routeGet(line: "192.168.127.10 from 10.99.0.40")
        #expect(reply.error == nil && reply.dev == "ens18" && reply.gateway == IPAddress("10.20.30.1") && reply.table == 254)
    }

    @Test("variant 2: strict rp_filter on ens19 drops the request (EINVAL)")
    func strictRPFilterDrops() throws {
        let m = RoutingModel(Self.server(rpFilterEns19: 1))
        let request = try m.routeGet(line: "10.99.0.40 iif ens19 from 192.168.127.10")
        #expect(request.error == .EINVAL)
        // loose mode accepts: the source is reachable through some interface
        let loose = RoutingModel(Self.server(rpFilterEns19: 2))
        #expect(try loose.routeGet(line: "10.99.0.40 iif ens19 from 192.168.127.10").error == nil)
        // a source on ens19's own subnet passes strict mode
        #expect(try m.routeGet(line: "10.99.0.40 iif ens19 from 10.99.0.7").error == nil)
    }

    @Test("variant 5: a source rule sends management replies out of ens19")
    func sourceRoutingFixes() throws {
        let m = RoutingModel(Self.server(sourceRouting: true))
        let reply = try m.routeGet(line: "192.168.127.10 from 10.99.0.40")
        #expect(reply.dev == "ens18" ? false : reply.dev == "ens19")
        #expect(reply.gateway == IPAddress("10.99.0.1") && reply.table == 100 && reply.rule == 100)
        // other sources still use main; with custom rules the local table is its own (255)
        #expect(try m.routeGet(line: "192.168.127.10").dev == "ens18")
        #expect(try m.routeGet(line: "10.20.30.40").table == 255)
    }

    @Test("rule actions: goto, nop, unreachable, not, suppress_prefixlength")
    func ruleActions() throws {
        var ns = Self.server()
        var goto = Rule(family: .v4, priority: 10, table: 0, action: RuleAction.goto); goto.gotoTarget = 30
        var unreach = Rule(family: .v4, priority: 20, table: 0, action: RuleAction.unreachable)
        unreach.dst = IPPrefix("10.250.0.0/16")
        let nop = Rule(family: .v4, priority: 30, table: 0, action: RuleAction.nop)
        var prohibitNot = Rule(family: .v4, priority: 40, table: 0, action: RuleAction.prohibit)
        prohibitNot.dst = IPPrefix("0.0.0.0/1"); prohibitNot.flags = RuleFlags.invert
        var suppress = Rule(family: .v4, priority: 50, table: 254); suppress.suppressPrefixlen = 0
        ns.rules.insert(contentsOf: [goto, unreach, nop, prohibitNot, suppress], at: 1)
        let m = RoutingModel(ns)
        // goto 30 skips the unreachable rule at 20
        #expect(try m.routeGet(line: "10.250.0.1").error == nil)
        #expect(try m.routeGet(line: "10.250.0.1").dev == "ens18")
        // `not to 0.0.0.0/1` prohibits the upper half
        #expect(try m.routeGet(line: "192.0.2.1").error == .EACCES)
        #expect(try m.routeGet(line: "200.0.0.1").error == .EACCES)
        // suppress_prefixlength 0 ignores the default route of main at rule 50; rule 32766 takes it
        let r = try m.routeGet(line: "8.8.8.8")
        #expect(r.rule == 32766 && r.gateway == IPAddress("10.20.30.1"))
        #expect(try m.routeGet(line: "10.99.0.7").rule == 50)
    }

    @Test("bad queries name the problem")
    func badQueries() {
        let m = RoutingModel(Self.server())
        #expect(throws: RouteQueryError.unknownDevice("eth9")) { try m.routeGet(line: "10.0.0.1 oif eth9") }
        #expect(throws: RouteQueryError.notVRF("ens19")) { try m.routeGet(line: "10.0.0.1 vrf ens19") }
    }

    @Test("JSON rendering carries the issue's fields")
    func jsonRendering() throws {
        let m = RoutingModel(Self.server())
        let j = RouteGetFormat.json(try m.routeGet(line: "192.168.127.10 from 10.99.0.40"))
        #expect(j == #"{"query":"192.168.127.10 from 10.99.0.40","error":null,"type":"unicast","dev":"ens18","gateway":"10.20.30.1","table":254,"prefsrc":null,"rule":32766,"multipath":[]}"#)
        let e = RouteGetFormat.json(try m.routeGet(line: "10.99.0.40 iif ens19"))
        #expect(e.contains(#""error":"EINVAL""#))
        #expect(RouteGetFormat.text(try m.routeGet(line: "8.8.8.8"), model: m) == "8.8.8.8 via 10.20.30.1 dev ens18 src 10.20.30.40 uid 0 \n    cache ")
    }
}

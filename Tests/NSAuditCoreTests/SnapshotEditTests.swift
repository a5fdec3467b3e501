import Foundation
@testable import NSAuditCore
import Testing

/// Typed snapshot edits: rendered to `ip`/`sysctl` syntax and parsed back to the same edit
/// (every kind, every field, generated from a seed), and the remediations of every lab.
@Suite struct SnapshotEditTests {
    static func roundTrips(_ e: SnapshotEdit) -> Bool {
        (try? SnapshotEdit.parse(e.command, defaultNamespace: nil)) == [e]
    }

    @Test func everyRemediationOfEveryLabRoundTrips() throws {
        var checked = 0
        for lab in ReportGoldenTests.labs {
            let r = Lab.report(try Lab.snapshot(lab), source: "t")
            for f in r.findings { for m in f.remediation { for e in m.edits {
                #expect(Self.roundTrips(e), "\(lab): \(e.command)")
                checked += 1
            } } }
        }
        #expect(checked > 50)
    }

    @Test func generatedEditsRoundTrip() {
        var g = SeededRandom(2026)
        func pick<T>(_ a: [T]) -> T { a[Int(g.next() % UInt64(a.count))] }
        func chance() -> Bool { g.next() % 2 == 0 }
        func addr(_ f: IPAddress.Family) -> IPAddress {
            f == .v4 ? IPAddress(v4: UInt32(truncatingIfNeeded: g.next())) : IPAddress(v6: UInt128(g.next()) << 64 | UInt128(g.next()))
        }
        func prefix(_ f: IPAddress.Family) -> IPPrefix { IPPrefix(addr(f), Int(g.next() % UInt64(f.bitWidth + 1))) }
        let devs = ["ens19", "x.10", "bond0.200", "lo"]
        var edits: [SnapshotEdit] = []
        for _ in 0..<2000 {
            let f: IPAddress.Family = chance() ? .v4 : .v6
            let ns = pick(["server", "nsarec-server", "ns-x"])
            switch g.next() % 9 {
            case 0:
                edits.append(.addressAdd(netns: ns, device: pick(devs), address: addr(f), prefixLength: UInt8(g.next() % UInt64(f.bitWidth + 1)), noPrefixRoute: chance()))
            case 1:
                edits.append(.addressDel(netns: ns, device: pick(devs), address: addr(f), prefixLength: UInt8(g.next() % UInt64(f.bitWidth + 1))))
            case 2, 3:
                var r = SnapshotEdit.RouteSpec(family: f, dst: chance() ? nil : prefix(f))
                if chance() { r.type = pick([.unicast, .blackhole, .unreachable, .prohibit, .throw, .local]) }
                if chance() { r.gateway = addr(f) }
                if chance() { r.device = pick(devs) }
                if chance() { r.table = UInt32(pick([100, 253, 254, 255, 1000, 4_000_000])) }
                if chance() { r.metric = UInt32(truncatingIfNeeded: g.next()) }
                if chance() { r.prefsrc = addr(f) }
                if chance() { r.protocol = UInt8(truncatingIfNeeded: g.next()) }
                if chance() { r.scope = pick([0, 200, 253, 254, 255, 17]) }
                r.onlink = chance()
                if chance() { r.tos = UInt8(truncatingIfNeeded: g.next()) }
                if chance() { r.nhid = UInt32(truncatingIfNeeded: g.next()) }
                edits.append(g.next() % 3 == 0 ? .routeDel(netns: ns, route: r) : .routeAdd(netns: ns, route: r, replace: chance()))
            case 4, 5:
                var r = SnapshotEdit.RuleSpec(family: f)
                r.not = chance()
                if chance() { r.from = prefix(f) }
                if chance() { r.to = prefix(f) }
                if chance() { r.iif = pick(devs) }
                if chance() { r.oif = pick(devs) }
                if chance() { r.fwmark = UInt32(truncatingIfNeeded: g.next()); if chance() { r.fwmask = UInt32(truncatingIfNeeded: g.next()) } }
                if chance() { r.ipproto = UInt8(truncatingIfNeeded: g.next()) }
                if chance() { let a = UInt16(truncatingIfNeeded: g.next()); r.sport = PortRange(a, a &+ UInt16(g.next() % 100) < a ? a : a &+ UInt16(g.next() % 100)) }
                if chance() { let a = UInt16(truncatingIfNeeded: g.next() % 60000); r.dport = PortRange(a, a + UInt16(g.next() % 100)) }
                if chance() { r.action = pick([.lookup(100), .lookup(254), .blackhole, .unreachable, .prohibit, .nop, .goto(3000), .l3mdev]) }
                if chance() { r.suppressPrefixlength = Int32(g.next() % 129) }
                if chance() { r.tos = UInt8(truncatingIfNeeded: g.next()) }
                if chance() { let a = UInt32(g.next() % 100_000); r.uidrange = UIDRange(a, a + UInt32(g.next() % 1000)) }
                if chance() { r.suppressIfgroup = UInt32(g.next() % 1000) }
                if chance() { r.priority = UInt32(truncatingIfNeeded: g.next()) }
                edits.append(chance() ? .ruleAdd(netns: ns, rule: r) : .ruleDel(netns: ns, rule: r))
            case 6: edits.append(.vrfAdd(netns: ns, name: "vrf-" + pick(devs), table: UInt32(g.next() % 5000)))
            case 7: edits.append(.linkSet(netns: ns, device: pick(devs), change: pick([.up, .down, .nomaster, .master("mgmt"), .netns("other")])))
            default: edits.append(chance() ? .netnsAdd(ns) : .sysctl(netns: ns, name: "net.ipv4.conf.\(pick(["all", "x/10", "ens19"])).rp_filter", value: Int(g.next() % 3)))
            }
        }
        let bad = edits.filter { !Self.roundTrips($0) }
        #expect(bad.isEmpty, "\(bad.count) do not round-trip, e.g. \(bad.prefix(3).map(\.command)); \(g.seedNote)")
    }

    /// The text form is what an operator runs: checked against the commands nsaudit proposed
    /// before the edits were typed (the golden reports hold them).
    @Test func remediationCommandsReadLikeIP() throws {
        let r = Lab.report(try Lab.snapshot("mgmt-broken"), source: "t")
        let f = try #require(r.findings.first { $0.kind == .asymmetricReply && $0.localAddress == IPAddress("10.99.0.40") })
        let src = try #require(f.remediation.first { $0.kind == "source-routing" })
        #expect(src.commands == ["ip -n nsarec-server rule add from 10.99.0.40 lookup 100 priority 1000",
                                 "ip -n nsarec-server route add 10.99.0.0/24 dev ens19 table 100",
                                 "ip -n nsarec-server route add default via 10.99.0.1 dev ens19 table 100"])
    }
}

import Foundation
import NSAuditCLI
import NSAuditCore

/// In-process lookup benchmark: random destinations, output lookups, one core.
enum RouteGetBenchmark {
    /// A namespace like bench/route-get-bench.sh builds, made in memory.
    static func synthetic(_ n: Int) -> NamespaceSnapshot {
        var ns = NamespaceSnapshot(id: "synthetic")
        let up = LinkFlags.up | LinkFlags.lowerUp | LinkFlags.broadcast | 0x40
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.up | LinkFlags.loopback | LinkFlags.lowerUp),
                    Link(index: 2, name: "eth0", flags: up), Link(index: 3, name: "eth1", flags: up)]
        ns.addresses = [Address(index: 1, local: IPAddress("127.0.0.1")!, prefixlen: 8, scope: Scope.host),
                        Address(index: 2, local: IPAddress("10.0.0.1")!, prefixlen: 24),
                        Address(index: 3, local: IPAddress("10.1.0.1")!, prefixlen: 24),
                        Address(index: 2, local: IPAddress("2001:db8::1")!, prefixlen: 64)]
        var mix = SplitMix64(seed: 42)
        func next() -> UInt64 { mix.next() }
        let lens: [Int] = [8, 12, 12, 16, 16, 16, 16, 20, 20, 22, 22, 23, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 28, 32]
        var routes: [Route] = []
        routes.reserveCapacity(n + n / 10 + 8)
        var def = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix("0.0.0.0/0")!)
        def.gateway = IPAddress("10.0.0.254"); def.oif = 2
        routes.append(def)
        for _ in 0..<n {
            let len = lens[Int(next() % UInt64(lens.count))]
            let a = UInt32(0x0100_0000) + UInt32(next() % 0xDEFF_FFFF)
            var r = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v4: a), len))
            switch next() % 100 {
            case 0..<2: r.type = .blackhole
            case 2..<10: r.oif = 3; r.scope = Scope.link
            case 10..<15: r.nexthops = [RouteNexthop(gateway: IPAddress("10.0.0.2"), oif: 2), RouteNexthop(gateway: IPAddress("10.1.0.2"), oif: 3)]
            default: r.oif = 2; r.gateway = IPAddress(v4: 0x0A00_0002 + UInt32(next() % 200))
            }
            routes.append(r)
        }
        for _ in 0..<(n / 10) {
            let v = (UInt128(0x2001_0db8) << 96) | (UInt128(next()) << 32) | UInt128(next() & 0xffff_ffff)
            var r = Route(family: .v6, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v6: v), [40, 48, 56, 64, 64, 128][Int(next() % 6)]))
            r.oif = 2; r.gateway = IPAddress("2001:db8::2"); r.metric = 1024
            routes.append(r)
        }
        ns.routes = routes
        var rules = [Rule(family: .v4, priority: 0, table: 255)]
        for i in 0..<50 {
            var r = Rule(family: .v4, priority: UInt32(100 + i), table: UInt32(100 + i % 3))
            switch i % 5 {
            case 0: r.src = IPPrefix("192.0.2.\(i)/32")
            case 1: r.fwmark = UInt32(i + 1)
            case 2: r.dst = IPPrefix("198.18.\(i).0/24")
            case 3: r.iif = "eth1"
            default: r.ipproto = 6; r.dport = PortRange(UInt16(1000 + i), UInt16(1000 + i))
            }
            rules.append(r)
        }
        rules += [Rule(family: .v4, priority: 32766, table: 254), Rule(family: .v4, priority: 32767, table: 253),
                  Rule(family: .v6, priority: 0, table: 255), Rule(family: .v6, priority: 32766, table: 254)]
        ns.rules = rules
        return ns
    }

    static func run(model: RoutingModel, count: Int) {
        var rng = SystemRandomNumberGenerator()
        var mix = SplitMix64(seed: UInt64.random(in: 1...UInt64.max, using: &rng))
        func next() -> UInt64 { mix.next() }
        let clock = ContinuousClock()
        // 1. The output lookup (`route get DST`, iif lo): the policy rules, the table, the
        //    path and the source address, giving the decision (route, device, type, source,
        //    rule) that route-get then prints. No text is made here.
        var dsts: [UInt32] = []
        dsts.reserveCapacity(count)
        for _ in 0..<count { dsts.append(UInt32(truncatingIfNeeded: next())) }
        var routed = 0, errors = 0, check: Int64 = 0
        var t = clock.now
        var cpu0 = Timing.threadCPUSeconds()
        for a in dsts {
            let d = model.decideOutput4(dst: a)
            if d.error == nil { routed += 1; check &+= Int64(d.routeIndex) } else { errors += 1 }
        }
        var s = Timing.seconds(clock.now - t)
        var cpu = Timing.threadCPUSeconds() - cpu0
        print(String(format: "IPv4 output lookups (rules + table + path + source), one at a time: %d in %.3f s wall = %.0f lookups/s; %.3f s on-CPU = %.0f lookups per CPU-second (%d routed, %d errors, checksum %lld)",
                     count, s, Double(count) / s, cpu, Double(count) / cpu, routed, errors, check))
        // 1b. The same lookups through the bulk entry point (groups of 16 whose table reads
        //     are issued together so their cache misses overlap; each lookup is unchanged),
        //     1024 destinations per call into a reused buffer, as a batch would use it.
        let chunk = 1024
        let decisions = UnsafeMutablePointer<RoutingModel.OutputDecision4>.allocate(capacity: chunk)
        defer { decisions.deallocate() }
        let routedOne = routed, checkOne = check
        routed = 0; errors = 0; check = 0
        var touched = 0
        t = clock.now
        cpu0 = Timing.threadCPUSeconds()
        dsts.withUnsafeBufferPointer { all in
            var i = 0
            while i < count {
                let m = min(chunk, count - i)
                touched &+= model.decideOutput4(destinations: UnsafeBufferPointer(rebasing: all[i..<(i + m)]), into: decisions)
                for k in 0..<m {
                    let d = decisions[k]
                    if d.error == nil { routed += 1; check &+= Int64(d.routeIndex) } else { errors += 1 }
                }
                decisions.deinitialize(count: m)
                i += m
            }
        }
        s = Timing.seconds(clock.now - t)
        cpu = Timing.threadCPUSeconds() - cpu0
        print(String(format: "IPv4 output lookups (rules + table + path + source), bulk of 16: %d in %.3f s wall = %.0f lookups/s; %.3f s on-CPU = %.0f lookups per CPU-second (%d routed, %d errors, checksum %lld%@)",
                     count, s, Double(count) / s, cpu, Double(count) / cpu, routed, errors, check,
                     routed == routedOne && check == checkOne ? ", same decisions as one at a time" : ", DIFFERENT from one at a time"))
        _ = touched
        // 2. The same through the full route-get answer (RouteResult with names), IPv4 and IPv6.
        for (family, n) in [(IPAddress.Family.v4, max(1, count / 5)), (.v6, max(1, count / 10))] {
            var queries: [RouteQuery] = []
            queries.reserveCapacity(n)
            for _ in 0..<n {
                let a = family == .v4 ? IPAddress(v4: UInt32(truncatingIfNeeded: next()))
                    : IPAddress(v6: (UInt128(0x2001_0db8) << 96) | (UInt128(next() & 0xffff_ffff) << 64) | UInt128(next()))
                queries.append(RouteQuery(dst: a, line: "bench"))
            }
            routed = 0; errors = 0
            t = clock.now
            for q in queries {
                if let r = try? model.routeGet(q) {
                    if r.error == nil { routed += 1 } else { errors += 1 }
                }
            }
            s = Timing.seconds(clock.now - t)
            print(String(format: "%@ route-get answers (full RouteResult): %d in %.3f s = %.0f answers/s (%d routed, %d errors)",
                         family == .v4 ? "IPv4" : "IPv6", n, s, Double(n) / s, routed, errors))
        }
    }
}

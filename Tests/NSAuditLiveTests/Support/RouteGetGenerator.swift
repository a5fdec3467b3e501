import Foundation
import NSAuditCore

// Seeded, reproducible generator (SplitMix64) of namespace configurations and `ip route get`
// queries for the route-get differential test. A configuration is one namespace M whose
// interfaces are veth pairs to a peer namespace P; commands that the kernel refuses are simply
// skipped (the snapshot taken afterwards is the truth the model is built from).

struct GeneratedCase {
    var seed: UInt64
    var description: String
    /// Shell commands (root namespace) creating the veth pairs; %M and %P are the namespaces.
    var setup: [String]
    /// `ip -batch` lines run inside M.
    var batch: [String]
    /// sysctl assignments inside M, in order: (path under /proc/sys, value). Paths, not
    /// sysctl(8) names: a device name may hold dots (`e0.10`).
    var sysctls: [(String, String)]
    var queries: [(line: String, tags: [String])]
    /// Interfaces of M that are up with carrier: the harness waits until each has its
    /// link-local route (carrier and addrconf settle asynchronously).
    var carrierLinks = 0
}

struct RouteGetGenerator: SeededChoices {
    var rng: SplitMix64
    let seed: UInt64
    init(seed: UInt64) { self.seed = seed; rng = SplitMix64(seed: seed) }


    struct Iface { var name: String; var up: Bool; var carrier: Bool; var v4: [(String, Int)]; var v6: [String]; var idx: Int; var group: Int }

    mutating func make(queryCount: Int) -> GeneratedCase {
        var setup: [String] = [], batch: [String] = [], sysctls: [(String, String)] = []
        var desc: [String] = []
        let n = int(2...4)
        var ifaces: [Iface] = []
        for i in 0..<n {
            // Device names with dots, as VLAN and bond sub-interfaces have them on servers
            // (veths here: any kernel has them).
            let name = chance(0.3) ? pick(["e\(i).10", "bond\(i).200", "x\(i).5"]) : "e\(i)"
            let up = !chance(0.08)
            let carrier = up && !chance(0.18)
            setup.append("ip link add \(name) netns %M type veth peer name p\(i) netns %P")
            if carrier { setup.append("ip -n %P link set p\(i) up") }
            var v4: [(String, Int)] = [("10.\(i + 1).0.1", pick([24, 24, 16, 30]))]
            if chance(0.3) { v4.append(chance(0.5) ? ("10.\(i + 1).0.2", v4[0].1) : ("10.\(i + 101).1.1", 24)) }
            // 0.0.0.0/8 is ordinary unicast since Linux 5.3 (a martian range before).
            if chance(0.1) { v4.append(("0.\(i + 1).0.1", 16)) }
            var v6 = ["2001:db8:\(i + 1)::1"]
            if chance(0.3) { v6.append("fd00:\(i + 1)::1") }
            let group = chance(0.25) ? int(1...3) : 0
            ifaces.append(Iface(name: name, up: up, carrier: carrier, v4: v4, v6: v6, idx: i, group: group))
            for (a, l) in v4 { batch.append("addr add \(a)/\(l) dev \(name)") }
            for a in v6 { batch.append("addr add \(a)/64 dev \(name) nodad") }
            if group != 0 { batch.append("link set \(name) group \(group)") }
            if up { batch.append("link set \(name) up") }
            desc.append("\(name)\(up ? "" : ":down")\(carrier || !up ? "" : ":nocarrier")")
        }
        var loAddrs: [String] = []
        if chance(0.3) { let a = "192.0.2.\(int(1...9))"; loAddrs.append(a); batch.append("addr add \(a)/32 dev lo") }
        let upIfaces = ifaces.filter(\.up)
        func gw4(_ f: Iface, _ k: Int) -> String { "10.\(f.idx + 1).0.\(k)" }
        func gw6(_ f: Iface, _ k: Int) -> String { "2001:db8:\(f.idx + 1)::\(k)" }
        let locals4 = ifaces.flatMap { $0.v4.map(\.0) } + loAddrs
        let locals6 = ifaces.flatMap(\.v6)

        // Tables.
        var tables = ["main"]
        for t in ["100", "200", "300"] where chance(0.5) { tables.append(t) }
        // Nexthop objects.
        var nhIDs4: [Int] = [], nhIDs6: [Int] = []
        if !upIfaces.isEmpty && chance(0.6) {
            var id = 1
            var singles4: [Int] = [], singles6: [Int] = []
            for f in upIfaces where chance(0.7) {
                batch.append("nexthop add id \(id) via \(gw4(f, int(2...9))) dev \(f.name)"); singles4.append(id); id += 1
                batch.append("nexthop add id \(id) via \(gw6(f, int(2...9))) dev \(f.name)"); singles6.append(id); id += 1
            }
            if chance(0.3), let f = upIfaces.first { batch.append("nexthop add id \(id) dev \(f.name)"); singles4.append(id); id += 1 }
            if chance(0.2) { batch.append("nexthop add id \(id) blackhole"); singles4.append(id); id += 1 }
            nhIDs4 = singles4; nhIDs6 = singles6
            if singles4.count >= 2 {
                let g = singles4.prefix(3).filter { $0 != singles4.last || !batch.last!.contains("blackhole") }
                if g.count >= 2 {
                    batch.append("nexthop add id \(id) group " + g.map { "\($0),\(int(1...3))" }.joined(separator: "/")); nhIDs4.append(id); id += 1
                }
            }
            if singles6.count >= 2 {
                batch.append("nexthop add id \(id) group " + singles6.prefix(3).map { "\($0),\(int(1...3))" }.joined(separator: "/")); nhIDs6.append(id); id += 1
            }
            desc.append("nhobj")
        }

        // IPv4 prefix pool.
        var pool4: [String] = ["0.0.0.0/0", "198.51.100.0/24", "203.0.113.0/24", "203.0.113.128/25"]
        for _ in 0..<8 {
            let len = pick([8, 12, 16, 20, 24, 28, 32])
            let base: UInt32 = pick([0xAC10_0000, 0x6440_0000, 0xC633_6400, 0x0A00_0000])  // 172.16/12, 100.64/10, 198.51.100/24, 10/8
            let addr = base | UInt32(truncatingIfNeeded: rng.next()) & (len >= 24 ? 0x000F_FFFF : 0x000F_0000)
            pool4.append(IPPrefix(IPAddress(v4: addr), len).description)
        }
        var pool6: [String] = ["::/0", "2001:db8:eeee::/48", "2001:db8:eeee:1::/64", "fd00:ffff::/32"]
        for _ in 0..<6 {
            let len = pick([36, 48, 56, 64, 128])
            let v: UInt128 = (UInt128(0x2001_0db8_f000) << 80) | (UInt128(rng.next() & 0x0fff_ffff_ffff) << 64)
            pool6.append(IPPrefix(IPAddress(v6: v), len).description)
        }
        self.pool4 = pool4; self.pool6 = pool6

        for t in tables {
            let tbl = t == "main" ? "" : " table \(t)"
            for _ in 0..<int(3...10) {
                let p = pick(pool4)
                let metric = pick(["", "", " metric 100", " metric 200"])
                let tos = chance(0.15) ? " tos \(pick(["0x10", "0x08", "0x04"]))" : ""
                let r = int(0...99)
                if upIfaces.isEmpty || r < 5 { batch.append("route add blackhole \(p)\(tbl)\(metric)"); continue }
                let f = pick(upIfaces)
                switch r {
                case 5..<10: batch.append("route add unreachable \(p)\(tbl)\(metric)\(tos)")
                case 10..<14: batch.append("route add prohibit \(p)\(tbl)\(metric)")
                case 14..<19: batch.append("route add throw \(p)\(tbl)\(metric)")
                case 19..<30: batch.append("route add \(p) dev \(f.name)\(tbl)\(metric)\(tos)")
                case 30..<40:
                    let g = pick(upIfaces)
                    batch.append("route add \(p)\(tbl)\(metric) nexthop via \(gw4(f, int(2...9))) dev \(f.name) weight \(int(1...3)) nexthop via \(gw4(g, int(2...9))) dev \(g.name) weight \(int(1...3))")
                case 40..<50 where !nhIDs4.isEmpty:
                    batch.append("route add \(p)\(tbl)\(metric) nhid \(pick(nhIDs4))")
                case 50..<53:
                    batch.append("route add \(p) via 192.168.\(f.idx).1 dev \(f.name) onlink\(tbl)\(metric)")
                case 53..<56 where !locals4.isEmpty:
                    batch.append("route add \(p) via \(gw4(f, int(2...9))) dev \(f.name) src \(pick(locals4))\(tbl)\(metric)")
                case 56..<58:
                    batch.append("route add local \(p.hasSuffix("/0") ? "192.0.2.77" : p) dev lo\(tbl)")
                default:
                    batch.append("route add \(p) via \(gw4(f, int(2...9))) dev \(f.name)\(tbl)\(metric)\(tos)")
                }
            }
            for _ in 0..<int(3...8) {
                let p = pick(pool6)
                let metric = pick(["", "", " metric 100", " metric 2048"])
                let pref = chance(0.12) ? " pref \(pick(["high", "low"]))" : ""
                let r = int(0...99)
                if upIfaces.isEmpty || r < 5 { batch.append("-6 route add blackhole \(p)\(tbl)\(metric)"); continue }
                let f = pick(upIfaces)
                let from = chance(0.2) ? " from \(pick(["2001:db8:aaaa::/48", "2001:db8:1::/64", "2001:db8:2::/64"]))" : ""
                switch r {
                case 5..<10: batch.append("-6 route add unreachable \(p)\(tbl)\(metric)")
                case 10..<14: batch.append("-6 route add prohibit \(p)\(tbl)\(metric)")
                case 14..<19: batch.append("-6 route add throw \(p)\(tbl)\(metric)")
                case 19..<30: batch.append("-6 route add \(p)\(from) dev \(f.name)\(tbl)\(metric)\(pref)")
                case 30..<40:
                    let g = pick(upIfaces)
                    batch.append("-6 route add \(p)\(tbl)\(metric) nexthop via \(gw6(f, int(2...9))) dev \(f.name) weight \(int(1...3)) nexthop via \(gw6(g, int(2...9))) dev \(g.name) weight \(int(1...3))")
                case 40..<50 where !nhIDs6.isEmpty:
                    batch.append("-6 route add \(p)\(tbl)\(metric) nhid \(pick(nhIDs6))")
                default:
                    batch.append("-6 route add \(p)\(from) via \(gw6(f, int(2...9))) dev \(f.name)\(tbl)\(metric)\(pref)")
                }
            }
        }

        // Policy rules.
        var ruleSelectors: [String] = []
        func rules(_ fam: String, _ v6: Bool) -> [String] {
            var out: [String] = []
            guard chance(0.75) else { return out }
            var prios = (0..<int(1...7)).map { _ in int(100...30000) }
            prios.sort()
            for (k, prio) in prios.enumerated() {
                var s = ""
                if chance(0.1) { s += " not" }
                if chance(0.3) { s += " from " + (v6 ? pick(["2001:db8:1::/64", "2001:db8:aaaa::/48", pick(locals6) + "/128"]) : pick(["10.1.0.0/16", "10.2.0.0/24", "192.0.2.0/24", pick(locals4) + "/32"])) }
                if chance(0.3) { s += " to " + (v6 ? pick(pool6) : pick(pool4)) }
                if chance(0.2) { s += " iif " + pick(["lo"] + ifaces.map(\.name)) }
                if chance(0.15) { s += " oif " + pick(ifaces.map(\.name)) }
                if chance(0.2) { s += " fwmark " + pick(["0x1", "0x2", "0x3/0x1", "0x10/0xf0"]) }
                if !v6 && chance(0.1) { s += " tos " + pick(["0x10", "0x08"]) }
                if chance(0.15) { s += " ipproto " + pick(["tcp", "udp"]) }
                if chance(0.1) { s += " sport " + pick(["1000-2000", "53"]) }
                if chance(0.1) { s += " dport " + pick(["22", "80-443"]) }
                if chance(0.1) { s += " uidrange " + pick(["1000-2000", "0-0"]) }
                let a = int(0...99)
                let laterPrios = prios[(k + 1)...]
                if a < 8, let target = laterPrios.randomElement(using: &rng) { s += " goto \(target)" }
                else if a < 12 { s += " nop" }
                else if a < 16 { s += " blackhole" }
                else if a < 20 { s += " unreachable" }
                else if a < 24 { s += " prohibit" }
                else {
                    s += " lookup " + pick(tables + ["main", "100"])
                    if chance(0.15) { s += " suppress_prefixlength " + pick(["0", "8", "24"]) }
                    else if chance(0.05) { s += " suppress_ifgroup " + String(int(1...3)) }
                }
                ruleSelectors.append(s)
                out.append("\(fam)rule add pref \(prio)\(s)")
            }
            return out
        }
        batch += rules("", false)
        batch += rules("-6 ", true)
        if batch.contains(where: { $0.contains("rule add") }) { desc.append("rules") }

        // Sysctls (paths under /proc/sys: the device directories carry the names as they are).
        func conf4(_ dev: String, _ key: String) -> String { "net/ipv4/conf/\(dev)/\(key)" }
        func conf6(_ dev: String, _ key: String) -> String { "net/ipv6/conf/\(dev)/\(key)" }
        if chance(0.5) { sysctls.append(("net/ipv4/ip_forward", "1")); desc.append("fwd") }
        for f in ifaces where chance(0.2) { sysctls.append((conf4(f.name, "forwarding"), pick(["0", "1"]))) }
        let rpAll = pick(["0", "0", "1", "2"])
        sysctls.append((conf4("all", "rp_filter"), rpAll))
        for f in ifaces where chance(0.5) { sysctls.append((conf4(f.name, "rp_filter"), pick(["0", "1", "1", "2"]))) }
        for f in ifaces where chance(0.1) { sysctls.append((conf4(f.name, "accept_local"), "1")) }
        if chance(0.2) { sysctls.append((conf4("all", "src_valid_mark"), "1")) }
        if chance(0.3) { sysctls.append((conf6("all", "forwarding"), "1")) }
        // Directed broadcasts are forwarded only with bc_forwarding on both all and the device.
        if chance(0.15) {
            sysctls.append((conf4("all", "bc_forwarding"), "1"))
            for f in ifaces where chance(0.6) { sysctls.append((conf4(f.name, "bc_forwarding"), "1")) }
            desc.append("bc_fwd")
        }
        for f in ifaces where chance(0.1) { sysctls.append((conf4(f.name, "route_localnet"), "1")) }
        if chance(0.1) { sysctls.append((conf4("all", "ignore_routes_with_linkdown"), "1")) }
        for f in ifaces where chance(0.1) { sysctls.append((conf6(f.name, "ignore_routes_with_linkdown"), "1")) }
        // ipv6_dev_get_saddr: only the output device's addresses, for every destination.
        for f in ifaces where chance(0.2) { sysctls.append((conf6(f.name, "use_oif_addrs_only"), "1")) }
        if sysctls.contains(where: { $0.0.hasSuffix("use_oif_addrs_only") }) { desc.append("oif_addrs_only") }
        if ifaces.contains(where: { $0.name.contains(".") }) { desc.append("dotted") }
        desc.append("rp_filter.all=\(rpAll)")

        // Queries.
        var qs: [(String, [String])] = []
        let names = ifaces.map(\.name)
        for _ in 0..<queryCount {
            let v6 = chance(0.35)
            let input = chance(0.35)
            var tags = [(v6 ? "v6" : "v4") + (input ? "-input" : "-output")]
            var q = v6 ? dst6(locals6) : dst4(locals4, ifaces)
            if input && chance(0.12) {
                // multicast and broadcast destinations arriving on a device
                q = v6 ? pick(["ff02::1", "ff02::2", "ff05::2", "ff0e::1", "ff01::1", "ff02::1:ff00:1"])
                    : pick(["255.255.255.255", "224.0.0.1", "224.0.0.2", "239.1.2.3", subnetBroadcast(ifaces)])
                tags.append(v6 ? "dst:multicast" : "dst:multicast-or-broadcast")
            }
            if input {
                let dev = pick(names + ["lo"])
                q += " iif \(dev)"
                if chance(0.92) {
                    let src = v6 ? pick(["2001:db8:\(int(1...4))::\(int(2...9))", "2001:db8:aaaa::5", "fd00:1::7", pick(locals6)])
                        : pick(["10.\(int(1...4)).0.\(int(2...9))", "10.\(int(1...4)).9.9", "198.51.100.7", "192.0.2.33", pick(locals4), "127.0.0.5", "0.0.0.0",
                                specialSource4()])
                    q += " from \(src)"
                }
                tags.append("iif")
            } else {
                if chance(0.25) {
                    q += " from " + (v6 ? pick(locals6 + ["2001:db8:aaaa::5"]) : pick(locals4 + ["198.51.100.9", specialSource4()]))
                    tags.append("from")
                }
                if chance(0.2) { q += " oif " + pick(names + ["lo"]); tags.append("oif") }
            }
            if chance(0.2) { q += " mark " + pick(["0x1", "0x2", "0x3", "0x11", "0x20"]); tags.append("mark") }
            if !v6 && chance(0.15) { q += " tos " + pick(["0x10", "0x08", "0x04", "0x14"]); tags.append("tos") }
            if chance(0.2) {
                q += " ipproto " + pick(["tcp", "udp", v6 ? "ipv6-icmp" : "icmp"])
                if chance(0.7) { q += " sport \(pick([53, 1500, 3000]))" }
                if chance(0.7) { q += " dport \(pick([22, 80, 443, 8080]))" }
                tags.append("ipproto/ports")
            }
            if !input && chance(0.12) { q += " uid \(pick([0, 1500, 3000]))"; tags.append("uid") }
            qs.append((q, tags))
        }
        return GeneratedCase(seed: seed, description: desc.joined(separator: " "), setup: setup, batch: batch, sysctls: sysctls, queries: qs,
                             carrierLinks: ifaces.filter { $0.up && $0.carrier }.count)
    }

    var pool4: [String] = []
    var pool6: [String] = []

    /// Sources the kernel treats specially: 0.0.0.0/8 (martian before Linux 5.3), loopback,
    /// multicast, limited broadcast, class E.
    mutating func specialSource4() -> String {
        pick(["0.\(int(0...255)).\(int(0...255)).\(int(1...254))", "0.0.0.1", "0.1.2.3", "127.0.0.1", "224.0.0.5",
              "239.9.9.9", "255.255.255.255", "240.0.0.1", "255.255.255.254"])
    }

    /// The broadcast address of a random interface's first IPv4 subnet.
    mutating func subnetBroadcast(_ ifaces: [Iface]) -> String {
        let f = pick(ifaces)
        return IPPrefix(IPAddress(f.v4[0].0)!, f.v4[0].1).last.description
    }

    mutating func hostIn(_ p: String, v6: Bool) -> String {
        let pre = IPPrefix(p)!
        let w = v6 ? 128 : 32
        let hostBits = w - Int(pre.length)
        var r = UInt128(rng.next()) | (UInt128(rng.next()) << 64)
        if hostBits < 128 { r &= (UInt128(1) << UInt128(hostBits)) - 1 }
        if hostBits == 0 { r = 0 }
        return IPAddress(family: pre.family, bits: pre.address.bits | r).description
    }

    mutating func dst4(_ locals: [String], _ ifaces: [Iface]) -> String {
        switch int(0...99) {
        case 0..<50: return hostIn(pick(pool4), v6: false)
        case 50..<62: return pick(locals)
        case 62..<70:
            let f = pick(ifaces); let (a, l) = f.v4[0]
            let p = IPPrefix(IPAddress(a)!, l)
            return chance(0.5) ? p.last.description : hostIn(p.description, v6: false)
        case 70..<74: return pick(["255.255.255.255", "224.0.0.1", "239.1.2.3", "224.0.0.251"])
        case 74..<78: return pick(["127.0.0.1", "127.0.0.9", "0.0.0.0", "192.0.2.77"])
        default: return "\(int(1...223)).\(int(0...255)).\(int(0...255)).\(int(1...254))"
        }
    }

    mutating func dst6(_ locals: [String]) -> String {
        switch int(0...99) {
        case 0..<55: return hostIn(pick(pool6), v6: true)
        case 55..<67: return pick(locals)
        case 67..<80: return "2001:db8:\(int(1...4))::\(int(2...99))"
        case 80..<86: return pick(["::1", "fe80::1", "ff02::1", "ff05::2", "fd00:1::9"])
        default: return "2001:db8:\(String(int(0...0xffff), radix: 16))::\(String(int(1...0xffff), radix: 16))"
        }
    }
}

/// Checks for configurations that go with asymmetric routing: ARP flux, duplicate
/// addresses, colliding rule priorities, and rp_filter settings that do not do what the
/// device's own value suggests.
public enum Misconfiguration {
    public static func check(_ ns: NamespaceSnapshot, netns: String) -> [Finding] {
        var out = arpFlux(ns, netns) + duplicateAddresses(ns, netns) + ruleCollisions(ns, netns) + rpFilterMismatch(ns, netns)
        for i in out.indices { out[i].assignID() }
        return out
    }

    /// The L3 domain of a device: its VRF's name, or "" for the default one.
    static func domain(_ ns: NamespaceSnapshot, _ index: Int32) -> String {
        guard let m = ns.link(index: index)?.master, let l = ns.link(index: m), l.isVRF else { return "" }
        return l.name
    }

    static func arpFlux(_ ns: NamespaceSnapshot, _ netns: String) -> [Finding] {
        var bySubnet: [IPPrefix: Set<String>] = [:]
        for a in ns.addresses where a.family == .v4 && a.prefixlen < 32 {
            guard let l = ns.link(index: a.index), !l.isLoopback, l.flags & LinkFlags.noarp == 0 else { continue }
            bySubnet[a.prefix, default: []].insert(l.name)
        }
        var out: [Finding] = []
        for (subnet, devs) in bySubnet.sorted(by: { $0.key < $1.key }) where devs.count > 1 {
            let loose = devs.sorted().filter { let e = ns.settings.effectiveIPv4($0); return e.arpIgnore == 0 && e.arpAnnounce == 0 }
            guard loose.count > 1 else { continue }
            var f = Finding(kind: .arpFlux, severity: .warning, netns: netns,
                            summary: "Interfaces \(loose.joined(separator: ", ")) share subnet \(subnet) with arp_ignore=0 and arp_announce=0: each answers ARP for the others' addresses (ARP flux), so peers may send traffic for one address to another interface.")
            f.ingress = loose.joined(separator: ",")
            f.sources = [subnet]
            f.details = ["key": subnet.description, "fix": "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2"]
            out.append(f)
        }
        return out
    }

    static func duplicateAddresses(_ ns: NamespaceSnapshot, _ netns: String) -> [Finding] {
        var seen: [String: [String]] = [:]
        for a in ns.addresses where !a.local.isLoopback {
            guard let l = ns.link(index: a.index), !(a.family == .v6 && a.local.isLinkLocal) else { continue }
            seen["\(domain(ns, a.index))|\(a.local)", default: []].append(l.name)
        }
        var out: [Finding] = []
        for (key, devs) in seen.sorted(by: { $0.key < $1.key }) where Set(devs).count > 1 {
            let parts = key.split(separator: "|", omittingEmptySubsequences: false)
            let vrf = String(parts[0]), addr = String(parts[1])
            var f = Finding(kind: .duplicateAddress, severity: .warning, netns: netns,
                            summary: "Address \(addr) is configured on \(devs.joined(separator: " and ")) in the same \(vrf.isEmpty ? "routing domain" : "VRF \(vrf)"): replies from it leave through whichever route wins, not necessarily the interface the request came in on.")
            f.localAddress = IPAddress(addr)
            f.ingress = devs.joined(separator: ",")
            f.details = ["key": key]
            out.append(f)
        }
        return out
    }

    static func ruleCollisions(_ ns: NamespaceSnapshot, _ netns: String) -> [Finding] {
        var byPrio: [String: [Rule]] = [:]
        for r in ns.rules { byPrio["\(r.family)|\(r.priority)", default: []].append(r) }
        var out: [Finding] = []
        for (key, rules) in byPrio.sorted(by: { $0.key < $1.key }) where rules.count > 1 {
            let r = rules[0]
            var f = Finding(kind: .rulePriorityCollision, severity: .info, netns: netns,
                            summary: "\(rules.count) \(r.family == .v4 ? "IPv4" : "IPv6") rules share priority \(r.priority): the kernel evaluates them in insertion order, which a reboot or a configuration tool may change.")
            f.rule = r.priority
            f.details = ["key": key]
            out.append(f)
        }
        return out
    }

    static func rpFilterMismatch(_ ns: NamespaceSnapshot, _ netns: String) -> [Finding] {
        let all = ns.settings.ipv4.all.rpFilter ?? 0
        var out: [Finding] = []
        for l in ns.links where !l.isLoopback {
            guard let dev = ns.settings.ipv4.devices[l.name]?.rpFilter, max(all, dev) != dev else { continue }
            guard ns.addresses.contains(where: { $0.index == l.index && $0.family == .v4 }) else { continue }
            var f = Finding(kind: .rpFilterMismatch, severity: .info, netns: netns,
                            summary: "\(l.name) has rp_filter=\(dev), but net.ipv4.conf.all.rp_filter=\(all) wins: the kernel uses max(all, device), so \(l.name) does \(all == 1 ? "strict" : "loose") reverse-path filtering.")
            f.ingress = l.name
            f.details = ["rp_filter.all": String(all), "rp_filter.\(l.name)": String(dev), "rp_filter.effective": String(max(all, dev)),
                         "key": l.name]
            out.append(f)
        }
        return out
    }
}

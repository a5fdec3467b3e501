import Foundation
import NSAuditCore
import NSAuditLinux
import Testing

/// Builds namespaces with many kinds of state, snapshots them with the collector, and checks
/// every field nsaudit records against what `ip -j -d` reports for the same namespaces.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct CollectorDifferentialTests {

    /// A rich lab: veth within and across namespaces, bridge, macvlan, vxlan, v4/v6
    /// addresses, custom tables, rules with every selector and action, multipath, nexthop
    /// objects, special route types, sysctls.
    static func buildRichLab(_ lab: LabNamespaces) throws -> (a: String, b: String) {
        let a = try lab.add("a"), b = try lab.add("b")
        // No IPv6 duplicate address detection: addresses would change state (tentative, then
        // their routes appear) between nsaudit's dump and ip's, making the comparison racy.
        for n in [a, b] {
            try Live.sh("ip netns exec \(n) sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0")
        }
        let cmds = [
            "ip link add veth0 netns \(a) type veth peer name veth0 netns \(b)",
            "ip -n \(a) link add vin0 type veth peer name vin1",
            "ip -n \(a) link add br0 type bridge",
            "ip -n \(a) link set vin1 master br0",
            "ip -n \(a) link set veth0 up", "ip -n \(b) link set veth0 up",
            "ip -n \(a) link set vin0 up", "ip -n \(a) link set vin1 up", "ip -n \(a) link set br0 up",
            "ip -n \(a) link add mv0 link veth0 type macvlan mode bridge",
            "ip -n \(a) link set mv0 up mtu 1400",
            "ip -n \(a) link add vx0 type vxlan id 42 dstport 4789 local 10.1.0.1 dev veth0",
            "ip -n \(a) link set dev vin0 group 7",
            "ip -n \(a) addr add 10.1.0.1/24 dev veth0",
            "ip -n \(a) addr add 10.1.0.11/24 dev veth0",  // secondary
            "ip -n \(a) addr add 10.2.0.1/24 brd + dev br0 label br0:mgmt",
            "ip -n \(a) addr add 10.3.0.1 peer 10.3.0.2/32 dev vin0",
            "ip -n \(a) addr add 10.4.0.1/24 dev mv0 noprefixroute",
            "ip -n \(a) -6 addr add fd00:1::1/64 dev veth0 nodad",
            "ip -n \(a) -6 addr add fd00:2::1/64 dev br0 nodad",
            "ip -n \(b) addr add 10.1.0.2/24 dev veth0",
            "ip -n \(a) nexthop add id 1 via 10.1.0.2 dev veth0",
            "ip -n \(a) nexthop add id 2 via 10.1.0.3 dev veth0",
            "ip -n \(a) nexthop add id 3 blackhole",
            "ip -n \(a) nexthop add id 10 group 1/2,3",
            "ip -n \(a) -6 nexthop add id 20 via fd00:1::2 dev veth0",
            "ip -n \(a) route add 10.50.0.0/16 nhid 10",
            "ip -n \(a) route add 10.51.0.0/16 nhid 3",
            "ip -n \(a) route add 10.60.0.0/16 nexthop via 10.1.0.2 weight 2 nexthop via 10.1.0.3",
            "ip -n \(a) route add default via 10.1.0.254 table 100",
            "ip -n \(a) route add 10.70.0.0/16 via 10.1.0.9 dev veth0 onlink mtu 1400 table 100 proto bgp metric 20",
            "ip -n \(a) route add blackhole 10.80.0.0/16 table 100",
            "ip -n \(a) route add unreachable 10.81.0.0/16 table 100",
            "ip -n \(a) route add prohibit 10.82.0.0/16 table 100",
            "ip -n \(a) route add throw 10.83.0.0/16 table 100",
            "ip -n \(a) route add 10.90.0.0/24 dev br0 src 10.2.0.1 scope link tos 0x10",
            "ip -n \(a) route add 10.91.0.0/24 via 10.2.0.5 metric 100 table 200",
            "ip -n \(a) route add 10.91.0.0/24 via 10.1.0.5 metric 50 table 200",
            "ip -n \(a) route add local 10.92.0.1 dev veth0 table 200",
            "ip -n \(a) -6 route add 2001:db8::/32 via fd00:1::2 dev veth0 metric 5",
            "ip -n \(a) -6 route add 2001:db8:1::/48 nhid 20",
            "ip -n \(a) -6 route add 2001:db8:2::/48 nexthop via fd00:1::2 dev veth0 nexthop via fd00:2::2 dev br0",
            "ip -n \(a) -6 route add unreachable 2001:db8:3::/48 table 100",
            "ip -n \(a) -6 route add 2001:db8:4::/48 from fd00:1::/64 via fd00:1::2 dev veth0",
            "ip -n \(a) rule add not from 1.2.3.0/24 fwmark 0x10/0xff tos 0x10 iif veth0 uidrange 100-200 sport 1000-2000 goto 32766 pref 100",
            "ip -n \(a) rule add to 5.0.0.0/8 blackhole pref 200",
            "ip -n \(a) rule add to 6.0.0.0/8 unreachable pref 201",
            "ip -n \(a) rule add to 7.0.0.0/8 prohibit pref 202",
            "ip -n \(a) rule add from 8.0.0.0/8 nop pref 203",
            "ip -n \(a) rule add lookup main suppress_prefixlength 0 pref 300",
            "ip -n \(a) rule add lookup 200 suppress_ifgroup 7 pref 301",
            "ip -n \(a) rule add from 10.1.0.0/24 ipproto tcp dport 22-23 oif veth0 lookup 100 pref 400",
            "ip -n \(a) rule add l3mdev pref 1000",
            "ip -n \(a) rule add fwmark 0x3 lookup 100 pref 500 protocol static",
            "ip -n \(a) -6 rule add from fd00:1::/64 lookup 100 pref 100",
            "ip -n \(a) -6 rule add to 2001:db8:9::/48 ipproto udp sport 53 prohibit pref 101",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.all.rp_filter=2",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.veth0.rp_filter=1",
            "ip netns exec \(a) sysctl -qw net.ipv4.ip_forward=1",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.br0.arp_ignore=1",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.veth0.accept_local=1",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.all.src_valid_mark=1",
            "ip netns exec \(a) sysctl -qw net.ipv4.fib_multipath_hash_policy=1",
            "ip netns exec \(a) sysctl -qw net.ipv6.conf.all.forwarding=1",
            // a device name with a dot (VLAN-style) and its own settings, as sysctl(8) names them
            "ip link add x.10 netns \(a) type veth peer name y.10 netns \(b)",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.x/10.rp_filter=2",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.all.bc_forwarding=1",
            "ip netns exec \(a) sysctl -qw net.ipv4.conf.x/10.bc_forwarding=1",
            "ip netns exec \(a) sysctl -qw net.ipv6.conf.x/10.use_oif_addrs_only=1",
            "ip netns exec \(a) sysctl -qw net.ipv6.conf.veth0.keep_addr_on_down=1",
        ]
        for c in cmds { try Live.sh(c) }
        return (a, b)
    }

    @Test func everyFieldAgreesWithIp() throws {
        let lab = LabNamespaces("diff")
        let (a, b) = try Self.buildRichLab(lab)
        let snap = try Collector.collect(CollectOptions(netns: [a, b], includeRoot: false))
        #expect(snap.namespaces.map(\.id) == [a, b])
        // the kernel facts of this machine
        let release = try Live.sh("uname -r").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(snap.kernelFacts.recorded && snap.kernelFacts.release == release)
        #expect(snap.kernelFacts.ipv6MulticastRouting == FileManager.default.fileExists(atPath: "/proc/net/ip6_mr_vif"))
        for ns in snap.namespaces {
            #expect(ns.status == .ok, "\(ns.id): \(ns.error ?? "")")
            #expect(ns.consistent)
            try compareLinks(ns)
            try compareAddresses(ns)
            try compareRules(ns)
            try compareRoutes(ns)
            try compareNexthops(ns)
            try compareSysctls(ns)
        }
        // veth peers resolve to the other namespace of the snapshot
        let nsA = try #require(snap.namespace(a))
        #expect(nsA.link(named: "veth0")?.peerNetns == b)
        #expect(snap.namespace(b)?.link(named: "veth0")?.peerNetns == a)
        #expect(nsA.link(named: "vin0")?.peerNetns == nil)
    }

    // MARK: links
    func compareLinks(_ ns: NamespaceSnapshot) throws {
        let ip = try Live.json("ip -j -d -n \(ns.id) link show")
        #expect(ip.count == ns.links.count, "\(ns.id): link count")
        for j in ip {
            let idx = Int32(j["ifindex"] as! Int)
            let l = try #require(ns.link(index: idx), "\(ns.id): link \(idx) missing")
            #expect(l.name == j["ifname"] as? String)
            #expect(l.mtu == UInt32(j["mtu"] as! Int))
            #expect(l.operstate == j["operstate"] as? String, "\(l.name) operstate")
            let ipFlags = Set(j["flags"] as? [String] ?? [])
            let ours = Set(LinkFlags.names.filter { l.flags & $0.0 != 0 }.map(\.1))
            #expect(ours == ipFlags, "\(l.name) flags")
            if let mac = j["address"] as? String { #expect(l.mac == mac, "\(l.name) mac") }
            let lt = j["link_type"] as? String
            let ourType = [1: "ether", 772: "loopback", 65534: "none"][Int(l.linkType)]
            #expect(ourType == lt, "\(l.name) link_type")
            if let m = j["master"] as? String { #expect(ns.linkName(l.master) == m, "\(l.name) master") } else { #expect(l.master == nil) }
            let info = j["linkinfo"] as? [String: Any]
            #expect(l.kind == info?["info_kind"] as? String, "\(l.name) kind")
            #expect(l.slaveKind == info?["info_slave_kind"] as? String, "\(l.name) slave kind")
            if let data = info?["info_data"] as? [String: Any], l.kind == "vrf" {
                #expect(l.vrfTable == UInt32(data["table"] as! Int))
            }
            if let li = j["link_index"] as? Int { #expect(l.link == Int32(li), "\(l.name) link index") }
            if let n = j["link_netnsid"] as? Int { #expect(l.linkNetnsid == Int32(n)) } else { #expect(l.linkNetnsid == nil) }
            let group = j["group"] as? String
            #expect(group == (l.group == 0 ? "default" : String(l.group)), "\(l.name) group")
        }
    }

    // MARK: addresses
    func compareAddresses(_ ns: NamespaceSnapshot) throws {
        let ip = try Live.json("ip -j -n \(ns.id) addr show")
        var count = 0
        for link in ip {
            let idx = Int32(link["ifindex"] as! Int)
            for j in link["addr_info"] as? [[String: Any]] ?? [] {
                count += 1
                let local = try #require(IPAddress(j["local"] as! String))
                let a = try #require(ns.addresses.first { $0.index == idx && $0.local == local }, "\(local) on \(idx)")
                #expect(a.family.description == j["family"] as? String)
                #expect(Int(a.prefixlen) == j["prefixlen"] as? Int)
                #expect(Scope.name(a.scope) == j["scope"] as? String, "\(local) scope")
                #expect(a.broadcast?.description == j["broadcast"] as? String, "\(local) broadcast")
                #expect(a.peer?.description == j["address"] as? String, "\(local) peer")
                if a.family == .v4 { #expect(a.label == j["label"] as? String, "\(local) label") }
                for (bit, name) in AddressFlags.names {
                    let key = ["home": "home", "mngtmpaddr": "mngtmpaddr", "autojoin": "autojoin"][name] ?? name
                    if ["permanent", "stable-privacy"].contains(name) { continue }  // ip prints these as lifetimes / other keys
                    #expect((a.flags & bit != 0) == (j[key] as? Bool == true), "\(local) flag \(name)")
                }
                #expect(a.validLifetime.map(Int.init) == j["valid_life_time"] as? Int)
                #expect(a.preferredLifetime.map(Int.init) == j["preferred_life_time"] as? Int)
            }
        }
        #expect(count == ns.addresses.count, "\(ns.id): address count")
    }

    // MARK: rules
    func compareRules(_ ns: NamespaceSnapshot) throws {
        for fam in [IPAddress.Family.v4, .v6] {
            let ip = try Live.json("ip -j -\(fam == .v4 ? 4 : 6) -n \(ns.id) rule show")
            let ours = ns.rules.filter { $0.family == fam }
            #expect(ip.count == ours.count, "\(ns.id) \(fam) rule count")
            for (j, r) in zip(ip, ours) {
                let where_ = "\(ns.id) rule \(r.priority)"
                #expect(Int(r.priority) == j["priority"] as? Int, "\(where_)")
                #expect((j.keys.contains("not")) == r.invert, "\(where_) not")
                let src = j["src"] as? String
                if let s = r.src { #expect(src == s.address.description && j["srclen"] as? Int == Int(s.length), "\(where_) src") } else { #expect(src == "all") }
                if let d = r.dst { #expect(j["dst"] as? String == d.address.description && j["dstlen"] as? Int == Int(d.length), "\(where_) dst") } else { #expect(j["dst"] == nil) }
                #expect(hexOrNil(j["tos"]) == (r.tos == 0 ? nil : UInt32(r.tos)), "\(where_) tos")
                #expect(hexOrNil(j["fwmark"]) == r.fwmark.flatMap { $0 == 0 && r.fwmask == nil ? nil : $0 }, "\(where_) fwmark")
                if let m = j["fwmask"] { #expect(hexOrNil(m) == r.fwmask, "\(where_) fwmask") }
                #expect(j["iif"] as? String == r.iif, "\(where_) iif")
                #expect(j["oif"] as? String == r.oif, "\(where_) oif")
                #expect(j["uid_start"] as? Int == r.uidrange.map { Int($0.start) }, "\(where_) uid")
                #expect(j["uid_end"] as? Int == r.uidrange.map { Int($0.end) }, "\(where_) uid")
                // ip prints a one-port range as "sport": N, a real range as sport_start/sport_end
                #expect(portRange(j, "sport") == r.sport, "\(where_) sport")
                #expect(portRange(j, "dport") == r.dport, "\(where_) dport")
                #expect(j["ipproto"] as? String == r.ipproto.map { IPProto.name($0) }, "\(where_) ipproto")
                #expect(j["goto"] as? Int == r.gotoTarget.map(Int.init), "\(where_) goto")
                #expect(j["suppress_prefixlen"] as? Int == r.suppressPrefixlen.map(Int.init), "\(where_) suppress_prefixlen")
                #expect(j["suppress_ifgroup"] as? String == r.suppressIfgroup.map { $0 == 0 ? "default" : String($0) }, "\(where_) suppress_ifgroup")
                #expect((j["l3mdev"] != nil) == r.l3mdev, "\(where_) l3mdev")
                let action = j["action"] as? String
                switch r.action {
                case RuleAction.toTable:
                    #expect(action == nil)
                    if !r.l3mdev { #expect(j["table"] as? String == Table.name(r.table), "\(where_) table") }
                case RuleAction.goto: #expect(action == nil && j["goto"] != nil)
                case RuleAction.nop: #expect(j.keys.contains("nop"), "\(where_) nop")
                default: #expect(action == RuleAction.name(r.action), "\(where_) action")
                }
                if let p = j["protocol"] as? String { #expect(p == RouteProtocol.name(r.protocol), "\(where_) protocol") }
            }
        }
    }

    // MARK: routes
    func compareRoutes(_ ns: NamespaceSnapshot) throws {
        for fam in [IPAddress.Family.v4, .v6] {
            let ip = try Live.json("ip -j -\(fam == .v4 ? 4 : 6) -n \(ns.id) route show table all")
            let ours = ns.routes.filter { $0.family == fam }
            #expect(ip.count == ours.count, "\(ns.id) \(fam) route count: ip \(ip.count), nsaudit \(ours.count)")
            for (j, r) in zip(ip, ours) {
                let w = "\(ns.id) \(r.dst) table \(r.table)"
                let dst = j["dst"] as! String
                let expectedDst = r.dst.length == 0 ? "default" : r.dst.isHost ? r.dst.address.description : r.dst.description
                #expect(dst == expectedDst, "\(w) dst")
                #expect((j["type"] as? String ?? "unicast") == r.type.name, "\(w) type")
                #expect((j["table"] as? String ?? "main") == Table.name(r.table), "\(w) table")
                #expect((j["protocol"] as? String ?? "boot") == RouteProtocol.name(r.protocol), "\(w) protocol")
                #expect((j["scope"] as? String ?? "global") == Scope.name(r.scope), "\(w) scope")
                #expect(j["metric"] as? Int == (j["metric"] == nil ? nil : Int(r.metric)), "\(w) metric")
                if j["metric"] == nil { #expect(r.metric == 0, "\(w) metric") }
                #expect(j["prefsrc"] as? String == r.prefsrc?.description, "\(w) prefsrc")
                #expect(j["gateway"] as? String == r.gateway?.description, "\(w) gateway")
                #expect(j["dev"] as? String == ns.linkName(r.oif), "\(w) dev")
                #expect(j["nhid"] as? Int == r.nhid.map(Int.init), "\(w) nhid")
                if let tos = j["tos"] { #expect(hexOrNil(tos) == UInt32(r.tos), "\(w) tos") } else { #expect(r.tos == 0) }
                if let from = j["from"] as? String { #expect(from == r.src?.description, "\(w) from") }
                let flags = Set(j["flags"] as? [String] ?? [])
                let ourFlags = Set(NexthopFlags.names.filter { r.flags & $0.0 != 0 }.map(\.1))
                #expect(flags == ourFlags, "\(w) flags")
                let ipHops = j["nexthops"] as? [[String: Any]] ?? []
                // For nhid routes the kernel also reports the group's paths; nsaudit keeps
                // them in the nexthop objects instead.
                if r.nhid == nil {
                    #expect(ipHops.count == (r.nexthops?.count ?? 0), "\(w) nexthops")
                    for (h, o) in zip(ipHops, r.nexthops ?? []) {
                        #expect(h["gateway"] as? String == o.gateway?.description, "\(w) hop gateway")
                        #expect(h["dev"] as? String == ns.linkName(o.oif), "\(w) hop dev")
                        #expect(h["weight"] as? Int == Int(o.weight), "\(w) hop weight")
                    }
                }
                if let m = j["metrics"] as? [[String: Any]] {
                    for entry in m { for (k, v) in entry { #expect(r.metrics?[k] == UInt32(v as! Int), "\(w) metric \(k)") } }
                }
                if let p = j["pref"] as? String {
                    #expect(["medium": 0, "low": 3, "high": 1][p] == r.pref.map(Int.init), "\(w) pref")
                }
            }
        }
    }

    // MARK: nexthops
    func compareNexthops(_ ns: NamespaceSnapshot) throws {
        let ip = try Live.json("ip -j -n \(ns.id) nexthop show")
        #expect(ip.count == ns.nexthops.count)
        for j in ip {
            let id = UInt32(j["id"] as! Int)
            let n = try #require(ns.nexthops.first { $0.id == id })
            #expect(j["gateway"] as? String == n.gateway?.description, "nh \(id) gateway")
            #expect(j["dev"] as? String == ns.linkName(n.oif), "nh \(id) dev")
            #expect((j["blackhole"] != nil) == n.blackhole, "nh \(id) blackhole")
            if let s = j["scope"] as? String { #expect(s == Scope.name(n.scope ?? 0), "nh \(id) scope") }
            let group = j["group"] as? [[String: Any]]
            #expect(group?.count == n.group?.count, "nh \(id) group")
            for (g, m) in zip(group ?? [], n.group ?? []) {
                #expect(UInt32(g["id"] as! Int) == m.id)
                #expect((g["weight"] as? Int ?? 1) == Int(m.weight), "nh \(id) weight")
            }
        }
    }

    // MARK: sysctls
    func compareSysctls(_ ns: NamespaceSnapshot) throws {
        let names = ["net.ipv4.conf.all.rp_filter", "net.ipv4.conf.veth0.rp_filter", "net.ipv4.conf.default.rp_filter",
                     "net.ipv4.ip_forward", "net.ipv4.conf.all.src_valid_mark", "net.ipv4.conf.veth0.accept_local",
                     "net.ipv4.conf.lo.arp_ignore", "net.ipv4.conf.all.arp_announce", "net.ipv4.conf.all.arp_filter",
                     "net.ipv4.fib_multipath_hash_policy", "net.ipv4.tcp_l3mdev_accept", "net.ipv4.udp_l3mdev_accept",
                     "net.ipv6.conf.all.forwarding", "net.ipv4.conf.veth0.forwarding",
                     "net.ipv6.conf.veth0.keep_addr_on_down", "net.ipv6.conf.veth0.use_oif_addrs_only",
                     "net.ipv4.conf.all.bc_forwarding", "net.ipv4.conf.veth0.bc_forwarding"]
            + (ns.link(named: "x.10") == nil ? [] : ["net.ipv4.conf.x/10.rp_filter", "net.ipv4.conf.x/10.bc_forwarding",
                                                     "net.ipv6.conf.x/10.use_oif_addrs_only"])
        let values = try Live.sh("ip netns exec \(ns.id) sysctl -n \(names.joined(separator: " "))")
            .split(separator: "\n").map { Int($0)! }
        for (n, v) in zip(names, values) { #expect(ns.settings.byName[n] == v, "\(ns.id) \(n)") }
    }

    func portRange(_ j: [String: Any], _ key: String) -> PortRange? {
        if let p = j[key] as? Int { return PortRange(UInt16(p), UInt16(p)) }
        guard let a = j["\(key)_start"] as? Int, let b = j["\(key)_end"] as? Int else { return nil }
        return PortRange(UInt16(a), UInt16(b))
    }

    func hexOrNil(_ v: Any?) -> UInt32? {
        guard let s = v as? String else { return nil }
        return s.hasPrefix("0x") ? UInt32(s.dropFirst(2), radix: 16) : UInt32(s)
    }

    @Test func socketsAreRecorded() throws {
        let lab = LabNamespaces("sock")
        let a = try lab.add("a")
        try Live.sh("ip -n \(a) addr add 127.0.0.1/8 dev lo 2>/dev/null || true")
        // A listener inside the namespace, bound to the loopback device.
        try Live.sh("ip netns exec \(a) python3 -c 'import socket,time,os\ns=socket.socket();s.setsockopt(socket.SOL_SOCKET,25,b\"lo\");s.bind((\"127.0.0.1\",2222));s.listen();os.fork() or (time.sleep(20))' >/dev/null 2>&1 &")
        // Wait for the listener (python starts slowly on a loaded machine), at most 10 s.
        try Live.sh("for i in $(seq 100); do ip netns exec \(a) ss -Hltn 'sport = :2222' | grep -q 2222 && exit 0; sleep 0.1; done; exit 1")
        defer { _ = try? Live.sh("ip netns pids \(a) | xargs -r kill") }
        let snap = try Collector.collect(CollectOptions(netns: [a]))
        let ns = try #require(snap.namespaces.first)
        let s = try #require(ns.sockets.first { $0.localPort == 2222 })
        #expect(s.protocol == "tcp" && s.state == "LISTEN")
        #expect(s.local == IPAddress("127.0.0.1"))
        #expect(ns.linkName(s.boundIf) == "lo")
    }

    @Test func namespaceThatVanishesIsRecordedNotFatal() throws {
        let lab = LabNamespaces("van")
        let a = try lab.add("a"), b = try lab.add("b")
        let found = NamespaceDiscovery.discover()
        try Live.sh("ip netns del \(b)")
        let snap = try Collector.collect(CollectOptions(netns: [a, b]), discovered: found)
        #expect(snap.namespace(a)?.status == .ok)
        let gone = try #require(snap.namespace(b))
        #expect(gone.status == .vanished)
        #expect(gone.error?.contains("/run/netns/\(b)") == true)
    }

    @Test func vanishedAndUnknownNamespaces() throws {
        #expect(throws: CollectError.self) {
            _ = try Collector.collect(CollectOptions(netns: ["nsat-no-such-namespace-\(getpid())"]))
        }
    }

    @Test func discoveryFindsNamedAndProcessNamespaces() throws {
        let lab = LabNamespaces("disc")
        let a = try lab.add("a")
        // A namespace held only by a process (unshare), not named.
        try Live.sh("unshare -n sleep 20 >/dev/null 2>&1 & echo $! > /tmp/\(lab.prefix)pid; sleep 0.3")
        let pid = try Live.sh("cat /tmp/\(lab.prefix)pid").trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Live.sh("kill \(pid); rm -f /tmp/\(lab.prefix)pid") }
        let found = NamespaceDiscovery.discover()
        #expect(found.contains { $0.names == [a] && $0.foundBy.first?.kind == .named })
        #expect(found.contains { $0.id == "root" })
        let proc = found.first { $0.foundBy.contains { $0.pid == Int32(pid) } }
        #expect(proc?.id == "pid:\(pid):sleep")
        #expect(Set(found.map(\.inode)).count == found.count, "each namespace once")
    }
}

import Foundation
import NSAuditCore
import Testing

/// A snapshot with every optional field set, so the writer, the decoder and the schema are
/// all exercised on every field.
enum SampleSnapshot {
    static func full() -> Snapshot {
        var ns = NamespaceSnapshot(id: "blue", names: ["blue"], inode: 4026532000,
                                   foundBy: [Discovery(kind: .named, path: "/run/netns/blue"),
                                             Discovery(kind: .process, path: "/proc/7/ns/net", pid: 7, comm: "sshd \"x\"")])
        ns.nsids = ["0": "root"]
        var l = Link(index: 2, name: "eth0", flags: LinkFlags.up | LinkFlags.lowerUp | LinkFlags.broadcast, operstate: "UP", mtu: 1500, linkType: 1)
        l.kind = "veth"; l.slaveKind = "vrf"; l.carrier = true; l.mac = "02:00:00:00:00:01"; l.master = 3
        l.link = 9; l.linkNetnsid = 0; l.peerNetns = "root"; l.group = 7
        l.parentBus = "pci"; l.parentDev = "0000:00:12.0"
        var v = Link(index: 3, name: "mgmt", flags: LinkFlags.up, operstate: "UP", mtu: 65575, linkType: 1)
        v.kind = "vrf"; v.vrfTable = 10
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.loopback, operstate: "DOWN", mtu: 65536, linkType: 772), l, v]
        var a = Address(index: 2, local: IPAddress("10.0.0.1")!, prefixlen: 24, scope: 0, flags: AddressFlags.permanent)
        a.broadcast = IPAddress("10.0.0.255"); a.label = "eth0:x"; a.validLifetime = 100; a.preferredLifetime = 50
        var p2p = Address(index: 2, local: IPAddress("10.3.0.1")!, prefixlen: 32)
        p2p.peer = IPAddress("10.3.0.2")
        ns.addresses = [a, p2p, Address(index: 2, local: IPAddress("fd00::1")!, prefixlen: 64, scope: 0, flags: AddressFlags.nodad)]
        var r = Rule(family: .v4, priority: 100, table: 100)
        r.src = IPPrefix("10.0.0.0/8"); r.dst = IPPrefix("192.168.0.0/16"); r.iif = "eth0"; r.oif = "lo"
        r.flags = RuleFlags.invert; r.fwmark = 0x10; r.fwmask = 0xff; r.tos = 0x10; r.ipproto = 6
        r.sport = PortRange(1, 2); r.dport = PortRange(22, 22); r.uidrange = UIDRange(0, 1000)
        r.suppressPrefixlen = 0; r.suppressIfgroup = 7; r.protocol = 4; r.realms = 5; r.gotoTarget = 200
        var l3 = Rule(family: .v6, priority: 1000, table: 0); l3.l3mdev = true
        ns.rules = [r, l3, Rule(family: .v4, priority: 32766, table: Table.main)]
        var rt = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix("0.0.0.0/0")!, protocol: 4, scope: 0, metric: 10)
        rt.gateway = IPAddress("10.0.0.254"); rt.oif = 2; rt.prefsrc = IPAddress("10.0.0.1"); rt.flags = NexthopFlags.onlink
        rt.metrics = ["mtu": 1400, "advmss": 1360]; rt.tos = 0x10
        var mp = Route(family: .v6, table: 10, type: .unicast, dst: IPPrefix("2001:db8::/32")!)
        mp.src = IPPrefix("fd00::/64"); mp.pref = 0
        mp.nexthops = [RouteNexthop(gateway: IPAddress("fe80::1"), oif: 2, weight: 2, flags: NexthopFlags.linkdown),
                       RouteNexthop(gateway: nil, oif: 3)]
        var nh = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix("10.50.0.0/16")!); nh.nhid = 10
        ns.routes = [rt, mp, nh, Route(family: .v4, table: 255, type: .local, dst: IPPrefix("10.0.0.1/32")!, protocol: 2, scope: 254)]
        var n1 = Nexthop(id: 1, family: 2); n1.gateway = IPAddress("10.0.0.2"); n1.oif = 2; n1.scope = 253
        var g = Nexthop(id: 10); g.group = [NexthopGroupMember(id: 1, weight: 3)]; g.groupType = "mpath"
        var bh = Nexthop(id: 3, family: 2); bh.blackhole = true; bh.fdb = true; bh.protocol = 4
        ns.nexthops = [n1, g, bh]
        ns.settings = RoutingSettings(sysctls: ["net.ipv4.conf.all.rp_filter": 2, "net.ipv4.conf.eth0/100.rp_filter": 1, "net.ipv4.ip_forward": 1])
        var s = Socket(protocol: "tcp", family: .v4, state: "LISTEN", local: IPAddress("0.0.0.0")!, localPort: 22,
                       remote: IPAddress("0.0.0.0")!, remotePort: 0)
        s.boundIf = 3; s.uid = 0; s.inode = 1234
        ns.sockets = [s]
        ns.neighbors = [Neighbor(index: 2, address: IPAddress("10.0.0.2")!, lladdr: "02:00:00:00:00:02",
                                 state: NeighborState.reachable, flags: NeighborFlags.router | NeighborFlags.managed),
                        Neighbor(index: 2, address: IPAddress("fd00::9")!, state: NeighborState.failed)]
        var vx = FDBEntry(mac: "00:00:00:00:00:00", index: 2, state: NeighborState.noarp, flags: NeighborFlags.selfEntry)
        vx.dst = IPAddress("192.0.2.1")
        ns.fdb = [FDBEntry(mac: "02:00:00:00:00:09", index: 2, master: 3, vlan: 1, state: NeighborState.reachable,
                           flags: NeighborFlags.master), vx]
        ns.netfilter = NetfilterState(nftables: NetfilterTables(source: "nfnetlink", tables: ["inet filter", "ip nat"]),
                                      iptablesLegacy: NetfilterTables(source: "/proc/net/ip_tables_names", tables: []),
                                      ip6tablesLegacy: NetfilterTables(source: "/proc/net/ip6_tables_names",
                                                                       unknown: "open /proc/thread-self/net/ip6_tables_names: Permission denied (EACCES)"),
                                      arptablesLegacy: NetfilterTables(source: "/proc/net/arp_tables_names", tables: ["filter"]))
        var gone = NamespaceSnapshot(id: "pid:9:sleep", inode: 1, foundBy: [Discovery(kind: .process, path: "/proc/9/ns/net", pid: 9, comm: "sleep")],
                                     status: .vanished, error: "open /proc/9/ns/net: No such file or directory (ENOENT)")
        gone.consistent = false; gone.dumpRetries = 3
        return Snapshot(generator: "nsaudit test", host: "h", kernel: "6.18", takenAt: "2026-11-29T00:00:00Z",
                        metadata: SnapshotMetadata(source: "hand-written", lab: "sample", note: "unit test"),
                        namespaces: [ns, gone])
    }
}

import Foundation
import NSAuditCore
import NSAuditLinux
import Testing

/// The neighbour entries, bridge forwarding databases and netfilter tables the collector
/// records, against `ip neigh`, `bridge fdb`, `nft list tables` and /proc/net/*_tables_names
/// for the same throwaway namespaces.
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct LinkLayerCollectorTests {
    static let tools = ["nft", "iptables-legacy", "bridge"]

    @Test func neighborsFDBAndNetfilterAgreeWithTheTools() throws {
        for t in Self.tools {
            #expect((try? Live.sh("command -v \(t)")) != nil, "\(t) is needed (make deps installs nftables and iptables)")
        }
        let lab = LabNamespaces("ll")
        let a = try lab.add("a"), b = try lab.add("b"), c = try lab.add("c")
        for n in [a, b, c] {
            try Live.sh("ip netns exec \(n) sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0")
        }
        let cmds = [
            "ip link add v0 netns \(a) type veth peer name v0 netns \(b)",
            "ip link add v1 netns \(a) type veth peer name v0 netns \(c)",
            "ip -n \(a) link add br0 type bridge",  // (VLAN filtering is not in every kernel: none here)
            "ip -n \(a) link set v0 master br0", "ip -n \(a) link set v1 master br0",
            "ip -n \(a) link set v0 up", "ip -n \(a) link set v1 up", "ip -n \(a) link set br0 up",
            "ip -n \(b) link set v0 up", "ip -n \(c) link set v0 up",
            "ip -n \(a) addr add 10.9.0.1/24 dev br0", "ip -n \(b) addr add 10.9.0.2/24 dev v0",
            "ip -n \(a) -6 addr add fd09::1/64 dev br0 nodad",
            "bridge -n \(a) fdb add 02:00:00:00:0a:01 dev v0 master static",
            "bridge -n \(a) fdb add 02:00:00:00:0a:02 dev v1 master static",
            "bridge -n \(a) fdb add 02:00:00:00:0a:03 dev v1 master static sticky",
            "ip -n \(a) link add vx0 type vxlan id 7 dstport 4789 local 10.9.0.1 nolearning",
            "bridge -n \(a) fdb append 00:00:00:00:00:00 dev vx0 dst 10.9.0.2 self permanent",
            "ip -n \(a) neigh add 10.9.0.7 lladdr 02:00:00:00:00:07 dev br0 nud permanent",
            "ip -n \(a) neigh add 10.9.0.8 dev br0 nud failed",
            "ip -n \(a) neigh add 10.9.0.9 lladdr 02:00:00:00:00:09 dev br0 nud stale",
            "ip -n \(a) neigh add 10.9.0.10 lladdr 02:00:00:00:00:0a dev br0 nud noarp",
            "ip -n \(a) -6 neigh add fd09::7 lladdr 02:00:00:00:00:07 dev br0 nud permanent router",
            // netfilter: an nftables table in b, iptables-legacy tables in c, nothing in a
            "ip netns exec \(b) nft add table inet nsa_filter",
            "ip netns exec \(b) nft add table ip6 nsa_six",
            "ip netns exec \(c) iptables-legacy -t nat -L -n",
            "ip netns exec \(c) ip6tables-legacy -t mangle -L -n",
        ]
        for cmd in cmds { try Live.sh(cmd) }

        let snap = try Collector.collect(CollectOptions(netns: [a, b, c], includeRoot: false))
        for ns in snap.namespaces {
            #expect(ns.status == .ok, "\(ns.id): \(ns.error ?? "")")
            try compareNeighbors(ns)
            try compareFDB(ns)
            try compareNetfilter(ns)
        }
        let nsA = try #require(snap.namespace(a)), nsB = try #require(snap.namespace(b)), nsC = try #require(snap.namespace(c))
        // what the lab set up, spelled out (the comparisons above would pass on two empty lists)
        let failed = try #require(nsA.neighbors?.first { $0.address == IPAddress("10.9.0.8") })
        #expect(failed.isFailed && !failed.isResolved && failed.lladdr == nil)
        let router = try #require(nsA.neighbors?.first { $0.address == IPAddress("fd09::7") })
        #expect(router.flags & NeighborFlags.router != 0 && router.stateNames == ["PERMANENT"] && router.isResolved)
        let staticEntry = try #require(nsA.fdb?.first { $0.mac == "02:00:00:00:0a:01" })
        #expect(staticEntry.stateName == "static" && nsA.linkName(staticEntry.index) == "v0"
                && nsA.linkName(staticEntry.master) == "br0" && staticEntry.isBridgeEntry)
        let vx = try #require(nsA.fdb?.first { $0.mac == "00:00:00:00:00:00" })
        #expect(vx.dst == IPAddress("10.9.0.2") && !vx.isBridgeEntry && vx.flags & NeighborFlags.selfEntry != 0)
        #expect(nsA.netfilter?.hasTables == false)
        #expect(Set(nsB.netfilter?.nftables.tables ?? []) == ["inet nsa_filter", "ip6 nsa_six"] && nsB.netfilter?.hasTables == true)
        #expect(nsC.netfilter?.iptablesLegacy.tables?.contains("nat") == true)
        #expect(nsC.netfilter?.ip6tablesLegacy.tables?.contains("mangle") == true)
        // and the snapshot file round-trips them
        let back = try SnapshotReader.decode(Data(SnapshotWriter.encode(snap)), name: "live")
        #expect(back.namespaces.map(\.neighbors) == snap.namespaces.map(\.neighbors))
        #expect(back.namespaces.map(\.fdb) == snap.namespaces.map(\.fdb))
        #expect(back.namespaces.map(\.netfilter) == snap.namespaces.map(\.netfilter))
    }

    func compareNeighbors(_ ns: NamespaceSnapshot) throws {
        let ours = try #require(ns.neighbors, "\(ns.id): neighbours recorded")
        var theirs: [String] = []
        for j in try Live.json("ip -j -n \(ns.id) neigh show nud all") {
            let state = (j["state"] as? [String] ?? []).joined(separator: ",")
            let flags = ["router", "proxy", "extern_learn", "offload", "managed"].filter { j[$0] != nil }
            theirs.append("\(j["dst"]!) \(j["dev"]!) \(j["lladdr"] as? String ?? "-") \(state) \(flags)")
        }
        let mine = ours.map { n in
            let flags = ["router", "proxy", "extern_learn", "offload", "managed"].filter { name in
                NeighborFlags.names.contains { n.flags & $0.0 != 0 && $0.1 == name }
            }
            return "\(n.address) \(ns.linkName(n.index) ?? "?") \(n.lladdr ?? "-") \(n.stateNames.joined(separator: ",")) \(flags)"
        }
        #expect(mine.sorted() == theirs.sorted(), "\(ns.id) neighbours")
    }

    func compareFDB(_ ns: NamespaceSnapshot) throws {
        let ours = try #require(ns.fdb, "\(ns.id): FDB recorded")
        var theirs: [String] = []
        for j in try Live.json("bridge -j -n \(ns.id) fdb show") {
            let vlan = (j["vlan"] as? Int).map(String.init) ?? "-"
            let state = (j["state"] as? String).map { $0.isEmpty ? "dynamic" : $0 } ?? "dynamic"
            let flags = (j["flags"] as? [String] ?? []).sorted()
            theirs.append("\(j["mac"]!) \(j["ifname"]!) \(j["master"] as? String ?? "-") \(vlan) \(state) \(flags) \(j["dst"] as? String ?? "-")")
        }
        let printed: Set<String> = ["self", "router", "extern_learn", "offload", "sticky"]
        let mine = ours.map { e in
            let flags = NeighborFlags.names.filter { e.flags & $0.0 != 0 && printed.contains($0.1) }.map(\.1).sorted()
            return "\(e.mac) \(ns.linkName(e.index) ?? "?") \(ns.linkName(e.master) ?? "-") \(e.vlan.map(String.init) ?? "-") \(e.stateName) \(flags) \(e.dst?.description ?? "-")"
        }
        #expect(mine.sorted() == theirs.sorted(), "\(ns.id) fdb")
    }

    func compareNetfilter(_ ns: NamespaceSnapshot) throws {
        let nf = try #require(ns.netfilter, "\(ns.id): netfilter recorded")
        let nftJSON = try JSONSerialization.jsonObject(with: Data(try Live.sh("ip netns exec \(ns.id) nft -j list tables").utf8)) as? [String: Any]
        let nft = (nftJSON?["nftables"] as? [[String: Any]] ?? []).compactMap { $0["table"] as? [String: Any] }
            .map { "\($0["family"]!) \($0["name"]!)" }
        #expect(nf.nftables.source == "nfnetlink" && Set(nf.nftables.tables ?? ["unknown"]) == Set(nft), "\(ns.id) nftables")
        for (file, got) in [("ip_tables_names", nf.iptablesLegacy), ("ip6_tables_names", nf.ip6tablesLegacy),
                            ("arp_tables_names", nf.arptablesLegacy)] {
            let text = try Live.sh("ip netns exec \(ns.id) sh -c 'cat /proc/net/\(file) 2>/dev/null || true'")
            let names = text.split(separator: "\n").map(String.init)
            #expect(got.source == "/proc/net/\(file)" && Set(got.tables ?? ["unknown"]) == Set(names), "\(ns.id) \(file)")
        }
    }
}

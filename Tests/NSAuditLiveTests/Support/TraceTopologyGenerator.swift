import Foundation
import NSAuditCore

/// Seeded, reproducible generator (SplitMix64) of multi-namespace topologies and flows for
/// the trace differential: a tree of namespaces joined by veth pairs, by a bridge in the
/// parent or by a switch namespace (a bridge only, no address), every namespace routed along the tree, then perturbed: forwarding off, a route
/// missing, null routes (blackhole, unreachable, prohibit), a shortcut veth with a policy
/// rule that sends some replies around it, strict or loose rp_filter, an address held by two
/// leaves in different branches (the scenario's duplicate clients), a routing loop for an
/// address no namespace owns. IPv4 only. ICMP redirects are off (sent and accepted): a
/// redirect learnt from one flow would change the next flow's path, and route exceptions
/// are not in the model; ICMP error rate limits are off (net.ipv4.icmp_ratelimit=0), so every
/// port unreachable a probe provokes is sent. Namespace roles n0 … nK and switches sP; the harness prefixes them.
struct TraceTopology {
    var seed: UInt64
    var description: [String] = []
    var roles: [String] = []
    /// Shell commands, `%` standing for the namespace prefix (run with bash -e).
    var commands: [String] = []
    /// Per role: TCP and UDP ports a listener binds on every address.
    var listeners: [String: (tcp: [UInt16], udp: [UInt16])] = [:]
    /// Per role: its IPv4 addresses (UDP listeners bind each, so replies leave from the
    /// address the request came to).
    var addresses: [String: [String]] = [:]
    var flows: [(role: String, flow: ProbeFlow)] = []
}

struct TraceTopologyGenerator: SeededChoices {
    var rng: SplitMix64
    let seed: UInt64
    init(seed: UInt64) { self.seed = seed; rng = SplitMix64(seed: seed) }


    struct Attachment { var child: Int; var parent: Int; var bridged: Bool; var childIf: String; var parentIf: String; var childAddr: String; var parentAddr: String; var subnet: String }

    mutating func make(flowCount: Int) -> TraceTopology {
        var t = TraceTopology(seed: seed)
        let n = int(3...6)
        t.roles = (0..<n).map { "n\($0)" }
        var parent = [Int](repeating: -1, count: n)
        var links: [Attachment] = []
        var bridgeOf: [Int: String] = [:]   // parent → its bridge subnet prefix
        var switches: [Int] = []            // parents with a switch namespace s<parent>
        var kinds: [String] = []            // per attachment: veth, br (bridge in the parent), sw (switch namespace)
        var cmds: [String] = []
        var addrs: [Int: [String]] = [:]    // role → addresses (no prefix length)
        for r in 0..<n {
            cmds.append("ip netns add %\(t.roles[r])")
            cmds.append("ip -n %\(t.roles[r]) link set lo up")
            cmds.append("ip netns exec %\(t.roles[r]) sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0")
        }
        for i in 1..<n {
            let p = int(0...(i - 1))
            parent[i] = p
            let kind = chance(0.35) ? 1 : chance(0.35) ? 2 : 0   // 1: bridge in the parent, 2: a switch namespace
            let bridged = kind == 1
            if kind == 2 {
                // A switch: a namespace holding only a bridge (no address, no routing), with
                // a port toward the parent and one toward each child attached through it.
                let sw = "s\(p)"
                if !switches.contains(p) {
                    switches.append(p)
                    cmds.append("ip netns add %\(sw)")
                    cmds.append("ip -n %\(sw) link set lo up")
                    cmds.append("ip netns exec %\(sw) sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
                    cmds.append("ip -n %\(sw) link add br0 type bridge")
                    cmds.append("ip -n %\(sw) link set br0 up")
                    cmds.append("ip link add sw0 netns %\(t.roles[p]) type veth peer name uplink netns %\(sw)")
                    cmds.append("ip -n %\(sw) link set uplink master br0")
                    cmds.append("ip -n %\(sw) link set uplink up")
                    cmds.append("ip -n %\(t.roles[p]) addr add 10.1.\(150 + p).1/24 dev sw0")
                    cmds.append("ip -n %\(t.roles[p]) link set sw0 up")
                    addrs[p, default: []].append("10.1.\(150 + p).1")
                }
                let a = Attachment(child: i, parent: p, bridged: true, childIf: "up0", parentIf: "sw0",
                                   childAddr: "10.1.\(150 + p).\(10 + i)", parentAddr: "10.1.\(150 + p).1", subnet: "10.1.\(150 + p).0/24")
                cmds.append("ip link add c\(i) netns %\(sw) type veth peer name up0 netns %\(t.roles[i])")
                cmds.append("ip -n %\(sw) link set c\(i) master br0")
                cmds.append("ip -n %\(sw) link set c\(i) up")
                links.append(a)
                kinds.append("sw")
            } else if bridged {
                if bridgeOf[p] == nil {
                    bridgeOf[p] = "10.1.\(100 + p)"
                    cmds.append("ip -n %\(t.roles[p]) link add br0 type bridge")
                    cmds.append("ip -n %\(t.roles[p]) link set br0 up")
                    cmds.append("ip -n %\(t.roles[p]) addr add 10.1.\(100 + p).1/24 dev br0")
                    addrs[p, default: []].append("10.1.\(100 + p).1")
                }
                let a = Attachment(child: i, parent: p, bridged: true, childIf: "up0", parentIf: "br0",
                                   childAddr: "10.1.\(100 + p).\(10 + i)", parentAddr: "10.1.\(100 + p).1", subnet: "10.1.\(100 + p).0/24")
                cmds.append("ip link add p-n\(i) netns %\(t.roles[p]) type veth peer name up0 netns %\(t.roles[i])")
                cmds.append("ip -n %\(t.roles[p]) link set p-n\(i) master br0")
                cmds.append("ip -n %\(t.roles[p]) link set p-n\(i) up")
                links.append(a)
                kinds.append("br")
            } else {
                let a = Attachment(child: i, parent: p, bridged: false, childIf: "up0", parentIf: "to-n\(i)",
                                   childAddr: "10.1.\(i).2", parentAddr: "10.1.\(i).1", subnet: "10.1.\(i).0/24")
                cmds.append("ip link add to-n\(i) netns %\(t.roles[p]) type veth peer name up0 netns %\(t.roles[i])")
                cmds.append("ip -n %\(t.roles[p]) addr add 10.1.\(i).1/24 dev to-n\(i)")
                cmds.append("ip -n %\(t.roles[p]) link set to-n\(i) up")
                addrs[p, default: []].append("10.1.\(i).1")
                links.append(a)
                kinds.append("veth")
            }
            let a = links.last!
            cmds.append("ip -n %\(t.roles[i]) addr add \(a.childAddr)/24 dev up0")
            cmds.append("ip -n %\(t.roles[i]) link set up0 up")
            addrs[i, default: []].append(a.childAddr)
        }
        t.description.append("tree of \(n): " + (1..<n).map { "n\(parent[$0])-\(kinds[$0 - 1])-n\($0)" }.joined(separator: " "))

        // Routes along the tree: toward a subnet, the next node on the path to a node on it.
        func ancestors(_ v: Int) -> [Int] { var a: [Int] = []; var x = v; while x >= 0 { a.append(x); x = parent[x] }; return a }
        func nextHop(from u: Int, to v: Int) -> Int {
            if ancestors(v).contains(u) {   // v below u: the child of u on the way
                var x = v
                while parent[x] != u { x = parent[x] }
                return x
            }
            return parent[u]
        }
        func gateway(_ u: Int, _ next: Int) -> (String, String) {   // (address of next, u's device)
            if let l = links.first(where: { $0.child == next && $0.parent == u }) { return (l.childAddr, l.parentIf) }
            let l = links.first { $0.child == u && $0.parent == next }!
            return (l.parentAddr, l.childIf)
        }
        var subnets: [(String, [Int])] = []   // subnet → nodes on it
        for l in links {
            if let k = subnets.firstIndex(where: { $0.0 == l.subnet }) { subnets[k].1.append(l.child) } else { subnets.append((l.subnet, [l.parent, l.child])) }
        }
        var routes: [Int: [String]] = [:]
        for u in 0..<n {
            for (net, members) in subnets where !members.contains(u) {
                let target = members.min { ancestors($0).count < ancestors($1).count }!
                let nx = nextHop(from: u, to: target)
                let (gw, _) = gateway(u, nx)
                routes[u, default: []].append("\(net) via \(gw)")
            }
        }
        // Perturbations.
        var forwardingOff: [Int] = []
        for u in 0..<n where chance(0.15) { forwardingOff.append(u) }
        for u in forwardingOff { cmds.append("ip netns exec %\(t.roles[u]) sysctl -qw net.ipv4.ip_forward=0") }
        if !forwardingOff.isEmpty { t.description.append("forwarding off in " + forwardingOff.map { "n\($0)" }.joined(separator: ",")) }
        for u in 0..<n where chance(0.1) && !(routes[u] ?? []).isEmpty {
            let k = int(0...(routes[u]!.count - 1))
            t.description.append("n\(u) lacks \(routes[u]![k])")
            routes[u]!.remove(at: k)
        }
        for u in 0..<n { for r in routes[u] ?? [] { cmds.append("ip -n %\(t.roles[u]) route add \(r)") } }
        if chance(0.3) {
            let u = int(0...(n - 1))
            let (net, _) = pick(subnets)
            let type = pick(["blackhole", "unreachable", "prohibit"])
            let half = net.replacingOccurrences(of: ".0/24", with: ".0/25")
            cmds.append("ip -n %\(t.roles[u]) route add \(type) \(half)")
            t.description.append("n\(u): \(type) \(half)")
        }
        for u in 0..<n {
            let rp = chance(0.6) ? 0 : chance(0.6) ? 1 : 2
            if rp != 0 {
                cmds.append("ip netns exec %\(t.roles[u]) sysctl -qw net.ipv4.conf.all.rp_filter=\(rp)")
                t.description.append("n\(u) rp_filter=\(rp)")
            }
        }
        // A shortcut veth between two nodes that are not neighbours, with a rule in one of
        // them sending traffic from one subnet around it.
        if n >= 3 && chance(0.45) {
            var a = int(0...(n - 1)), b = int(0...(n - 1))
            var tries = 0
            while (a == b || parent[a] == b || parent[b] == a) && tries < 20 { a = int(0...(n - 1)); b = int(0...(n - 1)); tries += 1 }
            if a != b && parent[a] != b && parent[b] != a {
                cmds.append("ip link add sc0 netns %\(t.roles[a]) type veth peer name sc0 netns %\(t.roles[b])")
                cmds.append("ip -n %\(t.roles[a]) addr add 10.1.200.1/24 dev sc0")
                cmds.append("ip -n %\(t.roles[b]) addr add 10.1.200.2/24 dev sc0")
                cmds.append("ip -n %\(t.roles[a]) link set sc0 up")
                cmds.append("ip -n %\(t.roles[b]) link set sc0 up")
                addrs[a, default: []].append("10.1.200.1"); addrs[b, default: []].append("10.1.200.2")
                let (net, _) = pick(subnets)
                let sel = chance(0.5) ? "to \(net)" : "from \(net)"
                cmds.append("ip -n %\(t.roles[a]) rule add \(sel) lookup 100 pref 100")
                cmds.append("ip -n %\(t.roles[a]) route add default via 10.1.200.2 table 100")
                t.description.append("shortcut n\(a)-n\(b), n\(a): \(sel) via it")
            }
        }
        // Two leaves in different branches both hold 10.1.250.5; the tree routes it to the first.
        let leaves = (1..<n).filter { v in !parent.contains(v) }
        var dup: (Int, Int)?
        if leaves.count >= 2 && chance(0.35) {
            let l1 = pick(leaves)
            let l2 = pick(leaves.filter { $0 != l1 })
            dup = (l1, l2)
            for l in [l1, l2] { cmds.append("ip -n %\(t.roles[l]) addr add 10.1.250.5/32 dev up0") }
            for u in 0..<n where u != l1 {
                let nx = nextHop(from: u, to: l1)
                if nx < 0 { continue }
                let (gw, _) = gateway(u, nx)
                if u != l2 { cmds.append("ip -n %\(t.roles[u]) route add 10.1.250.5/32 via \(gw)") }
            }
            addrs[l1, default: []].append("10.1.250.5")
            t.description.append("10.1.250.5 on n\(l1) and n\(l2)")
        }
        // A loop for 10.1.240.0/24 (owned by nobody) between a node and its parent.
        var loop = false
        if n >= 2 && chance(0.15) {
            let c = int(1...(n - 1)), p = parent[c]
            let (gwUp, _) = gateway(c, p), (gwDown, _) = gateway(p, c)
            cmds.append("ip -n %\(t.roles[c]) route add 10.1.240.0/24 via \(gwUp)")
            cmds.append("ip -n %\(t.roles[p]) route add 10.1.240.0/24 via \(gwDown)")
            loop = true
            t.description.append("loop n\(p)<->n\(c) for 10.1.240.0/24")
        }
        // Leaves and the root without a default route reach only what their routes name;
        // every non-root node also gets a default toward its parent half the time.
        for u in 1..<n where chance(0.5) {
            let (gw, _) = gateway(u, parent[u])
            cmds.append("ip -n %\(t.roles[u]) route add default via \(gw)")
        }
        for u in 0..<n {
            var tcp: [UInt16] = [], udp: [UInt16] = []
            if chance(0.6) { tcp.append(22) }
            if chance(0.5) { udp.append(53) }
            if !tcp.isEmpty || !udp.isEmpty { t.listeners[t.roles[u]] = (tcp, udp) }
        }
        t.roles += switches.map { "s\($0)" }
        t.commands = cmds
        for u in 0..<n { t.addresses[t.roles[u]] = addrs[u] ?? [] }
        if let (_, l2) = dup { t.addresses[t.roles[l2], default: []].append("10.1.250.5") }

        let all = (0..<n).flatMap { u in (addrs[u] ?? []).map { (u, $0) } }
        for _ in 0..<flowCount {
            let proto = pick([ProbeProtocol.tcp, .tcp, .udp, .icmp])
            let dport: UInt16 = proto == .tcp ? pick([22, 22, 80]) : proto == .udp ? 53 : 0
            var start = int(0...(n - 1))
            var dst: String
            var src: String?
            var ttl: UInt8?
            let roll = Double(rng.next() % 1000) / 1000
            if let (l1, l2) = dup, roll < 0.15 {
                start = pick([l1, l2])
                src = "10.1.250.5"
                dst = pick(all.filter { $0.0 != start && $0.1 != "10.1.250.5" }).1
            } else if loop && roll < 0.25 {
                dst = "10.1.240.9"; ttl = 8
            } else {
                let others = all.filter { $0.0 != start }
                dst = others.isEmpty ? all[0].1 : pick(others).1
            }
            var f = ProbeFlow(proto: proto, dst: IPAddress(dst)!, dport: dport, ttl: ttl)
            f.src = src.flatMap(IPAddress.init)
            t.flows.append((t.roles[start], f))
        }
        return t
    }
}

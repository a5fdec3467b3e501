import Foundation
@testable import NSAuditCore
import Testing

/// `nsaudit trace` on the recorded labs (fixtures/snapshots, recorded with the labs'
/// listeners running): every disposition, the reply's divergence, bridges and multipath.
@Suite struct TraceTests {
    static func trace(_ lab: String, _ netns: String, _ args: String, edit: String? = nil,
                      change: ((inout Snapshot) -> Void)? = nil) throws -> TraceResult {
        var snap = try Lab.snapshot(lab)
        if let edit {
            var e = SnapshotEditor(snap)
            try e.apply(script: edit)
            snap = e.snapshot
        }
        change?(&snap)
        return try Trace.run(snapshot: snap, flow: try TraceFlow.parse(netns: "nsarec-" + netns, arguments: args))
    }

    static func route(_ p: TracePath) -> [String] {
        p.hops.map { "\($0.netns.replacingOccurrences(of: "nsarec-", with: "")):\($0.inInterface ?? "-")>\($0.outInterface ?? "-")" }
    }

    static let ssh = "10.99.0.40 ipproto tcp sport 40000 dport 22"

    @Test func mgmtBrokenReplyIsMisdeliveredToTheLeftClient() throws {
        let t = try Self.trace("mgmt-broken", "right-client", Self.ssh)
        #expect(t.branches.count == 1)
        let b = t.branches[0]
        #expect(Self.route(b.forward) == ["right-client:->eth0", "right-router:eth0>eth1", "server:ens19>-"])
        #expect(b.forward.disposition == .accepted)
        #expect(b.forward.listener?.netns == "nsarec-server" && b.forward.listener?.port == 22)
        #expect(b.reverse.count == 1)
        let r = b.reverse[0]
        #expect(Self.route(r) == ["server:->ens18", "left-router:eth1>eth0", "left-client:eth0>-"])
        #expect(r.disposition == .misdelivered)
        #expect(r.hops[0].gateway == IPAddress("10.20.30.1"))
        #expect(!b.symmetric && !t.ok)
        let d = try #require(b.divergence)
        #expect(d.hop == 0 && d.netns == "nsarec-server" && d.out == "ens18" && d.expectedOut == "ens19")
        #expect(d.rule == 32766 && d.table == Table.main && d.route == "default via 10.20.30.1 dev ens18")
        // the source is chosen as the kernel would
        #expect(t.source == IPAddress("192.168.127.10"))
    }

    /// The arp-check lab (fixtures/labs/arp-check.sh, whose `check` shows each case with real
    /// packets and the neighbour table): a namespace that does not answer ARP for the
    /// request's sender address stops the packet at the sender.
    @Test func unansweredARPStopsThePacketAtTheSender() throws {
        // b's strict rp_filter has no route back to 10.77.9.9, the ARP sender (arp_announce 0)
        let rpf = try Self.trace("arp-check", "a", "10.77.0.2 from 10.77.9.9")
        #expect(Self.route(rpf.branches[0].forward) == ["a:->eth0"])
        #expect(rpf.branches[0].forward.disposition == .neighborUnknown)
        #expect(rpf.branches[0].forward.detail.contains("nsarec-b does not answer the ARP request for 10.77.0.2 from 10.77.9.9"))
        // the address of the link is answered
        let ok = try Self.trace("arp-check", "a", "10.77.0.2 from 10.77.0.1")
        #expect(ok.branches[0].forward.disposition == .accepted && ok.branches[0].symmetric)
        // c holds the sender address 10.77.8.8 itself
        let own = try Self.trace("arp-check", "a", "10.78.0.2 from 10.77.8.8")
        #expect(Self.route(own.branches[0].forward) == ["a:->eth1"])
        #expect(own.branches[0].forward.disposition == .neighborUnknown)
        // eth2 announces its own address (arp_announce 2): d answers ARP, then its
        // rp_filter drops the packet itself
        let announced = try Self.trace("arp-check", "a", "10.79.0.2 from 10.77.9.9")
        #expect(Self.route(announced.branches[0].forward) == ["a:->eth2", "d:eth0>-"])
        #expect(announced.branches[0].forward.disposition == .rpFilterDrop)
        // a resolved neighbour entry (here: added to the snapshot) means no ARP is asked
        let known = try Self.trace("arp-check", "a", "10.77.0.2 from 10.77.9.9") { snap in
            let a = snap.namespaces.firstIndex { $0.id == "nsarec-a" }!, b = snap.namespaces.firstIndex { $0.id == "nsarec-b" }!
            let mac = snap.namespaces[b].links.first { $0.name == "eth0" }!.mac!
            let dev = snap.namespaces[a].links.first { $0.name == "eth0" }!.index
            snap.namespaces[a].neighbors = [Neighbor(index: dev, address: IPAddress("10.77.0.2")!, lladdr: mac, state: 0x02)]
        }
        #expect(known.branches[0].forward.disposition == .rpFilterDrop)
    }

    @Test func mgmtBrokenIPv6TooAndICMP() throws {
        let t = try Self.trace("mgmt-broken", "right-client", "fd00:99::40")
        #expect(t.flow.protocolName == "ipv6-icmp")
        #expect(t.branches[0].forward.disposition == .accepted)
        #expect(t.branches[0].reverse.map(\.disposition) == [.misdelivered])
        #expect(t.branches[0].divergence?.netns == "nsarec-server")
    }

    @Test func withoutAListenerItSaysWhereOneRuns() throws {
        let t = try Self.trace("mgmt-broken", "right-client", Self.ssh) { snap in
            let i = snap.namespaces.firstIndex { $0.id == "nsarec-server" }!
            snap.namespaces[i].sockets.removeAll { $0.localPort == 22 }
        }
        let f = t.branches[0].forward
        #expect(f.disposition == .noListener)
        #expect(Set(f.listenersElsewhere.map(\.netns)) == ["nsarec-left-router", "nsarec-right-router"])
        #expect(f.detail.contains("nsarec-left-router"))
        #expect(t.branches[0].reverse.isEmpty && !t.symmetric)
    }

    @Test func listenerBoundToAnotherDeviceDoesNotAccept() throws {
        let t = try Self.trace("mgmt-broken", "right-client", Self.ssh) { snap in
            let i = snap.namespaces.firstIndex { $0.id == "nsarec-server" }!
            let ens18 = snap.namespaces[i].link(named: "ens18")!.index
            for k in snap.namespaces[i].sockets.indices where snap.namespaces[i].sockets[k].localPort == 22 {
                snap.namespaces[i].sockets[k].boundIf = ens18
            }
        }
        #expect(t.branches[0].forward.disposition == .noListener)
    }

    @Test func netnsFixIsSymmetric() throws {
        let t = try Self.trace("mgmt-netns", "right-client", "10.20.30.40 ipproto tcp sport 40000 dport 22")
        let b = t.branches[0]
        #expect(Self.route(b.forward) == ["right-client:->eth0", "right-router:eth0>eth1", "mgmt:ens19>-"])
        #expect(b.forward.disposition == .accepted && b.forward.listener?.netns == "nsarec-mgmt")
        #expect(b.reverse.map(\.disposition) == [.delivered])
        #expect(Self.route(b.reverse[0]) == ["mgmt:->ens19", "right-router:eth1>eth0", "right-client:eth0>-"])
        #expect(b.symmetric && b.divergence == nil && t.ok)
        // and the data side from the left client reaches the server, not mgmt
        let web = try Self.trace("mgmt-netns", "left-client", "10.20.30.40 ipproto tcp sport 40000 dport 80")
        #expect(web.branches[0].forward.listener?.netns == "nsarec-server" && web.ok)
    }

    @Test func sourceRoutingFixIsSymmetric() throws {
        let t = try Self.trace("mgmt-srcroute", "right-client", Self.ssh)
        #expect(t.ok)
        #expect(t.branches[0].reverse[0].hops[0].rule != 32766)
        #expect(t.branches[0].reverse[0].hops[0].outInterface == "ens19")
    }

    @Test func strictRPFilterDropsAtTheServer() throws {
        let t = try Self.trace("mgmt-rpfilter", "right-client", Self.ssh)
        let f = t.branches[0].forward
        #expect(f.disposition == .rpFilterDrop)
        #expect(f.endNetns == "nsarec-server" && f.hops.last?.inInterface == "ens19")
        #expect(t.branches[0].reverse.isEmpty)
    }

    @Test func requestArrivingFromOutside() throws {
        // as arriving on ens19 from a client outside the host: the reply leaves by ens18
        let t = try Self.trace("mgmt-broken", "server", "10.99.0.40 from 192.168.127.10 iif ens19 ipproto tcp dport 22 sport 5555")
        #expect(t.branches[0].forward.disposition == .accepted)
        #expect(!t.symmetric)
        #expect(t.branches[0].divergence?.out == "ens18")
        let fixed = try Self.trace("mgmt-srcroute", "server", "10.99.0.40 from 192.168.127.10 iif ens19 ipproto tcp dport 22 sport 5555")
        #expect(!fixed.ok, "the reply of srcroute leaves by ens19 to right-router, which hands it to the right client inside the host")
        #expect(fixed.branches[0].reverse[0].disposition == .delivered || fixed.branches[0].reverse[0].disposition == .misdelivered)
    }

    @Test func dockerContainerToContainerCrossesTheBridge() throws {
        let t = try Self.trace("docker-host", "ctr3", "172.17.0.2 ipproto tcp sport 33000 dport 80")
        let b = t.branches[0]
        #expect(b.forward.hops.count == 3)
        let bridge = b.forward.hops[1]
        #expect(bridge.kind == .bridge && bridge.bridge == "docker0")
        #expect(bridge.inPort == "veth3f9a1c3" && bridge.outPort == "veth3f9a1c1")
        #expect(b.forward.listener?.netns == "nsarec-ctr1")
        #expect(b.reverse.map(\.disposition) == [.delivered] && t.ok)
        #expect(b.forward.crossings.map(\.interface) == ["eth0", "veth3f9a1c3", "veth3f9a1c1", "eth0"])
    }

    @Test func dockerContainerToHost() throws {
        let t = try Self.trace("docker-host", "ctr2", "172.17.0.1")
        let h = t.branches[0].forward.hops[1]
        #expect(h.netns == "nsarec-host" && h.inInterface == "docker0" && h.inPort == "veth3f9a1c2" && h.type == "local")
        #expect(t.ok)
        #expect(t.branches[0].reverse[0].hops[0].outPort == "veth3f9a1c2")
    }

    @Test func dockerContainerToOutsideExitsTheHost() throws {
        // the lab's upstream namespace stands for the network outside: a host's snapshot
        // does not hold it
        let t = try Self.trace("docker-host", "ctr2", "198.51.100.7 ipproto tcp sport 40000 dport 443") { snap in
            snap.namespaces.removeAll { $0.id == "nsarec-upstream" }
        }
        let f = t.branches[0].forward
        #expect(f.disposition == .exitsHost)
        #expect(f.exitDevice == "eth0" && f.exitNextHop == IPAddress("10.0.2.2"))
        #expect(Self.route(f) == ["ctr2:->eth0", "host:docker0>eth0"])
        // with upstream in the snapshot: it does not forward
        let u = try Self.trace("docker-host", "ctr2", "198.51.100.7")
        #expect(u.branches[0].forward.disposition == .forwardingDisabled)
        #expect(u.branches[0].forward.endNetns == "nsarec-upstream")
    }

    @Test func ecmpRouterTracesEveryBranch() throws {
        let t = try Self.trace("router-ecmp", "lan", "198.18.0.1 from 192.168.50.10 ipproto tcp sport 40000 dport 22")
        #expect(t.branches.count == 2)
        #expect(Set(t.branches.map { $0.forward.endNetns }) == ["nsarec-isp-a", "nsarec-isp-b"])
        #expect(t.branches.allSatisfy { $0.forward.disposition == .accepted && $0.symmetric })
    }

    @Test func nullRoutedNoRouteNeighborAndLoop() throws {
        let blackhole = try Self.trace("router-ecmp", "lan", "198.18.0.1 from 192.168.50.66")
        #expect(blackhole.branches[0].forward.disposition == .nullRouted)
        #expect(blackhole.branches[0].forward.hops.last?.rule == 200)
        let prohibit = try Self.trace("router-ecmp", "lan", "198.18.0.1 from 192.168.50.68")
        #expect(prohibit.branches[0].forward.disposition == .nullRouted && prohibit.branches[0].forward.error == "EACCES")
        let none = try Self.trace("mgmt-broken", "right-router", "8.8.8.8")
        #expect(none.branches[0].forward.disposition == .noRoute && none.branches[0].forward.error == "ENETUNREACH")
        let neigh = try Self.trace("mgmt-broken", "right-client", "10.77.0.1",
                                   edit: "ip -n nsarec-right-client route add 10.77.0.0/16 via 192.168.127.99")
        #expect(neigh.branches[0].forward.disposition == .neighborUnknown)
        #expect(neigh.branches[0].forward.crossings.isEmpty)
        let loop = try Self.trace("mgmt-broken", "left-client", "10.77.0.1", edit: """
            ip -n nsarec-left-router route add 10.77.0.0/16 via 10.20.30.40
            ip netns exec nsarec-server sysctl -w net.ipv4.ip_forward=1
            ip netns exec nsarec-server sysctl -w net.ipv4.conf.all.forwarding=1 net.ipv4.conf.ens18.forwarding=1
            """)
        #expect(loop.branches[0].forward.disposition == .loop)
        #expect(Self.route(loop.branches[0].forward) == ["left-client:->eth0", "left-router:eth0>eth1", "server:ens18>ens18", "left-router:eth1>eth1", "server:ens18>-"])
    }

    @Test func forwardingOffOnTheRouter() throws {
        let t = try Self.trace("mgmt-broken", "right-client", Self.ssh,
                               edit: "ip netns exec nsarec-right-router sysctl -w net.ipv4.conf.all.forwarding=0 net.ipv4.conf.eth0.forwarding=0 net.ipv4.ip_forward=0")
        #expect(t.branches[0].forward.disposition == .forwardingDisabled)
        #expect(t.branches[0].forward.endNetns == "nsarec-right-router")
    }

    @Test func badFlowsAreRefusedWithTheFix() throws {
        #expect(throws: TraceError.self) { try TraceFlow.parse(netns: "x", arguments: "10.0.0.1 iif eth0") }
        #expect(throws: TraceError.self) { try TraceFlow.parse(netns: "x", arguments: "10.0.0.1 ipproto tcp") }
        #expect(throws: TraceError.self) { try TraceFlow.parse(netns: "x", arguments: "fibmatch 10.0.0.1") }
        #expect(throws: TraceError.self) { try Self.trace("mgmt-broken", "nope", "10.0.0.1") }
        #expect(throws: TraceError.self) { try Self.trace("mgmt-broken", "server", "10.0.0.1 from 1.2.3.4 iif nosuch") }
    }

    static let cases: [(String, String, String)] = [
        ("mgmt-broken", "right-client", ssh), ("mgmt-netns", "right-client", "10.20.30.40 ipproto tcp dport 22"),
        ("mgmt-rpfilter", "right-client", ssh), ("docker-host", "ctr3", "172.17.0.2 ipproto tcp dport 80"),
        ("router-ecmp", "lan", "198.18.0.1 from 192.168.50.10 ipproto udp dport 53"),
        ("router-ecmp", "lan", "fd00:198:18::1 from fd00:50::10"),
    ]

    @Test func jsonFollowsTheSchemaAndTextFits80Columns() throws {
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/trace.schema.json"))
        for (lab, ns, args) in Self.cases {
            let t = try Self.trace(lab, ns, args)
            let json = try JSONSerialization.jsonObject(with: Data(TraceRenderer.json(t).utf8))
            #expect(v.validate(json) == [], "\(lab) \(args)")
            let obj = try #require(json as? [String: Any])
            #expect(obj["schema"] as? String == "nsaudit.trace/v1")
            #expect(obj["symmetric"] as? Bool == t.symmetric)
            let compact = try JSONSerialization.jsonObject(with: Data(TraceRenderer.json(t, pretty: false).utf8))
            #expect(v.validate(compact) == [])
            for line in TraceRenderer.text(t).split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
            #expect(TraceRenderer.text(t).hasSuffix(".\n"))
        }
        // a multipath trace has branches in place of hops
        let m = try Self.trace("router-ecmp", "lan", "198.18.0.1 from 192.168.50.10")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(TraceRenderer.json(m).utf8)) as? [String: Any])
        let fwd = try #require(obj["forward"] as? [String: Any])
        #expect((fwd["branches"] as? [Any])?.count == 2 && fwd["hops"] == nil)
    }

    @Test func namesAreEscapedInText() throws {
        let t = try Self.trace("mgmt-broken", "right-client", Self.ssh) { snap in
            for i in snap.namespaces.indices where snap.namespaces[i].id == "nsarec-right-router" {
                snap.namespaces[i].id = "nsarec-right-router\u{1b}[2J"
            }
            for i in snap.namespaces.indices {
                for k in snap.namespaces[i].links.indices where snap.namespaces[i].links[k].peerNetns == "nsarec-right-router" {
                    snap.namespaces[i].links[k].peerNetns = "nsarec-right-router\u{1b}[2J"
                }
            }
        }
        let text = TraceRenderer.text(t)
        #expect(!text.contains("\u{1b}") && text.contains("\\x1b[2J"))
        #expect(!TraceRenderer.dot(t).contains("\u{1b}"))
    }

    @Test func batchTracesEveryLineInOrder() throws {
        let ctx = TraceContext(try Lab.snapshot("mgmt-broken"))
        let input = """
            # flows
            netns nsarec-right-client 10.99.0.40 ipproto tcp dport 22

            netns nsarec-left-client 10.20.30.40 ipproto tcp dport 80
            10.99.0.40
            netns nsarec-left-client 10.20.30.40 ipproto tcp
            """
        let lines = TraceBatch.run(input, defaultNetns: "nsarec-right-client", context: ctx)
        #expect(lines.map(\.number) == [2, 4, 5, 6])
        guard case .success(let a) = lines[0].result, case .success(let b) = lines[1].result,
              case .success(let c) = lines[2].result else { Issue.record("lines 1-3 trace"); return }
        #expect(!a.ok && b.ok && c.flow.netns == "nsarec-right-client")
        guard case .failure(let e) = lines[3].result else { Issue.record("a tcp flow without dport is refused"); return }
        #expect(e.description.contains("dport"))
        // --batch --json: one compact object a line, each what `trace --json` writes for the
        // flow alone, and each following the schema
        let bytes = TraceRenderer.jsonLines([a, b, c])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == [a, b, c].map { TraceRenderer.json($0, pretty: false) + "\n" }.joined())
        let schema = try JSONSchemaValidator(schemaFile: Repo.file("schema/trace.schema.json"))
        for line in text.split(separator: "\n") {
            #expect(schema.validate(try JSONSerialization.jsonObject(with: Data(line.utf8))) == [])
        }
    }

    /// Where the snapshot has them, the sender's neighbour entry and the bridge's forwarding
    /// database choose the port (here deliberately against who owns the address, to show
    /// which decides); without them, ownership does.
    @Test func bridgePortFromFDBAndNeighbours() throws {
        func withFDB(port: String) -> (inout Snapshot) -> Void {
            { snap in
                let ctr3 = snap.namespaces.firstIndex { $0.id == "nsarec-ctr3" }!
                snap.namespaces[ctr3].neighbors = [Neighbor(index: snap.namespaces[ctr3].link(named: "eth0")!.index,
                                                            address: IPAddress("172.17.0.2")!, lladdr: "02:42:ac:11:00:02",
                                                            state: NeighborState.reachable)]
                let host = snap.namespaces.firstIndex { $0.id == "nsarec-host" }!
                let h = snap.namespaces[host]
                snap.namespaces[host].fdb = [FDBEntry(mac: "02:42:AC:11:00:02", index: h.link(named: port)!.index,
                                                      master: h.link(named: "docker0")!.index, state: NeighborState.reachable)]
            }
        }
        let right = try Self.trace("docker-host", "ctr3", "172.17.0.2", change: withFDB(port: "veth3f9a1c1"))
        #expect(right.branches[0].forward.hops[1].outPort == "veth3f9a1c1" && right.branches[0].forward.disposition == .accepted)
        let wrong = try Self.trace("docker-host", "ctr3", "172.17.0.2", change: withFDB(port: "veth3f9a1c2"))
        #expect(wrong.branches[0].forward.hops[1].outPort == "veth3f9a1c2")
        #expect(wrong.branches[0].forward.disposition == .neighborUnknown)
        #expect(wrong.branches[0].forward.crossings.last == TraceCrossing(netns: "nsarec-host", interface: "veth3f9a1c3", direction: .ingress))
    }

    @Test func hopsThroughNamespacesWithNetfilterAreMarked() throws {
        let t = try Self.trace("docker-host", "ctr3", "172.17.0.2") { snap in
            let host = snap.namespaces.firstIndex { $0.id == "nsarec-host" }!
            let none = NetfilterTables(source: "x", tables: [])
            for i in snap.namespaces.indices {
                snap.namespaces[i].netfilter = NetfilterState(nftables: none, iptablesLegacy: none, ip6tablesLegacy: none, arptablesLegacy: none)
            }
            snap.namespaces[host].netfilter!.nftables = NetfilterTables(source: "nfnetlink", tables: ["ip nat"])
        }
        let marked = t.branches[0].forward.hops.filter(\.filteringNotEvaluated).map(\.netns)
        #expect(marked == ["nsarec-host"])
        #expect(TraceRenderer.text(t).split(whereSeparator: \.isWhitespace).joined(separator: " ").contains("[filtering not evaluated]"))
        // not recorded: nothing is claimed
        let old = try Self.trace("docker-host", "ctr3", "172.17.0.2")
        #expect(old.branches[0].forward.hops.allSatisfy { !$0.filteringNotEvaluated })
    }

    /// The probe's part of the JSON and text, from an observation as LiveProbe makes them:
    /// the schema holds, a crossing the prediction lacks is a model mismatch.
    @Test func probeResultsRenderAndFollowTheSchema() throws {
        let t = try Self.trace("mgmt-broken", "right-client", Self.ssh)
        let plan = try #require(t.probePlan(snapshot: try Lab.snapshot("mgmt-broken")))
        #expect(plan.netns == "nsarec-right-client" && plan.flow.proto == .tcp && plan.flow.dport == 22)
        #expect(Set(plan.captureNetns).isSuperset(of: ["nsarec-server", "nsarec-left-client", "nsarec-right-router"]))
        let b = t.branches[0]
        func seen(_ p: TracePath, _ leg: ProbeLeg) -> [ProbeCrossing] {
            p.crossings.map { ProbeCrossing(netns: $0.netns, interface: $0.interface, direction: $0.direction, leg: leg) }
        }
        let good = ProbeObservation(flow: plan.flow, netns: plan.netns, answer: .none,
                                    crossings: (seen(b.forward, .request) + seen(b.reverse[0], .reply)).sorted())
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/trace.schema.json"))
        let cg = ProbeComparison(trace: t, observation: good)
        #expect(cg.agrees)
        let json = try JSONSerialization.jsonObject(with: Data(TraceRenderer.json(t, probe: (cg, good)).utf8))
        #expect(v.validate(json) == [])
        // the reply seen leaving through ens19 instead: a model mismatch
        var bad = good
        bad.crossings = seen(b.forward, .request) + [ProbeCrossing(netns: "nsarec-server", interface: "ens19", direction: .egress, leg: .reply)]
        let cb = ProbeComparison(trace: t, observation: bad)
        #expect(!cb.agrees)
        #expect(TraceRenderer.probeText(cb, bad).contains("model-mismatch"))
        #expect(v.validate(try JSONSerialization.jsonObject(with: Data(TraceRenderer.json(t, probe: (cb, bad)).utf8))) == [])
        // a flow from outside cannot be probed
        #expect(try Self.trace("mgmt-broken", "server", "10.99.0.40 from 192.168.127.10 iif ens19").probePlan(snapshot: try Lab.snapshot("mgmt-broken")) == nil)
    }
}

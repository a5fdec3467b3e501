import Foundation
@testable import NSAuditCore
import Testing

/// The trace through VRFs and macvlan siblings: listener binding against the ingress's VRF
/// (tcp_l3mdev_accept), and a macvlan's far side found among the devices on its parent.
@Suite struct TraceLinkTests {
    static let ssh = "10.99.0.40 ipproto tcp sport 40000 dport 22"

    static func run(_ snap: Snapshot, _ netns: String, _ args: String) throws -> TraceResult {
        try Trace.run(snapshot: snap, flow: try TraceFlow.parse(netns: netns, arguments: args))
    }

    static func server(_ snap: inout Snapshot, _ body: (inout NamespaceSnapshot) -> Void) {
        let i = snap.namespaces.firstIndex { $0.id == "nsarec-server" }!
        body(&snap.namespaces[i])
    }

    /// mgmt-vrf (scenario variant 4): ssh bound to the VRF takes the management flow, the
    /// reply leaves by the VRF's table; an unbound sshd takes it only with tcp_l3mdev_accept.
    @Test func vrfListenerBinding() throws {
        var snap = try Lab.snapshot("mgmt-vrf")
        let bound = try Self.run(snap, "nsarec-right-client", Self.ssh)
        #expect(bound.ok && bound.branches[0].forward.listener?.device == "mgmt")
        #expect(bound.branches[0].reverse[0].hops[0].table == 10)
        Self.server(&snap) { ns in for k in ns.sockets.indices { ns.sockets[k].boundIf = nil } }
        let unbound = try Self.run(snap, "nsarec-right-client", Self.ssh)
        #expect(unbound.branches[0].forward.disposition == .noListener)
        Self.server(&snap) { $0.settings.tcpL3mdevAccept = 1 }
        let accepted = try Self.run(snap, "nsarec-right-client", Self.ssh)
        #expect(accepted.branches[0].forward.disposition == .accepted && accepted.ok)
        // the data side: the unbound web server in the default VRF
        let web = try Self.run(snap, "nsarec-left-client", "10.20.30.40 ipproto tcp sport 40000 dport 80")
        #expect(web.ok)
    }

    /// Two namespaces with macvlan devices on the same parent (the server's ens18) reach each
    /// other; an address no sibling holds leaves the host through the parent.
    @Test func macvlanSiblings() throws {
        var snap = try Lab.snapshot("mgmt-broken")
        var e = SnapshotEditor(snap)
        try e.apply(script: "ip netns add nsam-a\nip netns add nsam-b")
        snap = e.snapshot
        let parent = snap.namespace("nsarec-server")!.link(named: "ens18")!.index
        let up = LinkFlags.up | LinkFlags.lowerUp | LinkFlags.broadcast
        for id in ["nsam-a", "nsam-b"] {
            let i = snap.namespaces.firstIndex { $0.id == id }!
            var mv = Link(index: 7, name: "mv0", flags: up, operstate: "UP")
            mv.kind = "macvlan"; mv.link = parent; mv.peerNetns = "nsarec-server"; mv.linkNetnsid = 0
            snap.namespaces[i].links.append(mv)
        }
        e = SnapshotEditor(snap)
        try e.apply(script: """
            ip -n nsam-a link set lo up
            ip -n nsam-b link set lo up
            ip -n nsam-a addr add 10.5.0.1/24 dev mv0
            ip -n nsam-b addr add 10.5.0.2/24 dev mv0
            """)
        snap = e.snapshot
        let t = try Self.run(snap, "nsam-a", "10.5.0.2")
        #expect(t.branches[0].forward.hops.map(\.netns) == ["nsam-a", "nsam-b"])
        #expect(t.ok && t.branches[0].reverse[0].disposition == .delivered)
        let out = try Self.run(snap, "nsam-a", "10.5.0.9")
        #expect(out.branches[0].forward.disposition == .exitsHost && out.branches[0].forward.exitDevice == "mv0")
    }
}

import Foundation
import NSAuditCore
import Testing

/// Replays the captures recorded from the management labs (fixtures/pcaps/record-pcaps.sh)
/// against the snapshots recorded with them, through the FIB model.
@Suite struct CaptureFixtureTests {
    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Repo.file("fixtures/pcaps/\(name)")))
    }
    static func snapshot(_ lab: String) throws -> Snapshot {
        try SnapshotReader.decode(try Data(contentsOf: Repo.file("fixtures/pcaps/\(lab).snapshot.json")), name: lab)
    }
    static func observe(_ lab: String, _ file: String, netns: String) throws -> (CaptureObservation, Snapshot) {
        let snap = try snapshot(lab)
        let pcap = try PcapFile.parse(try bytes(file))
        return (CaptureAnalysis.observe(pcap, netns: netns, snapshot: snap), snap)
    }
    static func responders(_ flows: [ObservedFlow], _ netns: String) -> [ObservedFlow] {
        flows.filter { $0.netns == netns && $0.role == .responder }
    }

    /// The broken lab: management requests arrive on ens19, replies leave via ens18, and the
    /// model predicts exactly that: every management flow is asymmetric and confirmed.
    @Test(arguments: ["mgmt-broken.server.pcap", "mgmt-broken.server.pcapng", "mgmt-broken.server-ifaces.pcapng", "mgmt-broken.nsaudit.pcapng"])
    func brokenLabConfirmsAsymmetricReply(file: String) throws {
        let (obs, snap) = try Self.observe("mgmt-broken", file, netns: "nsapcap-server")
        #expect(obs.warnings.isEmpty, "\(obs.warnings)")
        let server = Self.responders(obs.flows, "nsapcap-server")
        let mgmt = server.filter { $0.requestIngress == ["ens19"] }
        // ping and tcp/22, IPv4 and IPv6.
        #expect(Set(mgmt.map(\.protocol)) == ["icmp", "icmpv6", "tcp"])
        #expect(mgmt.count >= 4)
        for f in mgmt {
            #expect(f.replyEgress == ["ens18"], "\(f.example)")
            #expect(f.isAsymmetric)
            #expect(f.client.description == "192.168.127.10" || f.client.description == "fd00:127::10")
        }
        let verdicts = CaptureConfirmation.confirm(obs.flows, snapshot: snap).filter { $0.netns == "nsapcap-server" }
        #expect(!verdicts.isEmpty)
        for v in verdicts {
            #expect(v.verdict == .confirmed, "\(v.detail)")
        }
        let forMgmt = verdicts.filter { $0.ingress == "ens19" }
        #expect(forMgmt.count == mgmt.count)
        #expect(CaptureConfirmation.findingConfirmed(forMgmt) == true)
        // As the report asks per finding: asymmetric reply for 10.99.0.40, ingress ens19.
        let finding = CaptureConfirmation.forFinding(verdicts, netns: "nsapcap-server", ingress: "ens19",
                                                     server: IPAddress("10.99.0.40")!) { !IPPrefix(IPAddress("10.99.0.0")!, 24).contains($0) }
        #expect(finding.verdict == .confirmed && finding.confirmed == true)
        #expect(finding.observed?.requestIngress == ["ens19"] && finding.observed?.replyEgress == ["ens18"])
        #expect(finding.observed?.example?.contains("10.99.0.40") == true)
        let none = CaptureConfirmation.forFinding(verdicts, netns: "nsapcap-server", ingress: "ens20")
        #expect(none.verdict == .unobserved && none.confirmed == nil && none.observed == nil)
        // The data side is symmetric.
        let data = server.filter { $0.requestIngress == ["ens18"] }
        #expect(data.count >= 4 && data.allSatisfy { $0.replyEgress == ["ens18"] && !$0.isAsymmetric })
    }

    /// nsaudit's own multi-namespace capture shows the misdelivery on the left side too: the
    /// left router forwards replies for requests it never saw.
    @Test func brokenLabSeenFromEveryNamespace() throws {
        let (obs, _) = try Self.observe("mgmt-broken", "mgmt-broken.nsaudit.pcapng", netns: "unused")
        let namespaces = Set(obs.flows.map(\.netns))
        #expect(namespaces.isSuperset(of: ["nsapcap-server", "nsapcap-left-router", "nsapcap-right-router"]))
        let strays = obs.flows.filter { $0.netns == "nsapcap-left-router" && $0.role == .replyOnly && $0.server.description == "10.99.0.40" }
        #expect(!strays.isEmpty)
        // The right router forwarded management requests and saw no reply come back.
        let unanswered = obs.flows.filter { $0.netns == "nsapcap-right-router" && $0.role == .forwarder && !$0.answered }
        #expect(!unanswered.isEmpty)
    }

    /// Fixed variants: every request gets its reply back through the interface it came in on,
    /// and the model agrees.
    @Test(arguments: [("mgmt-netns", "mgmt-netns.server.pcap", "nsapcap-server"),
                      ("mgmt-netns", "mgmt-netns.mgmt.pcap", "nsapcap-mgmt"),
                      ("mgmt-srcroute", "mgmt-srcroute.server.pcap", "nsapcap-server"),
                      ("mgmt-netns", "mgmt-netns.nsaudit.pcapng", "nsapcap-server"),
                      ("mgmt-srcroute", "mgmt-srcroute.nsaudit.pcapng", "nsapcap-server")])
    func fixedVariantsConfirmSymmetry(lab: String, file: String, netns: String) throws {
        let (obs, snap) = try Self.observe(lab, file, netns: netns)
        let flows = Self.responders(obs.flows, netns)
        #expect(flows.count >= 4)
        for f in flows {
            #expect(f.answered, "\(f.example)")
            #expect(!f.isAsymmetric, "\(f.example): in \(f.requestIngress) out \(f.replyEgress)")
        }
        let verdicts = CaptureConfirmation.confirm(obs.flows, snapshot: snap).filter { $0.netns == netns }
        #expect(!verdicts.isEmpty)
        #expect(verdicts.allSatisfy { $0.verdict == .confirmed }, "\(verdicts.map(\.detail))")
        if lab == "mgmt-srcroute" {
            #expect(flows.contains { $0.requestIngress == ["ens19"] && $0.replyEgress == ["ens19"] })
        } else if netns == "nsapcap-mgmt" {
            #expect(flows.contains { $0.requestIngress == ["ens19"] && $0.replyEgress == ["ens19"] && $0.serverPort == 22 })
        }
    }

    /// Strict rp_filter on ens19: IPv4 management requests get no reply and the model
    /// predicted that drop; IPv6 has no rp_filter and replies leave via ens18.
    @Test func rpFilterDropIsNoReplyWithPredictedDrop() throws {
        let (obs, snap) = try Self.observe("mgmt-rpfilter", "mgmt-rpfilter.server.pcap", netns: "nsapcap-server")
        let verdicts = CaptureConfirmation.confirm(obs.flows, snapshot: snap).filter { $0.ingress == "ens19" }
        let v4 = verdicts.filter { $0.flow.family == .v4 }, v6 = verdicts.filter { $0.flow.family == .v6 }
        #expect(!v4.isEmpty && !v6.isEmpty)
        #expect(CaptureConfirmation.unanswered(verdicts).count == v4.count)
        for v in v4 {
            #expect(v.verdict == .noReply, "\(v.detail)")
            #expect(v.predictedDrop != nil, "\(v.detail)")
        }
        for v in v6 { #expect(v.verdict == .confirmed && v.observedEgress == ["ens18"], "\(v.detail)") }
    }

    /// A deliberately wrong model: the server's default routes removed from the snapshot.
    /// The real capture shows replies leaving through ens18: model-mismatch.
    @Test func wrongModelGivesModelMismatch() throws {
        var (obs, snap) = try Self.observe("mgmt-broken", "mgmt-broken.server.pcap", netns: "nsapcap-server")
        let i = try #require(snap.namespaces.firstIndex { $0.id == "nsapcap-server" })
        snap.namespaces[i].routes.removeAll { $0.dst.length == 0 && $0.table == 254 }
        obs.flows = obs.flows.filter { $0.requestIngress == ["ens19"] }
        let verdicts = CaptureConfirmation.confirm(obs.flows, snapshot: snap)
        #expect(!verdicts.isEmpty)
        for v in verdicts {
            #expect(v.verdict == .modelMismatch, "\(v.detail)")
            #expect(v.predictedDrop != nil)
        }
        #expect(CaptureConfirmation.findingConfirmed(verdicts) == false)
    }

    /// A damaged capture: what was readable before the damage is still used, with a warning.
    @Test func truncatedFixtureStillUsed() throws {
        let full = try Self.bytes("mgmt-broken.server.pcap")
        let cut = Array(full.prefix(full.count * 2 / 3))
        let pcap = try PcapFile.parse(cut)
        #expect(pcap.damage != nil)
        let obs = CaptureAnalysis.observe(pcap, netns: "nsapcap-server", snapshot: try Self.snapshot("mgmt-broken"))
        #expect(!obs.flows.isEmpty)
        #expect(obs.warnings.contains { $0.contains("truncated") && $0.contains("before the damage are used") })
    }
}

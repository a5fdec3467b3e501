import Foundation
import NSAuditCore
import Testing

/// Offline confirmation: the captures recorded from the labs (fixtures/pcaps, recorded with
/// fixtures/pcaps/record-pcaps.sh together with a snapshot taken at the same time) against
/// the report's findings.
@Suite struct CaptureEvidenceTests {
    func load(_ lab: String, pcap: String) throws -> (Snapshot, [ObservedFlow]) {
        let snap = try SnapshotReader.decode(Data(contentsOf: Repo.file("fixtures/pcaps/\(lab).snapshot.json")), name: lab)
        let bytes = [UInt8](try Data(contentsOf: Repo.file("fixtures/pcaps/\(lab).\(pcap)")))
        let server = try #require(snap.namespaces.first { $0.id.hasSuffix("-server") })
        let obs = CaptureAnalysis.observe(try PcapFile.parse(bytes), netns: server.id, snapshot: snap)
        return (snap, obs.flows)
    }

    func audit(_ snap: Snapshot, _ flows: [ObservedFlow]) -> ([Finding], [FlowConfirmation]) {
        var findings = Audit(snap, options: .init(remediate: false)).run().findings
        let verdicts = CaptureEvidence.apply(flows, snapshot: snap, to: &findings)
        return (findings, verdicts)
    }

    @Test(arguments: ["server.pcap", "nsaudit.pcapng"])
    func brokenLabCaptureConfirmsTheAsymmetry(_ file: String) throws {
        let (snap, flows) = try load("mgmt-broken", pcap: file)
        let (findings, verdicts) = audit(snap, flows)
        let f = try #require(findings.first { $0.kind == .asymmetricReply && $0.localAddress?.description == "10.99.0.40" && $0.severity == .warning })
        #expect(f.confirmed == true)
        #expect(f.evidence.contains("capture"))
        #expect(f.observed?.requestIngress == ["ens19"])
        #expect(f.observed?.replyEgress == ["ens18"])
        #expect(!verdicts.isEmpty)
        #expect(!findings.contains { $0.kind == .modelMismatch })
    }

    @Test(arguments: ["mgmt-netns", "mgmt-srcroute"])
    func fixedLabsConfirmSymmetry(_ lab: String) throws {
        let (snap, flows) = try load(lab, pcap: "server.pcap")
        let (findings, verdicts) = audit(snap, flows)
        #expect(!verdicts.isEmpty)
        for v in verdicts where v.verdict != .noReply {
            #expect(v.verdict == .confirmed, "\(v.detail)")
            #expect(v.observedEgress == [v.ingress], "\(v.detail)")
        }
        #expect(!findings.contains { $0.kind == .modelMismatch })
    }

    @Test func strictRPFilterDropIsConfirmedByMissingReplies() throws {
        let (snap, flows) = try load("mgmt-rpfilter", pcap: "server.pcap")
        let (findings, _) = audit(snap, flows)
        let f = try #require(findings.first { $0.kind == .rpFilterDrop && $0.localAddress?.description == "10.99.0.40" })
        #expect(f.confirmed == true)
    }

    @Test func wrongModelIsCaughtAsModelMismatch() throws {
        var (snap, flows) = try load("mgmt-broken", pcap: "server.pcap")
        // Drop the server's default routes: the model now predicts no reply to the clients,
        // but the capture shows replies leaving through ens18.
        let k = try #require(snap.namespaces.firstIndex { $0.id.hasSuffix("-server") })
        snap.namespaces[k].routes.removeAll { $0.dst.length == 0 && $0.table == Table.main }
        let (findings, verdicts) = audit(snap, flows)
        #expect(verdicts.contains { $0.verdict == .modelMismatch })
        let m = try #require(findings.first { $0.kind == .modelMismatch })
        #expect(m.severity == .error)
        #expect(m.evidence.contains("capture"))
    }
}

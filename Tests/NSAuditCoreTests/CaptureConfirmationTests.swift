import Foundation
import NSAuditCore
import Testing

@Suite struct CaptureConfirmationTests {
    static func flow(_ ingress: [String], _ egress: [String], role: ObservedFlow.Role = .responder) -> ObservedFlow {
        ObservedFlow(netns: "server", protocol: "tcp", family: .v4, client: IPAddress("192.168.127.10")!, clientPort: 40000,
                     server: IPAddress("10.99.0.40")!, serverPort: 22, role: role, requestPackets: 1,
                     replyPackets: egress.isEmpty ? 0 : 1, requestIngress: ingress, replyEgress: egress)
    }

    @Test func verdicts() {
        let flows = [Self.flow(["ens19"], ["ens18"]), Self.flow(["ens19"], []), Self.flow([], [], role: .initiator)]
        var asked: [ObservedRequest] = []
        let right = CaptureConfirmation.confirm(flows) { ns, req in
            asked.append(req)
            return .reply(egress: ["ens18"])
        }
        #expect(asked.count == 2)  // the initiator gets no verdict
        #expect(asked[0].ingress == "ens19" && asked[0].source == IPAddress("192.168.127.10")! && asked[0].proto == IPProto.tcp)
        #expect(asked[0].destinationPort == 22)
        #expect(right.map(\.verdict) == [.confirmed, .noReply])
        #expect(CaptureConfirmation.findingConfirmed(right) == true)

        let wrong = CaptureConfirmation.confirm(flows) { _, _ in .reply(egress: ["ens19"]) }
        #expect(wrong.map(\.verdict) == [.modelMismatch, .noReply])
        #expect(wrong[0].detail.contains("but the model predicts ens19"))
        #expect(CaptureConfirmation.findingConfirmed(wrong) == false)

        let drop = CaptureConfirmation.confirm(flows) { _, _ in .drop(reason: "rp_filter") }
        #expect(drop.map(\.verdict) == [.modelMismatch, .noReply])
        #expect(drop[1].predictedDrop == "rp_filter")

        let unknown = CaptureConfirmation.confirm(flows) { _, _ in .unknown(reason: "no namespace") }
        #expect(unknown.map(\.verdict) == [.unverifiable, .noReply])
        #expect(CaptureConfirmation.findingConfirmed(unknown) == nil)
        // Multipath: the observed egress is one of the predicted ones.
        #expect(CaptureConfirmation.confirm([flows[0]]) { _, _ in .reply(egress: ["ens18", "ens20"]) }.first?.verdict == .confirmed)
        #expect(CaptureConfirmation.flows(flows, netns: "server", ingress: "ens19", server: IPAddress("10.99.0.40")!).count == 2)
        #expect(CaptureConfirmation.flows(flows, netns: "server", ingress: "ens18").isEmpty)
    }
}

import Foundation
import Glibc
import NSAuditCore
import Testing

/// Snapshots without kernel facts are answered with the documented defaults, and the output
/// says so; snapshots with facts say nothing.
@Suite struct KernelFactsCLITests {
    @Test func routeGetSaysWhatWasAssumed() throws {
        // mgmt-vrf is hand-written and records no kernel facts.
        let (rc, out, err) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-vrf.json",
                                             "--netns", "nsarec-server", "192.168.127.10"])
        #expect(rc == 0 && !out.isEmpty)
        #expect(err.contains("records no kernel facts") && err.contains("assumed Linux 6.18"), "\(err)")
        let (rc2, _, err2) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-broken.json",
                                             "--netns", "nsarec-server", "192.168.127.10"])
        #expect(rc2 == 0 && err2.isEmpty, "\(err2)")
    }

    @Test func reportCarriesTheFacts() throws {
        let (_, out, _) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-vrf.json", "--format", "json", "--fail-on", "never"])
        let r = try JSONDecoder().decode(Report.self, from: Data(out.utf8))
        #expect(r.kernel?.assumed == true && r.kernel?.ipv6MulticastRouting == true)
        let (_, text, _) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-vrf.json", "--format", "text", "--fail-on", "never"])
        #expect(text.contains("note: the snapshot records no kernel facts"))
        let (_, out2, _) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-broken.json", "--format", "json", "--fail-on", "never"])
        let r2 = try JSONDecoder().decode(Report.self, from: Data(out2.utf8))
        #expect(r2.kernel == ReportKernel(KernelFacts(release: "6.18.44-fc-v857", ipv6MulticastRouting: true)))
    }
}

import FuzzSupport
import NSAuditCore

/// The capture reader (`report --pcap FILE`): pcap and pcapng parsing (PcapFile), packet
/// decoding for every supported link type (PacketDecoder), and the flow table built from it,
/// with interface indexes mapped through a recorded snapshot.
let snapshot = Fixtures.snapshot("fixtures/pcaps/mgmt-broken.snapshot.json")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPcap(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    if let file = try? PcapFile.parse(input.bytes) {
        let seen = CaptureAnalysis.observe(file, netns: "nsapcap-server", snapshot: snapshot)
        _ = seen.flows.count
    }
    // The packet decoder on its own, the input being one packet of each link type.
    for linkType: UInt32 in [1, 101, 113, 276, 0, 12, 228, 229] {
        _ = PacketDecoder.decode(input.bytes, linkType: linkType)
    }
    return 0
}

import Foundation
import FuzzSupport
import NSAuditCore

/// The snapshot reader (`--snapshot FILE`, NSAUDIT_SNAPSHOT): SnapshotDecoder, its
/// JSONDecoder fallback and the schema checks; then what `report` and `route-get` do with a
/// snapshot that was accepted: build each namespace's routing model and audit it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSnapshot(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    guard let snap = try? SnapshotReader.decode(Data(input.bytes), name: "fuzz.json") else { return 0 }
    for ns in snap.namespaces {
        let model = RoutingModel(ns)
        _ = try? model.routeGet(line: "10.0.0.1")
    }
    let outcome = Audit(snap, options: Audit.Options(maxSources: 64)).run()
    _ = outcome.findings.count
    return 0
}

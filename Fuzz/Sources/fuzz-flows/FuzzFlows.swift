import FuzzSupport
import NSAuditCore

/// The flows file (`report --flows FILE`, YAML): parsed by FlowIntent, then each declared
/// flow checked against a recorded snapshot, as the audit does.
let snapshot = Fixtures.mgmtVRF
let models = snapshot.namespaces.map { RoutingModel($0) }

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFlows(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let intents: [FlowIntent]
    do { intents = try FlowIntent.parse(yaml: input.text, name: "fuzz.yaml") } catch {
        _ = "\(error)"
        return 0
    }
    for (ns, model) in zip(snapshot.namespaces, models) {
        _ = FlowIntent.check(intents, ns: ns, netns: ns.id, model: model)
    }
    return 0
}

import FuzzSupport
import NSAuditCore

/// The `--apply` editor: the input is a change file, parsed by SnapshotEdit and applied by
/// SnapshotEditor to a recorded snapshot (a VRF, policy rules, five namespaces), which is
/// then audited as `report --apply` does (rule chains and gotos the edits made included).
let snapshot = Fixtures.mgmtVRF

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzApply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    var editor = SnapshotEditor(snapshot, defaultNamespace: Fixtures.server)
    do { try editor.apply(script: input.text) } catch {
        _ = error.description
        return 0
    }
    // without remediations (the snapshot target covers them): the editor and the analysis of
    // what it made are this target's business
    let outcome = Audit(editor.snapshot, options: Audit.Options(remediate: false, maxSources: 64)).run()
    _ = outcome.findings.count
    return 0
}

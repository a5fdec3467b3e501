import NSAuditCore

extension LiveCapture {
    /// `report --confirm`: captures in the namespaces `collect` chooses and takes the snapshot
    /// while the capture runs (once every capture handle is active), so the model and the
    /// packets describe the same moment. `capture.netns`/`includeRoot` are replaced by
    /// `collect`'s. The snapshot is returned even when some namespace failed to capture
    /// (see the stats); an error from the collector is rethrown after the capture ends.
    /// `onReady` runs once the snapshot is taken, while the capture goes on.
    public static func captureWithSnapshot(_ collect: CollectOptions, capture: LiveCaptureOptions,
                                           progress: (@Sendable (String) -> Void)? = nil,
                                           onReady: (() -> Void)? = nil) throws -> (snapshot: Snapshot, capture: LiveCaptureResult) {
        var opts = capture
        opts.netns = collect.netns
        opts.includeRoot = collect.includeRoot
        var snapshot: Snapshot?
        var collectError: Error?
        let result = try run(opts) {
            do { snapshot = try Collector.collect(collect, progress: progress) } catch { collectError = error }
            onReady?()
        }
        if let collectError { throw collectError }
        return (snapshot!, result)
    }
}

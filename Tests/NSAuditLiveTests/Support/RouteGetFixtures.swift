import Foundation
import NSAuditCore

/// Where the recorded route-get corpus lives, and how a case is written.
enum RouteGetFixtures {
    static var root: String {
        // Tests/NSAuditLiveTests/Support/<this file> → repository root
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
    static var generatedDir: String { root + "/fixtures/routeget/generated" }

    static func write(dir: String, name: String, snapshot: Snapshot, namespace: String, description: String,
                      source: String, cases: [RouteGetCase]) throws {
        var snap = snapshot
        snap.metadata = SnapshotMetadata(source: "kernel", lab: "route-get differential", note: description)
        var bytes: [UInt8] = []
        var w = SnapshotWriter { bytes += $0 }
        try w.write(snap)
        try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(name).snapshot.json"))
        let data = try RouteGetCorpus.encode(header: .init(namespace: namespace, description: description, source: source), cases: cases)
        try data.write(to: URL(fileURLWithPath: "\(dir)/\(name).queries.jsonl"))
    }
}

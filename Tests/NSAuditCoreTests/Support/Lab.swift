import Foundation
@testable import NSAuditCore
import Testing

enum Lab {
    static func snapshot(_ lab: String) throws -> Snapshot {
        try SnapshotReader.decode(Data(contentsOf: Repo.file("fixtures/snapshots/\(lab).json")), name: lab)
    }

    static func report(_ snap: Snapshot, source: String, options: Audit.Options = .init()) -> Report {
        let out = Audit(snap, options: options).run()
        return Report(generatedAt: "fixed", host: snap.host, source: source, snapshotTakenAt: snap.takenAt,
                      namespaces: out.namespaces, findings: out.findings)
    }

    static func findings(_ r: Report, address: String, kinds: Set<FindingKind> = [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit]) -> [Finding] {
        r.findings.filter { $0.localAddress?.description == address && kinds.contains($0.kind) }
    }
}

import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// A lab from fixtures/labs, built under a unique prefix and torn down afterwards.
final class LabScript {
    let lab: String
    let prefix: String
    let namespaces: [String]
    private static let counter = LabNamespaces.Counter()

    init(_ lab: String) throws {
        self.lab = lab
        prefix = "nsat\(getpid())-\(LabScript.counter.next())-"
        let script = Binary.repo.appendingPathComponent("fixtures/labs/\(lab).sh").path
        do {
            try Live.sh("'\(script)' up '\(prefix)' >/dev/null")
        } catch {
            _ = try? Live.sh("'\(script)' down '\(prefix)' >/dev/null 2>&1")
            throw error
        }
        namespaces = try Live.sh("'\(script)' namespaces '\(prefix)'").split(separator: "\n").map(String.init)
    }

    func role(_ netns: String) -> String { netns.hasPrefix(prefix) ? String(netns.dropFirst(prefix.count)) : netns }

    deinit {
        let script = Binary.repo.appendingPathComponent("fixtures/labs/\(lab).sh").path
        _ = try? Live.sh("'\(script)' down '\(prefix)' >/dev/null 2>&1")
    }
}

import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// The nsaudit binary built next to the test bundle.
enum Binary {
    static let url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("nsaudit")
    // Tests/NSAuditLiveTests/Support/<this file> → the repository root
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs nsaudit with arguments; returns (exit code, stdout, stderr).
    static func run(_ args: [String]) throws -> (Int32, String, String) {
        let quoted = args.map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        do {
            let stdout = try Live.sh("cd '\(repo.path)' && '\(url.path)' \(quoted) 2>'\(out.path)'; echo \"rc=$?\"")
            var lines = stdout.split(separator: "\n", omittingEmptySubsequences: false)
            while lines.last == "" { lines.removeLast() }
            let rc = Int32(lines.removeLast().dropFirst(3)) ?? -1
            let err = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
            return (rc, lines.joined(separator: "\n"), err)
        }
    }
}

import Foundation
import Glibc
import NSAuditCore
import Testing

/// The command line's help: every subcommand teaches on --help (exit 0, on standard output),
/// including route-get, whose query words are taken as they come; a bad query is a one-line
/// error on standard error with exit 2.
@Suite struct CLIHelpTests {
    @Test(arguments: [["--help"], ["snapshot", "--help"], ["route-get", "--help"], ["route-get", "-h"],
                      ["report", "--help"], ["capture", "--help"], ["trace", "--help"], ["trace", "-h"],
                      ["trace", "10.0.0.1", "--help"], ["diff", "--help"]])
    func helpTeaches(_ args: [String]) throws {
        let (rc, out, err) = try Binary.run(args)
        #expect(rc == 0, "\(args): \(err)")
        #expect(out.contains("OVERVIEW:") && out.contains("USAGE:"), "\(args)")
    }

    @Test func negativeMaxSourcesIsRefused() throws {
        let (rc, out, err) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-broken.json", "--max-sources", "-1"])
        #expect(rc == 2 && out.isEmpty, "a usage error exits 2")
        #expect(err.contains("--max-sources"), "\(err)")
    }

    /// A failed write to standard output is an error with the errno, not a silent stop:
    /// route-get exits 2, the `ip` personality 1 (ip's status for a failed command).
    @Test func failedWriteToStandardOutputIsReported() throws {
        guard access("/dev/full", W_OK) == 0 else { return }
        let snap = "fixtures/snapshots/mgmt-broken.json"
        for (args, status) in [("route-get --snapshot \(snap) --netns nsarec-server 192.168.127.10", 2),
                               ("route-get --snapshot \(snap) --netns nsarec-server --ip-compat 192.168.127.10", 2),
                               ("ip -n nsarec-server route get 192.168.127.10", 1)] {
            let env = args.hasPrefix("ip ") ? "NSAUDIT_SNAPSHOT=\(snap) " : ""
            let out = try Live.sh("cd '\(Binary.repo.path)' && \(env)'\(Binary.url.path)' \(args) 2>&1 >/dev/full | tr '\\n' ' '; echo \"rc=${PIPESTATUS[0]}\"")
            #expect(out.contains("write standard output: No space left on device (ENOSPC)") && out.hasSuffix("rc=\(status)\n"), "\(args): \(out)")
        }
    }

    @Test func badQueryIsOneLineOnStandardError() throws {
        let (rc, out, err) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-broken.json",
                                             "--netns", "nsarec-server", "10.0.0.300"])
        #expect(rc == 2)
        #expect(out.isEmpty)
        #expect(err.split(separator: "\n").count == 1 && err.contains("10.0.0.300"), "\(err)")
    }
}

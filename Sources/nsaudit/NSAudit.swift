import ArgumentParser
import Foundation
import NSAuditCore

@main
struct NSAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsaudit",
        abstract: "Find asymmetric routing across the network namespaces of a Linux host.",
        discussion: """
        nsaudit snapshots the routing state of every network namespace over rtnetlink, \
        predicts the kernel's route lookups offline, and reports where replies leave through \
        another interface than the request arrived on.

        Typical use:
          nsaudit snapshot -o host.json          record every namespace
          nsaudit route-get --snapshot host.json --netns NS 10.0.0.1 from 10.99.0.40
          nsaudit report --format text           audit the live host
        """,
        version: NSAuditInfo.version,
        subcommands: [SnapshotCommand.self, RouteGetCommand.self, ReportCommand.self, CaptureCommand.self]
    )

    /// Runs the command; a `CLIFailure` prints one line and exits with its code (2: the
    /// command could not do its job), everything else follows ArgumentParser's conventions.
    static func main() {
        // Invoked as `ip` (a symlink or wrapper of that name) or as `nsaudit ip ...`: the
        // `ip route get` drop-in, which takes ip's own command line.
        let argv = CommandLine.arguments
        if let prog = argv.first.map({ ($0 as NSString).lastPathComponent }), prog == "ip" {
            Foundation.exit(IPDropIn.main(Array(argv.dropFirst())))
        }
        if argv.count >= 2 && argv[1] == "ip" {
            Foundation.exit(IPDropIn.main(Array(argv.dropFirst(2))))
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("nsaudit: \(failure.message)\n".utf8))
            Foundation.exit(failure.code)
        } catch {
            exit(withError: error)
        }
    }
}

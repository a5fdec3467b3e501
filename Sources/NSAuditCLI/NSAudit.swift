import ArgumentParser
import FoundationEssentials
import NSAuditCore

/// The `nsaudit` command line. `Sources/nsaudit/main.swift` runs `NSAudit.run(commandLine:)`;
/// tests parse with `NSAudit.parseAsRoot(_:)` and map errors with `Termination(for:)`.
public struct NSAudit: ParsableCommand {
    public static let configuration = CommandConfiguration(
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
          nsaudit diff old.json new.json         what changed in behaviour, and why

        Exit status: 0 clean; 1 findings at or above `report --fail-on`; 2 the command \
        could not run (a usage error, a bad snapshot, an unknown namespace, no permission), \
        with one line on standard error saying what and how to fix it.
        """,
        version: NSAuditInfo.versionLine,
        subcommands: [SnapshotCommand.self, RouteGetCommand.self, TraceCommand.self, ReportCommand.self, CaptureCommand.self,
                      DiffCommand.self]
    )

    public init() {}

    /// The whole process: `argv` as the program got it (its name first). Returns the exit
    /// status. Invoked as `ip` (a symlink or wrapper of that name) or as `nsaudit ip ...`:
    /// the `ip route get` drop-in, which takes ip's own command line and exits as ip does.
    public static func run(commandLine argv: [String]) -> Int32 {
        if let prog = argv.first.map({ $0.split(separator: "/").last.map(String.init) ?? $0 }), prog == "ip" {
            return IPDropIn.main(Array(argv.dropFirst()))
        }
        if argv.count >= 2 && argv[1] == "ip" {
            return IPDropIn.main(Array(argv.dropFirst(2)))
        }
        do {
            var command = try parseAsRoot(Array(argv.dropFirst()))
            try command.run()
            return ExitStatus.clean
        } catch {
            let end = Termination(for: error)
            end.print()
            return end.status
        }
    }
}

import ArgumentParser

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
        version: NSAuditVersion.string,
        subcommands: [SnapshotCommand.self, RouteGetCommand.self, ReportCommand.self, CaptureCommand.self]
    )
}

enum NSAuditVersion {
    static let string = "0.1.0"
}

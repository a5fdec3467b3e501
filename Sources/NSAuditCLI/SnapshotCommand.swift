import ArgumentParser
import FoundationEssentials
import NSAuditCore
import NSAuditLinux

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Record the routing state of every network namespace as JSON.",
        discussion: """
        Enters each namespace (root, `ip netns` names, Docker's, and those only held by \
        processes) and dumps over rtnetlink: links, addresses, policy rules, routes of every \
        table, nexthop objects, routing sysctls and TCP/UDP sockets. The JSON follows \
        schema/snapshot.schema.json. Needs root (CAP_SYS_ADMIN) to enter other namespaces.

        Examples:
          nsaudit snapshot -o host.json
          nsaudit snapshot --netns blue --netns red --no-root
        """
    )

    @Option(name: .customLong("netns"), help: ArgumentHelp("Only this namespace (repeatable): a name from `ip netns list`, a Docker namespace name, or a snapshot id.", valueName: "NAME"))
    var netns: [String] = []

    @Flag(inversion: .prefixedNo, help: "Include the root namespace (default: yes, unless --netns is given).")
    var root: Bool?

    @Flag(name: .customLong("no-sockets"), help: "Do not record TCP/UDP sockets.")
    var noSockets = false

    @OptionGroup var output: OutputOptions

    @OptionGroup var verbosity: VerbosityOptions

    func run() throws {
        let snap = try LiveAccess.collect(CollectOptions(netns: netns, includeRoot: root, sockets: !noSockets), progress: verbosity.progress)
        for ns in snap.namespaces where ns.status != .ok {
            note("namespace \(ns.id): \(ns.status.rawValue): \(ns.error ?? "")")
        }
        let out = try output.open()
        var writer = SnapshotWriter { bytes in try out.write(bytes) }
        try CLIFailure.wrap {
            try writer.write(snap)
            try out.commit()
        }
    }
}

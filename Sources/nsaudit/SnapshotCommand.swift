import ArgumentParser
import Foundation
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

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write the snapshot to FILE atomically (default: standard output).", valueName: "FILE"))
    var output: String?

    @Flag(name: .shortAndLong, help: "Print progress on standard error.")
    var verbose = false

    func run() throws {
        let verbose = self.verbose
        let progress: (@Sendable (String) -> Void)? = { msg in
            if verbose { FileHandle.standardError.write(Data("nsaudit: \(msg)\n".utf8)) }
        }
        let snap: Snapshot
        do {
            snap = try Collector.collect(CollectOptions(netns: netns, includeRoot: root, sockets: !noSockets), progress: progress)
        } catch let e as CollectError {
            throw CLIFailure(message: e.description, code: 2)
        }
        for ns in snap.namespaces where ns.status != .ok {
            FileHandle.standardError.write(Data("nsaudit: namespace \(ns.id): \(ns.status.rawValue): \(ns.error ?? "")\n".utf8))
        }
        let out = try CLIFailure.wrap { try OutputFile(path: output) }
        var writer = SnapshotWriter { bytes in try out.write(bytes) }
        try CLIFailure.wrap {
            try writer.write(snap)
            try out.commit()
        }
    }
}

/// A failure the user must act on: one line on stderr, a chosen exit code.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { message }

    static func wrap<T>(code: Int32 = 2, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CLIFailure { throw e } catch {
            throw CLIFailure(message: "\(error)", code: code)
        }
    }
}

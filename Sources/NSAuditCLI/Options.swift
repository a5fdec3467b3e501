import ArgumentParser
import FoundationEssentials
import NSAuditCore
import NSAuditLinux

// Option groups shared by the subcommands, so that one option has one name, one help text
// and one behaviour wherever it appears.

/// `--snapshot FILE`: where the routing state comes from (route-get, report, capture --pcap).
public struct SnapshotSourceOptions: ParsableArguments {
    @Option(name: .customLong("snapshot"),
            help: ArgumentHelp("Use the routing state recorded in FILE by `nsaudit snapshot` instead of the live host's.", valueName: "FILE"))
    public var file: String?

    public init() {}

    /// The snapshot file, decoded; nil when none was given. Errors name the file.
    public func load() throws -> Snapshot? {
        guard let file else { return nil }
        let bytes = try CLIFailure.wrap { try readWholeFile(file) }
        do { return try SnapshotReader.decode(bytes, name: file) } catch { throw CLIFailure("\(error)") }
    }

    /// The snapshot (the file, or else the live host's, of `netns` only) and the namespace
    /// to answer in: `netns`, or else root, or else the only one.
    public func loadNamespace(_ netns: String?) throws -> (Snapshot, NamespaceSnapshot) {
        let snap = try loadOrCollect(CollectOptions(netns: netns.map { [$0] } ?? [], includeRoot: netns == nil, sockets: false))
        let ns: NamespaceSnapshot
        if let name = netns {
            guard let n = snap.namespace(name) else {
                let known = snap.namespaces.map(\.id).joined(separator: ", ")
                throw CLIFailure("no namespace \"\(name)\" in the snapshot (it has: \(known))")
            }
            ns = n
        } else if let n = snap.namespace("root") ?? (snap.namespaces.count == 1 ? snap.namespaces[0] : nil) {
            ns = n
        } else {
            throw CLIFailure("the snapshot has several namespaces and no root: choose one with --netns")
        }
        guard ns.status == .ok else { throw CLIFailure("namespace \(ns.id) was not recorded (\(ns.status.rawValue): \(ns.error ?? ""))") }
        return (snap, ns)
    }

    /// The snapshot file, or else a snapshot of the live host taken now.
    func loadOrCollect(_ options: @autoclosure () -> CollectOptions, progress: (@Sendable (String) -> Void)? = nil) throws -> Snapshot {
        if let snap = try load() { return snap }
        return try LiveAccess.collect(options(), progress: progress)
    }
}

/// Reading the live host: a run without the permission ends with exit status 2 and what is
/// missing and how to get it (never an empty snapshot or a report of "denied" namespaces).
enum LiveAccess {
    /// Throws when this process cannot enter namespaces (no CAP_SYS_ADMIN).
    static func check() throws {
        if let problem = Capabilities.collectionProblem() { throw CLIFailure(problem) }
    }

    /// `Collector.collect` after `check`; a snapshot in which every namespace was denied
    /// (an LSM, a user namespace) fails the same way.
    static func collect(_ options: CollectOptions, progress: (@Sendable (String) -> Void)? = nil) throws -> Snapshot {
        try check()
        let snap: Snapshot
        do { snap = try Collector.collect(options, progress: progress) } catch { throw CLIFailure("\(error)") }
        try checkCollected(snap)
        return snap
    }

    static func checkCollected(_ snap: Snapshot) throws {
        if let first = snap.namespaces.first, snap.namespaces.allSatisfy({ $0.status == .denied }) {
            throw CLIFailure("permission denied for every namespace (\(first.id): \(first.error ?? "denied")): "
                             + "run nsaudit as root (sudo), or read a recorded snapshot with --snapshot FILE")
        }
    }
}

/// `-o/--output FILE`: where the result goes, written atomically (snapshot, report).
public struct OutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("Write the result to FILE atomically: a temporary file, fsync, rename; a failed run leaves the previous FILE in place (default: standard output).", valueName: "FILE"))
    public var file: String?

    public init() {}

    /// Opens the destination (a bad directory fails here, before any work is done).
    func open() throws -> OutputFile { try CLIFailure.wrap { try OutputFile(path: file) } }

    /// Writes `bytes` and makes the file visible under its name.
    static func write(_ out: OutputFile, _ bytes: [UInt8]) throws {
        try CLIFailure.wrap {
            try out.write(bytes)
            try out.commit()
        }
    }
}

/// `-v/--verbose`: progress on standard error (snapshot, report).
public struct VerbosityOptions: ParsableArguments {
    @Flag(name: .shortAndLong, help: "Print progress on standard error.")
    public var verbose = false

    public init() {}

    /// Prints a progress line when --verbose is given.
    var progress: @Sendable (String) -> Void {
        let verbose = self.verbose
        return { msg in if verbose { note(msg) } }
    }
}

/// Packets that confirm (or contradict) the model, named alike in `report` and `capture`:
/// `--confirm DURATION` captures them live, `--pcap FILE` reads a saved capture taken in the
/// namespace named by `--pcap-netns`.
public struct PacketSourceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Capture live packets for DURATION (5s, 2m, 500ms, 1h30m) while a snapshot is taken, and compare what they show with the model.", valueName: "DURATION"))
    public var confirm: CaptureDuration?

    @Option(help: ArgumentHelp("Read packets from a saved capture instead of capturing live: pcap or pcapng, from `nsaudit capture -w FILE` or `tcpdump -i any -y LINUX_SLL2 -w FILE` run in one namespace.", valueName: "FILE"))
    public var pcap: String?

    /// The old name of --pcap in `capture`.
    @Option(name: .customLong("read"), help: .hidden)
    var read: String?

    @Option(name: .customLong("pcap-netns"), help: ArgumentHelp("The namespace the --pcap capture was taken in.", valueName: "NAME"))
    public var pcapNetns: String?

    public init() {}

    /// --pcap, or its old name --read.
    public var pcapFile: String? { pcap ?? read }

    public func validate() throws {
        if pcap != nil && read != nil { throw ValidationError("--read is the old name of --pcap: give one of them") }
        if confirm != nil && pcapFile != nil { throw ValidationError("use either --confirm DURATION (capture live) or --pcap FILE (a saved capture), not both") }
        if pcapNetns != nil && pcapFile == nil { throw ValidationError("--pcap-netns goes with --pcap FILE: it names the namespace the capture was taken in") }
    }

    /// The saved capture's flows, observed in the namespace named by --pcap-netns (or
    /// `namespace` when none was given), with its warnings printed.
    func observeFile(namespace: String, snapshot: Snapshot?, warningPrefix: String) throws -> CaptureObservation? {
        guard let path = pcapFile else { return nil }
        let bytes = try CLIFailure.wrap { try readWholeFile(path) }
        let observation: CaptureObservation
        do { observation = try CaptureAnalysis.observe(bytes: bytes, netns: namespace, snapshot: snapshot) } catch {
            throw CLIFailure("\(path): \(error)")
        }
        for w in observation.warnings { note("\(warningPrefix)\(path): \(w)") }
        return observation
    }
}

// MARK: - Argument types

extension CaptureDuration: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public var defaultValueDescription: String { text }
}

extension ReportFormat: ExpressibleByArgument {}

extension Severity: ExpressibleByArgument {}

/// `--fail-on LEVEL`: the lowest severity that makes `report` exit 1, or `never`.
public struct FailOn: ExpressibleByArgument, Equatable, Sendable, CustomStringConvertible {
    /// nil: never.
    public var threshold: Severity?

    public init(_ threshold: Severity?) { self.threshold = threshold }

    public init?(argument: String) {
        if argument == "never" { threshold = nil; return }
        guard let s = Severity(argument: argument) else { return nil }
        threshold = s
    }

    public static let never = FailOn(nil)
    public static var allValueStrings: [String] { Severity.allCases.reversed().map(\.rawValue) + ["never"] }
    public var description: String { threshold?.rawValue ?? "never" }
    public var defaultValueDescription: String { description }

    /// Whether findings this severe make the run fail.
    public func fails(on worst: Severity?) -> Bool {
        guard let threshold, let worst else { return false }
        return worst >= threshold
    }
}

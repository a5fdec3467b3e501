import ArgumentParser
import Foundation
import NSAuditCLI
import NSAuditCore

/// Benchmarks kept out of the shipped `nsaudit` (bench/route-get-bench.sh runs them).
struct NSAuditBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nsaudit-bench",
        abstract: "nsaudit's in-process benchmarks (not part of the shipped command).",
        subcommands: [RouteGetLookups.self, SnapshotRead.self]
    )
}

/// In-process route lookups on one core: `RoutingModel` built from a snapshot namespace (or a
/// synthetic one), then random IPv4 output lookups one at a time and in bulk, and full
/// route-get answers for IPv4 and IPv6. The model's lookup arrays are backed by transparent
/// huge pages where the kernel allows it.
struct RouteGetLookups: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route-get",
        abstract: "Time route lookups in-process on one core.",
        discussion: """
        Examples:
          nsaudit-bench route-get --snapshot host.json --netns NS --lookups 5000000
          nsaudit-bench route-get --synthetic-routes 1000000
        """
    )

    @OptionGroup var source: SnapshotSourceOptions

    @Option(help: ArgumentHelp("Namespace of the snapshot to look up in (default: root, or the only one).", valueName: "NAME"))
    var netns: String?

    @Option(help: ArgumentHelp("Instead of a snapshot: a synthetic in-memory namespace with N IPv4 routes (N/10 IPv6, 50 rules).", valueName: "N"))
    var syntheticRoutes: Int?

    @Option(help: ArgumentHelp("Random IPv4 output lookups to time (N/5 IPv4 and N/10 IPv6 full answers as well).", valueName: "N"))
    var lookups: Int = 5_000_000

    func validate() throws {
        if syntheticRoutes != nil && (source.file != nil || netns != nil) {
            throw ValidationError("--synthetic-routes replaces --snapshot and --netns")
        }
        if lookups < 1 { throw ValidationError("--lookups must be positive") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let ns: NamespaceSnapshot
        if let n = syntheticRoutes {
            ns = RouteGetBenchmark.synthetic(n)
        } else {
            ns = try source.loadNamespace(netns).1
        }
        let t1 = clock.now
        let cpu0 = Timing.threadCPUSeconds()
        let model = RoutingModel(ns)
        let t2 = clock.now
        let cpu = Timing.threadCPUSeconds() - cpu0
        HugePages.advise(model)
        print("snapshot load \(Timing.ms(t1 - t0)) ms; lookup structures built in \(Timing.ms(t2 - t1)) ms (on-CPU \(String(format: "%.1f", cpu * 1000)) ms; \(ns.routes.count) routes, \(ns.rules.count) rules)")
        RouteGetBenchmark.run(model: model, count: lookups)
    }
}

/// Reading a snapshot file with the byte-level reader nsaudit uses, or with Foundation's
/// `JSONDecoder` (the reference reader), timed side by side by bench/snapshot-read-bench.sh.
struct SnapshotRead: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot-read",
        abstract: "Time reading a snapshot file (file read, decode, schema check).",
        discussion: """
        Examples:
          nsaudit-bench snapshot-read host.json
          nsaudit-bench snapshot-read --reader foundation host.json
        """
    )

    enum Reader: String, ExpressibleByArgument, CaseIterable { case fast, foundation }

    @Option(help: "fast: the reader nsaudit uses; foundation: JSONDecoder over the model's Codable.")
    var reader: Reader = .fast

    @Argument(help: ArgumentHelp("The snapshot file.", valueName: "FILE"))
    var file: String

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("\(file): cannot read the file") }
        let snap = reader == .fast ? try SnapshotReader.decode(data, name: file) : try SnapshotReader.decodeWithFoundation(data, name: file)
        let t1 = clock.now
        print("snapshot load \(Timing.ms(t1 - t0)) ms (\(reader.rawValue); \(snap.namespaces.reduce(0) { $0 + $1.routes.count }) routes)")
    }
}

NSAuditBench.main()

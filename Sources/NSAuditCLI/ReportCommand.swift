import ArgumentParser
import FoundationEssentials
import NSAuditCore
import NSAuditLinux

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Audit every namespace for asymmetric and broken return paths.",
        discussion: """
        For every local address and the interface a request to it arrives on, nsaudit splits \
        the whole client source space into ranges and predicts, with its model of the kernel's \
        FIB, whether the reply leaves through that interface (symmetric), through another \
        (asymmetric-reply), is dropped by rp_filter, has no route back, or is spread by \
        multipath. It also checks declared flows end to end through the host's namespaces \
        (--flows), ARP flux, duplicate addresses, \
        rule priority collisions and rp_filter surprises, and proposes fixes it has verified \
        on a copy of the snapshot. On the live host the kernel is asked (RTM_GETROUTE) \
        each finding's representative flows and, for every audited address and ingress, \
        both lookups (the request's input lookup, the reply's output lookup) of a few \
        sources of every verdict class, symmetric ones included; a disagreement with the \
        model, or kernel answers that put a source in another class, is reported as \
        model-mismatch.

        Packets confirm what the model predicts: --confirm DURATION captures them live while \
        the snapshot is taken, --pcap FILE --pcap-netns NAME reads a saved capture (the same \
        options as `nsaudit capture`). A finding the packets contradict says so.

        Night after night: --baseline FILE compares with the previous report (findings new, \
        unchanged or updated, first_seen kept, the gone ones listed as resolved) and then \
        --fail-on counts only new and updated findings (--fail-on-all: all of them); \
        --accept FILE marks findings an operator accepted, which never fail the run until \
        their expiry date. Finding ids stay the same as long as the problem does.

        Outputs: every -o FORMAT:PATH gets the same audit in its format; `-o PATH` (once) \
        and standard output take --format. Each file is written to a temporary file first \
        and renamed when every output has been written, so a failed run changes none.

        Exit status: 0 no finding at or above --fail-on; 1 findings at or above it; 2 the \
        audit could not run (a usage error, bad snapshot, baseline or accept file, unknown \
        namespace, no permission).

        Examples:
          nsaudit report --format text
          nsaudit report --snapshot host.json --netns server --format json -o report.json
          nsaudit report --flows flows.yaml --fail-on error
          nsaudit report --format prometheus -o /var/lib/node_exporter/textfile/nsaudit.prom
          nsaudit report -o json:/var/lib/nsaudit/report.json -o prometheus:nsaudit.prom
          nsaudit report -o json:report.json -o text:-
          nsaudit report --snapshot host.json --apply planned-change.ip
          nsaudit report --netns server --confirm 10s
          nsaudit report --snapshot host.json --pcap server.pcap --pcap-netns server
          nsaudit report --baseline last.json --accept accepted.yaml -o last.json
        """
    )

    @OptionGroup var source: SnapshotSourceOptions

    @Option(name: .customLong("netns"), help: ArgumentHelp("Only this namespace (repeatable).", valueName: "NAME"))
    var netns: [String] = []

    @Option(help: ArgumentHelp("YAML file of declared flows: each is traced end to end (as `nsaudit trace` does) and must be accepted with a reply that retraces it.", valueName: "FILE"))
    var flows: String?

    @Option(help: ArgumentHelp("Apply these `ip` commands to the snapshot before the audit (a planned change).", valueName: "FILE"))
    var apply: String?

    @OptionGroup var output: ReportOutputOptions

    /// The format of standard output and of an untyped `-o PATH`.
    var format: ReportFormat { output.format }

    @Option(name: .customLong("fail-on"), help: ArgumentHelp("Exit 1 when a finding has this severity or higher (never: exit 0 whatever is found). With --baseline only new and updated findings count; accepted ones never do.", valueName: "LEVEL"))
    var failOn: FailOn = FailOn(.warning)

    @Flag(name: .customLong("fail-on-all"), help: "With --baseline: --fail-on counts every finding, unchanged ones too (accepted ones still never count).")
    var failOnAll = false

    @Option(help: ArgumentHelp("A previous report (JSON) to compare with: each finding is marked new, unchanged or updated and keeps first_seen; the baseline's findings that are gone are listed as resolved. A missing FILE is a first night (every finding new). FILE may be the -o output: it is read before anything is written.", valueName: "FILE"))
    var baseline: String?

    @Option(help: ArgumentHelp("YAML list of accepted findings (by id, or by netns/kind/address/ingress), each with a reason and an optional expires: YYYY-MM-DD. They stay in the report, marked accepted, and never fail the run until they expire.", valueName: "FILE"))
    var accept: String?

    @Flag(help: "Text format: list every finding in full, info ones too, with every verified fix (-v does too).")
    var all = false

    @Flag(name: .customLong("any-ingress"), help: "Consider requests arriving on every interface, not only on the address's own.")
    var anyIngress = false

    @Flag(name: .customLong("no-kernel-check"), help: "Do not check the model against the live kernel (findings and sampled sources).")
    var noKernelCheck = false

    @Flag(name: .customLong("no-remediation"), help: "Do not propose and verify fixes.")
    var noRemediation = false

    @Option(name: .customLong("max-sources"), help: ArgumentHelp("List at most N source CIDR blocks per finding; sources_total still counts all of them and sources_truncated says the list was cut. 0 lists every block (a full Internet table can make that millions).", valueName: "N"))
    var maxSources: Int = 1000

    @OptionGroup(title: "Packet evidence")
    var packets: PacketSourceOptions

    @Option(help: ArgumentHelp("Lock file that keeps overlapping live runs apart (default: /run/lock/nsaudit.lock; a run of --snapshot takes no lock unless this is given). A lock that cannot be opened is an error, never replaced by another.", valueName: "FILE"))
    var lock: String?

    static let defaultLock = "/run/lock/nsaudit.lock"

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if packets.confirm != nil && source.file != nil { throw ValidationError("--confirm captures live packets: it cannot be combined with --snapshot (use --pcap for a saved capture)") }
        if packets.pcapFile != nil && packets.pcapNetns == nil { throw ValidationError("--pcap needs --pcap-netns NAME: the namespace the capture was taken in") }
        if maxSources < 0 { throw ValidationError("--max-sources takes a count (0 for all), not \(maxSources)") }
        _ = try output.destinations()
    }

    func run() throws {
        let started = Date()
        let destinations = try output.destinations()
        // Every destination is opened before the audit: a bad directory fails in a moment.
        let files = try output.open(destinations)
        let progress = verbosity.progress
        // Read before any work and before any output is written: the baseline may be the
        // file this run replaces.
        let previous = try loadBaseline()
        let acceptRules = try loadAcceptList()
        // A live run without the permission says so first (before the lock it could not take either).
        if source.file == nil { try LiveAccess.check() }
        // Live runs (cron) are kept apart; a run of a snapshot file reads nothing shared.
        let heldLock: FileLock?
        if let lockPath = lock ?? (source.file == nil ? Self.defaultLock : nil) {
            do { heldLock = try FileLock(path: lockPath, timeout: 120) } catch let e as SystemCallError where e.call.hasPrefix("open") {
                throw CLIFailure("\(e); choose a lock file in a directory you can write with --lock FILE\(lock == nil ? ", or run as root" : "")")
            } catch {
                throw CLIFailure("\(error)")
            }
        } else {
            heldLock = nil
        }
        defer { withExtendedLifetime(heldLock) {} }

        // NSAUDIT_TIMING=1: one line on standard error with the time of each phase (benchmarks).
        let timing = ProcessInfo.processInfo.environment["NSAUDIT_TIMING"].map { !$0.isEmpty && $0 != "0" } ?? false
        var marks: [(String, Date)] = [("start", started)]
        var observedFlows: [ObservedFlow]?
        var snap: Snapshot
        let collect = CollectOptions(netns: netns, includeRoot: netns.isEmpty ? nil : false)
        if let confirm = packets.confirm {
            try LiveAccess.check()
            progress("capturing for \(confirm) while taking the snapshot")
            LiveCapture.installSignalHandlers()
            defer { LiveCapture.removeSignalHandlers() }
            // The snapshot is taken while the capture runs (once every handle is active), so
            // the model and the packets describe the same moment.
            do {
                let (s, capture) = try LiveCapture.captureWithSnapshot(collect, capture: LiveCaptureOptions(duration: confirm.seconds), progress: progress)
                try LiveAccess.checkCollected(s)
                snap = s
                observedFlows = capture.flows
                for w in capture.warnings { note("capture: \(w)") }
            } catch {
                throw CLIFailure("\(error)")
            }
        } else {
            snap = try source.loadOrCollect(collect, progress: progress)
        }
        if let pcapNetns = packets.pcapNetns {
            guard let ns = snap.namespace(pcapNetns) else {
                throw CLIFailure("--pcap-netns: no namespace \"\(pcapNetns)\" in the snapshot")
            }
            observedFlows = try packets.observeFile(namespace: ns.id, snapshot: snap, warningPrefix: "")?.flows
        }
        marks.append(("collect", Date()))
        for n in netns where snap.namespace(n) == nil {
            throw CLIFailure("no namespace \"\(n)\" in the snapshot (it has: \(snap.namespaces.map(\.id).joined(separator: ", ")))")
        }
        if let apply {
            let text = try CLIFailure.wrap { String(decoding: try readWholeFile(apply), as: UTF8.self) }
            var editor = SnapshotEditor(snap, defaultNamespace: netns.first.flatMap { snap.namespace($0)?.id })
            do { try editor.apply(script: text) } catch { throw CLIFailure("\(apply): \(error)") }
            snap = editor.snapshot
            marks.append(("apply", Date()))
        }
        var intents: [FlowIntent] = []
        if let flows {
            let text = try CLIFailure.wrap { String(decoding: try readWholeFile(flows), as: UTF8.self) }
            intents = try CLIFailure.wrap { try FlowIntent.parse(yaml: text, name: flows) }
            marks.append(("flows", Date()))
        }
        progress("auditing \(snap.namespaces.count) namespace(s)")
        // Namespaces not chosen with --netns still inform the audit (e.g. routers on a link).
        let chosen: Set<String>? = netns.isEmpty ? nil : Set(netns.compactMap { snap.namespace($0)?.id })
        let kernelCheck = source.file == nil && apply == nil && !noKernelCheck
        var options = Audit.Options(anyIngress: anyIngress, intents: intents, remediate: !noRemediation,
                                    maxSources: maxSources == 0 ? .max : maxSources)
        options.selfCheckSamples = kernelCheck
        let audit = Audit(snap, options: options)
        var outcome = audit.run(namespaces: chosen)
        marks.append(("audit", Date()))
        if kernelCheck {
            progress("checking the model against the kernel (\(outcome.samples.count) sampled sources)")
            outcome.findings = SelfCheck.run(outcome.findings, samples: outcome.samples, snapshot: snap, models: outcome.models,
                                             ask: KernelRouteLookup.ask)
        }
        var confirmations: [FlowConfirmation]?
        if let observedFlows {
            confirmations = CaptureEvidence.apply(observedFlows, snapshot: snap, to: &outcome.findings)
        }
        marks.append(("kernel-check", Date()))
        var report = Report(generatedAt: Date().formatted(.iso8601), host: snap.host,
                            source: source.file ?? "live", snapshotTakenAt: snap.takenAt,
                            namespaces: outcome.namespaces, findings: outcome.findings)
        report.observedFlows = confirmations
        report.kernel = ReportKernel(snap.kernelFacts)
        report.durationSeconds = (Date().timeIntervalSince(started) * 1000).rounded() / 1000
        if let baseline { Baseline.apply(previous, path: baseline, to: &report) }
        if !acceptRules.isEmpty {
            AcceptList.apply(acceptRules, to: &report.findings, today: String(report.generatedAt.prefix(10)))
        }
        report.recomputeSummary()

        try output.write(report, to: destinations, files: files, all: all || verbosity.verbose)
        if timing {
            marks.append(("output", Date()))
            var parts: [String] = []
            for i in 1..<marks.count {
                parts.append("\(marks[i].0)=" + marks[i].1.timeIntervalSince(marks[i - 1].1).fixed(3))
            }
            parts.append("total=" + marks[marks.count - 1].1.timeIntervalSince(started).fixed(3))
            note("timing \(parts.joined(separator: " ")) findings=\(report.findings.count)")
        }
        if failOn.fails(on: report.worstCounted(all: failOnAll)) { throw CLIFailure.findings }
    }

    /// The --baseline report; nil when there is none (no option, no file yet, or a report of
    /// an older schema), said on standard error.
    func loadBaseline() throws -> Report? {
        guard let path = baseline else { return nil }
        guard FileManager.default.fileExists(atPath: path) else {
            note("no baseline at \(path): every finding is new")
            return nil
        }
        let bytes = try CLIFailure.wrap { try readWholeFile(path) }
        do {
            switch try Baseline.decode(Data(bytes), name: path) {
            case .report(let r): return r
            case .olderSchema(let schema):
                note("baseline \(path) is a \(schema) report, whose finding ids \(Report.schemaVersion) does not share: every finding is new")
                return nil
            }
        } catch {
            throw CLIFailure("\(error)")
        }
    }

    func loadAcceptList() throws -> [AcceptRule] {
        guard let path = accept else { return [] }
        let text = try CLIFailure.wrap { String(decoding: try readWholeFile(path), as: UTF8.self) }
        do { return try AcceptList.parse(yaml: text, name: path) } catch { throw CLIFailure("\(error)") }
    }
}

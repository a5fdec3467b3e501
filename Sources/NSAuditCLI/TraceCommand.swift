import ArgumentParser
import FoundationEssentials
import NSAuditCore
import NSAuditLinux

/// `--format` of `trace`.
enum TraceFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, dot
}

struct TraceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Follow one flow hop by hop through the host's namespaces, and its reply back.",
        discussion: """
        The flow is given in the syntax of `ip route get`:
          DST [from SRC] [iif DEV] [oif DEV] [ipproto tcp|udp|icmp] [sport N]
            [dport N] [mark M] [tos T] [uid N]
        It starts in --netns as sent by a local process (the source chosen as the \
        kernel would, unless `from` is given), or with `iif DEV` as arriving on DEV \
        from outside the host (then `from` is needed). Without ipproto the flow is an \
        ICMP echo.

        In each namespace the model answers what the kernel decides (policy rule, \
        table, route, type; rp_filter and forwarding for arriving packets); the link \
        then leads to the next namespace: a veth to its peer, a bridge to the port \
        behind which the next hop's address lives, a macvlan/ipvlan to a sibling on \
        the same parent; a device whose far side the snapshot cannot see ends the \
        path (exits-host). At the destination the listening sockets decide \
        (accepted / no-listener, naming where a listener for the port does run). \
        The reply is traced back from there the same way. Where a route has several \
        paths, each is traced (a branch each).

        Dispositions: accepted, no-listener, delivered (the reply back at the \
        sender), misdelivered (the reply at another namespace holding the sender's \
        address), exits-host, no-route, null-routed, rp-filter-drop, \
        forwarding-disabled, loop, neighbor-unknown.

        --batch FILE traces a flow a line: `[netns NAME] ARGS`; text output \
        separates the traces by a blank line, --json writes one object a line.

        Exit status: 0 when every flow is accepted and its reply retraces it; 1 when \
        one is not; 2 when the command could not run (bad flow, unknown namespace \
        or device, bad snapshot).

        Examples:
          nsaudit trace --snapshot h.json --netns client 10.99.0.40 ipproto tcp dport 22
          nsaudit trace --snapshot h.json --netns server 10.99.0.40 \\
              from 192.168.127.10 iif ens19 ipproto tcp dport 22 --json
          nsaudit trace --snapshot h.json --netns client 10.99.0.40 --format dot \\
              | dot -Tsvg > trace.svg
          nsaudit trace --snapshot h.json --batch flows.txt --json
        """
    )

    @OptionGroup var source: SnapshotSourceOptions

    @Option(help: ArgumentHelp("The namespace the flow starts in: a name or snapshot id (default: root, or the only namespace).", valueName: "NAME"))
    var netns: String?

    @Option(help: ArgumentHelp("Trace a flow a line of FILE (`-`: standard input): `[netns NAME] ARGS`; empty lines and # comments are skipped.", valueName: "FILE"))
    var batch: String?

    @Flag(help: "Print JSON (schema/trace.schema.json); the same as --format json.")
    var json = false

    @Option(help: ArgumentHelp("Output format: text (a hop a line), json, or dot (Graphviz).", valueName: "FORMAT"))
    var format: TraceFormat?

    @Option(name: .customLong("only-netns"), help: ArgumentHelp("Live: snapshot only this namespace (repeat for more; default: every namespace of the host). Links to namespaces left out lead out of the host.", valueName: "NAME"))
    var onlyNetns: [String] = []

    @Flag(help: ArgumentHelp("Live only: also send the flow for real (ICMP echo, TCP SYN or one UDP datagram) from its namespace and capture it (headers only) in every namespace on the predicted path; each predicted crossing is marked seen or not, and a contradiction is a model-mismatch. Only to addresses of this host's namespaces."))
    var probe = false

    @Flag(help: ArgumentHelp("Print load, model build and trace times on standard error.", visibility: .hidden))
    var timing = false

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The flow, in `ip route get` syntax.", valueName: "ARGS"))
    var flow: [String] = []

    var outputFormat: TraceFormat { format ?? (json ? .json : .text) }

    mutating func validate() throws {
        if let w = flow.first, w == "--help" || w == "-h" || w == "help" { throw CleanExit.helpRequest(Self.self) }
        try takeTrailingOptions()
        if json && format != nil && format != .json { throw ValidationError("--json and --format \(format!.rawValue) disagree: give one") }
        if batch == nil && flow.isEmpty { throw ValidationError("give a flow (e.g. `10.99.0.40 ipproto tcp dport 22`) or --batch FILE") }
        if batch != nil && !flow.isEmpty { throw ValidationError("give either a flow or --batch, not both") }
        if batch != nil && outputFormat == .dot { throw ValidationError("--format dot draws one flow: leave out --batch") }
        if !onlyNetns.isEmpty && source.file != nil { throw ValidationError("--only-netns chooses what a live snapshot holds: leave it out with --snapshot") }
        if probe && source.file != nil { throw ValidationError("--probe sends a real packet on this host: it cannot be used with --snapshot") }
        if probe && batch != nil { throw ValidationError("--probe sends one flow: leave out --batch") }
        if probe && outputFormat == .dot { throw ValidationError("--probe results are shown in text or JSON, not dot") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        // Listeners matter: a live snapshot records sockets, of every namespace.
        let snap = try source.loadOrCollect(CollectOptions(netns: onlyNetns, includeRoot: onlyNetns.isEmpty ? nil : false, sockets: true))
        if let a = snap.kernelFacts.assumption { note("\(source.file ?? "snapshot"): \(a.head) \(a.tail)") }
        let start = try startNamespace(snap)
        // one flow asks few lookups: models without the accelerators that pay off over many
        let context = TraceContext(snap, build: batch == nil ? .fewLookups : .standard)
        let t1 = clock.now
        if timing { note("snapshot load \(Timing.ms(t1 - t0)) ms (\(snap.namespaces.count) namespaces, \(snap.namespaces.reduce(0) { $0 + $1.routes.count }) routes)") }
        if let b = batch {
            let data = try CLIFailure.wrap { b == "-" ? try readStandardInput() : try readWholeFile(b) }
            let tb = clock.now
            let lines = TraceBatch.run(String(decoding: data, as: UTF8.self), defaultNetns: start, context: context)
            let tt = clock.now
            defer {
                if timing {
                    note("\(lines.count) flows traced in \(Timing.ms(tt - tb)) ms (models of their start namespaces built first), rendered and written in \(Timing.ms(clock.now - tt)) ms; after the load \(Timing.ms(clock.now - tb)) ms")
                }
            }
            var failed = false
            for l in lines {
                switch l.result {
                case .success(let t): failed = failed || !t.ok
                case .failure(let e): throw CLIFailure("\(b): line \(l.number): \(e)")
                }
            }
            // rendered in pieces on every core, written in order
            let json = outputFormat == .json
            let chunk = 256
            let pieces = parallelMap((lines.count + chunk - 1) / chunk) { c -> [UInt8] in
                let part = lines[(c * chunk)..<min(lines.count, (c + 1) * chunk)]
                if json { return TraceRenderer.jsonLines(part.lazy.compactMap { try? $0.result.get() }) }
                var s = ""
                for l in part {
                    guard case .success(let t) = l.result else { continue }
                    s += (l.number == lines.first?.number ? "" : "\n") + TraceRenderer.text(t)
                }
                return Array(s.utf8)
            }
            for piece in pieces { try StandardStream.output.write(piece) }
            if failed { throw CLIFailure.findings }
            return
        }
        guard let ns = start else { throw CLIFailure("the snapshot has several namespaces and no root: choose one with --netns") }
        let result: TraceResult
        do {
            result = try Trace.run(try TraceFlow.parse(netns: ns, arguments: flow.joined(separator: " ")), in: context)
        } catch { throw CLIFailure("\(error)") }
        if timing { note("traced in \(Timing.ms(clock.now - t1)) ms (models built as the trace entered namespaces)") }
        let probed = probe ? try runProbe(result, snap) : nil
        switch outputFormat {
        case .text: try StandardStream.output.write(TraceRenderer.text(result) + (probed.map { TraceRenderer.probeText($0.0, $0.1) } ?? ""))
        case .json: try StandardStream.output.write(TraceRenderer.json(result, probe: probed) + "\n")
        case .dot: try StandardStream.output.write(TraceRenderer.dot(result))
        }
        if !result.ok || probed?.0.agrees == false { throw CLIFailure.findings }
    }

    /// The flow's words run to the end of the command line, so options written after it
    /// (`trace 10.0.0.1 dport 22 --json`) arrive among them: take them out (no `ip route
    /// get` word begins with `--`).
    mutating func takeTrailingOptions() throws {
        var words: [String] = []
        var i = 0
        func value(_ name: String) throws -> String {
            guard i + 1 < flow.count else { throw ValidationError("\(name) needs a value") }
            i += 1
            return flow[i]
        }
        while i < flow.count {
            let w = flow[i]
            switch w {
            case "--json": json = true
            case "--format":
                let v = try value(w)
                guard let f = TraceFormat(rawValue: v) else { throw ValidationError("--format \(v): use text, json or dot") }
                format = f
            case "--netns": netns = try value(w)
            case "--snapshot": source.file = try value(w)
            case "--batch": batch = try value(w)
            case "--only-netns": onlyNetns.append(try value(w))
            case "--probe": probe = true
            case "--timing": timing = true
            case "--help", "-h": throw CleanExit.helpRequest(Self.self)
            default:
                if w.hasPrefix("--") { throw ValidationError("unknown option \(w) after the flow") }
                words.append(w)
            }
            i += 1
        }
        flow = words
    }

    /// Sends the flow for real and compares what the captures saw with the trace.
    func runProbe(_ result: TraceResult, _ snap: Snapshot) throws -> (ProbeComparison, ProbeObservation) {
        guard let plan = result.probePlan(snapshot: snap) else {
            throw CLIFailure("--probe sends the flow from its namespace: a flow arriving with iif comes from outside the host; leave out iif (or --probe)")
        }
        do { try plan.check(against: snap) } catch { throw CLIFailure("--probe: \(error)") }
        let observations: [ProbeObservation]
        do { observations = try LiveProbe.run([plan]) } catch { throw CLIFailure("--probe: \(error)") }
        guard let o = observations.first else { throw CLIFailure("--probe: no observation came back") }
        return (ProbeComparison(trace: result, observation: o), o)
    }

    /// --netns, checked; else root, or the only namespace; nil when neither (batch lines
    /// then name theirs).
    func startNamespace(_ snap: Snapshot) throws -> String? {
        if let name = netns {
            guard let n = snap.namespace(name) else {
                throw CLIFailure("no namespace \"\(name)\" in the snapshot (it has: \(snap.namespaces.map(\.id).joined(separator: ", ")))")
            }
            return n.id
        }
        return snap.namespace("root")?.id ?? (snap.namespaces.count == 1 ? snap.namespaces[0].id : nil)
    }
}

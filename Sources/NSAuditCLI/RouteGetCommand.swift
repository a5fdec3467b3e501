import ArgumentParser
import FoundationEssentials
import Glibc
import NSAuditCore
import NSAuditLinux

struct RouteGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route-get",
        abstract: "Answer `ip route get` offline from a snapshot (or from a fresh one of the live host).",
        discussion: """
        Query arguments use the syntax of `ip route get`:
          [fibmatch] DST [from SRC] [iif DEV] [oif DEV] [mark N] [tos N] [uid N]
            [ipproto tcp|udp|icmp|ipv6-icmp] [sport N] [dport N] [vrf NAME]
            [connected] [notify]

        Without --json the answer is printed as `ip route get` prints it, byte for \
        byte (checked against the kernel: fixtures/routeget/text), errors as \
        `RTNETLINK answers: ...` on standard error. `fibmatch` prints the FIB entry \
        that matched, as `ip route show` lists it: its nexthops with their flags \
        (dead, linkdown, onlink), nhid, proto, scope, metric. One thing differs on \
        purpose: where the kernel picks one path of a multipath route (or of equal \
        default routes) by a hash no snapshot holds, nsaudit lists every candidate: \
        `nexthop-candidates [via A dev X weight 1] [via B dev Y weight 1]`.

        With --json, one object per query: query, error (errno name or null), type, \
        dev, gateway, table, prefsrc, rule, multipath (every path the kernel's hash \
        may choose), and for fibmatch queries "fibmatch" (the matched entry's text, \
        null if none).

        --batch FILE answers one query a line (`-` reads standard input). Exit status \
        (without --ip-compat): 0 when every query was answered; 1 when a query was \
        refused (the kernel would answer an error) or could not be read, in text and \
        with --json alike (the answer or the problem is still printed for each line); \
        2 when nsaudit could not run.

        --ip-compat answers exactly as `ip` would, for scripts that parse its \
        output: the words are read as `ip` reads them (abbreviations such as `f` for \
        from, `10.1` for 10.1.0.0) with `ip`'s own messages for bad ones; a \
        multipath answer prints the first possible path and a note on standard \
        error; a query without `uid` is asked as the calling user, as `ip` does. \
        Exit status 0; 2 for the kernel's errors (`RTNETLINK answers: Network is \
        unreachable`); 1 or 255 for `ip`'s argument errors. With --json it prints \
        `ip -j` JSON; with --batch every line is read and answered that way.

        As a drop-in for `ip` itself: run nsaudit through a symlink named `ip`, or \
        as `nsaudit ip ARGS`, and it takes ip's own command line, `ip [-4|-6] [-j] \
        [-o] [-n NETNS] [-force] [-batch FILE] route get ...` (also `ip r g ...`, \
        `ip ro get ...`), answering from the snapshot file in NSAUDIT_SNAPSHOT \
        (else a fresh snapshot of the live host), in the namespace given by -n or \
        NSAUDIT_NETNS. contrib/ip-route-get-dropin is a wrapper to put first in \
        PATH as `ip`: it sends `ip route get` to nsaudit and every other command to \
        the real ip, so that a test script (fib_tests.sh style) runs against a \
        snapshot:
          mkdir -p /tmp/dropin && cp contrib/ip-route-get-dropin /tmp/dropin/ip
          NSAUDIT_SNAPSHOT=ns.json PATH=/tmp/dropin:$PATH ./route-checks.sh

        Examples:
          nsaudit route-get --snapshot h.json --netns srv 192.0.2.10 from 10.9.0.4
          nsaudit route-get --snapshot h.json --netns srv fibmatch 198.51.100.7
          nsaudit route-get --snapshot h.json --netns srv --ip-compat 10.1 f 10.9.0.4
          nsaudit route-get --snapshot h.json --netns srv --json 10.9.0.4 iif eth1
          nsaudit route-get --snapshot h.json --netns srv --batch queries.txt --json
          NSAUDIT_SNAPSHOT=h.json nsaudit ip -n srv -j route get 10.9.0.4
        """
    )

    @OptionGroup var source: SnapshotSourceOptions

    @Option(help: ArgumentHelp("Namespace to query: a name or snapshot id (default: root, or the only namespace).", valueName: "NAME"))
    var netns: String?

    @Option(help: ArgumentHelp("Answer one query per line of FILE (`-`: standard input); empty lines and # comments are skipped. Answers come in input order; a big batch is answered on every core.", valueName: "FILE"))
    var batch: String?

    @Flag(help: "Print one JSON object per query (with --ip-compat: `ip -j` JSON).")
    var json = false

    @Flag(name: .customLong("ip-compat"), help: "Answer exactly as `ip route get` would: its argument syntax and messages, its exit status, the first path of a multipath answer (see below).")
    var ipCompat = false

    @Flag(help: ArgumentHelp("Print load, build and answer times on standard error.", visibility: .hidden))
    var timing = false

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The `ip route get` arguments.", valueName: "QUERY"))
    var query: [String] = []

    func validate() throws {
        // The query takes `ip route get` words as they come, so ask for help here.
        if let w = query.first, w == "--help" || w == "-h" || w == "help" { throw CleanExit.helpRequest(Self.self) }
        if batch == nil && query.isEmpty { throw ValidationError("give a query (e.g. `10.0.0.1 from 10.99.0.40`) or --batch FILE") }
        if batch != nil && !query.isEmpty { throw ValidationError("give either a query or --batch, not both") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let (snap, ns) = try source.loadNamespace(netns)
        if let a = snap.kernelFacts.assumption { note("\(source.file ?? "snapshot"): \(a.head) \(a.tail)") }
        let t1 = clock.now
        let buildCPU0 = Timing.threadCPUSeconds()
        let model = RoutingModel(ns)
        let t2 = clock.now
        let buildCPU = Timing.threadCPUSeconds() - buildCPU0
        if timing {
            note("snapshot load \(Timing.ms(t1 - t0)) ms; lookup structures built in \(Timing.ms(t2 - t1)) ms (on-CPU \((buildCPU * 1000).fixed(1)) ms; \(ns.routes.count) routes, \(ns.rules.count) rules)")
        }
        if let b = batch {
            let data = try CLIFailure.wrap { b == "-" ? try readStandardInput() : try readWholeFile(b) }
            let tb = clock.now
            let cpuB = Timing.threadCPUSeconds()
            let options = RouteGetBatch.Options(names: IPDropIn.loadNames(), ipCompat: ipCompat, uid: UInt32(getuid()))
            var writeError: Error?
            let counts = RouteGetBatch.run(model: model, input: data, json: json, options: options) { bytes, toStderr in
                guard writeError == nil else { return }
                do { try (toStderr ? StandardStream.error : .output).write(bytes) } catch { writeError = error }
            }
            if let writeError { throw CLIFailure("\(writeError)") }
            if timing {
                let d = clock.now - tb
                let cpu = Timing.threadCPUSeconds() - cpuB
                note("answered \(counts.answered) queries in \(Timing.ms(d)) ms (on-CPU \((cpu * 1000).fixed(1)) ms; \(Int(Double(counts.answered) / max(Timing.seconds(d), 1e-9))) queries/s, parsing and printing included; \(counts.kernelErrors) kernel errors, \(counts.badQueries) bad queries)")
            }
            // A refused or bad query makes the status 1, with --json as in text (each one is
            // still answered or described in the output).
            if counts.kernelErrors + counts.badQueries > 0 { throw CLIFailure.status(1) }
        } else if ipCompat {
            let ctx = IPRouteGetDropIn.Context(model: model, names: IPDropIn.loadNames(), uid: UInt32(getuid()), json: json)
            var writeError: Error?
            let outcome = IPRouteGetDropIn.routeGet(query, family: nil, ctx: ctx) { bytes, toStderr in
                guard writeError == nil else { return }
                do { try (toStderr ? StandardStream.error : .output).write(bytes) } catch { writeError = error }
            }
            if let writeError { throw CLIFailure("\(writeError)") }
            if outcome.status != 0 { throw CLIFailure.status(outcome.status) }
        } else {
            var out = OutputBuffer()
            let ok = try answer(line: query.joined(separator: " "), model: model, out: &out)
            try out.flush()
            if !ok { throw CLIFailure.status(ExitStatus.couldNotRun) }
        }
    }

    /// Answers one line; false when the query was bad or the kernel would return an error.
    func answer(line: String, model: RoutingModel, out: inout OutputBuffer) throws -> Bool {
        let names = IPDropIn.loadNames()
        let text: String, refused: Bool
        do {
            let r = try model.routeGet(line: line)
            if json {
                (text, refused) = (RouteGetFormat.json(r, model: model, names: names) + "\n", false)
            } else if RouteGetFormat.kernelError(r) != nil {
                (text, refused) = (RouteGetFormat.text(r, model: model, names: names) + "\n", true)
            } else {
                let answer = RouteGetFormat.text(r, model: model, names: names) + "\n"
                let q = try RouteQuery.parse(line)
                // `connected` without `from`: ip asks again and prints both answers
                (text, refused) = (q.connected && q.src == nil ? answer + answer : answer, false)
            }
        } catch {
            if json {
                try out.append(RouteGetFormat.problemJSON(query: line, problem: error.description) + "\n")
                return false
            }
            (text, refused) = ("nsaudit: route-get \(line): \(error.description)\n", true)
        }
        if refused && !json {
            try out.flush()
            try StandardStream.error.write(text)
        } else {
            try out.append(text)
        }
        return !refused
    }
}

/// Buffered standard output: answers are written in large chunks, every byte of them
/// (swift-system's writeAll: retried on EINTR; a failed write is an error, not a stop).
struct OutputBuffer {
    private var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(1 << 16) }
    mutating func append(_ s: String) throws {
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= 1 << 16 { try flush() }
    }
    mutating func flush() throws {
        guard !bytes.isEmpty else { return }
        try StandardStream.output.write(bytes)
        bytes.removeAll(keepingCapacity: true)
    }
}

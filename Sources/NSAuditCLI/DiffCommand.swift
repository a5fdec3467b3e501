import ArgumentParser
import FoundationEssentials
import NSAuditCore
import NSAuditLinux

struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What changed in behaviour between two snapshots or two reports, and why.",
        discussion: """
        OLD and NEW are two snapshots (`nsaudit snapshot -o FILE`) or two JSON reports \
        (`nsaudit report --format json -o FILE`); which one a file is, its `schema` member \
        says. Findings are matched by their id: `new` (only in NEW), `resolved` (only in \
        OLD), `changed` (in both, with another severity, source set, egress, gateway, \
        summary or fix; the fields are named).

        With two snapshots nsaudit also lists the configuration changes of every namespace \
        (links, addresses, rules, routes, nexthop objects, sysctls: added, removed, changed), \
        matching namespaces and devices by name, routes by the kernel's identity of a FIB \
        entry (table, destination, tos, metric; IPv6 also the source prefix), and shows \
        each finding change after the changes in its namespace that reach its address, \
        devices, gateway or tables (or, failing those, every change of its namespace). Only \
        namespaces with a change, and those linked to them by veth peers, are audited. A \
        snapshot against a report compares findings only (the snapshot audited in the \
        report's namespaces): configuration changes need two snapshots.

        Exit status: 0 no behavioural change at or above --fail-on (resolved findings, and \
        findings whose only change is their summary or proposed fix, never fail); 1 new \
        findings, or findings with another severity, source set, egress or gateway, at or \
        above --fail-on (default: info, so any); 2 bad input \
        (a file unreadable, not JSON, truncated, or neither a snapshot nor a report; the \
        message names the file).

        Examples:
          nsaudit diff yesterday.json today.json
          nsaudit diff --json before.json after.json -o diff.json
          nsaudit diff --fail-on warning last-report.json report.json
        """
    )

    @Argument(help: ArgumentHelp("The earlier snapshot or report.", valueName: "OLD"))
    var old: String

    @Argument(help: ArgumentHelp("The later snapshot or report.", valueName: "NEW"))
    var new: String

    @Flag(help: "Print JSON (schema/diff.schema.json) instead of text.")
    var json = false

    @Flag(name: .customLong("all"), help: "List every configuration change in the text (default: the first 8 per group).")
    var all = false

    @Option(name: .customLong("fail-on"), help: ArgumentHelp("Exit 1 when a new or changed finding has this severity or higher (never: exit 0 whatever changed).", valueName: "LEVEL"))
    var failOn: FailOn = FailOn(.info)

    @Flag(name: .customLong("no-remediation"), help: "Snapshots: do not propose and verify fixes (faster; `fix` then never differs).")
    var noRemediation = false

    @Flag(name: .customLong("any-ingress"), help: "Snapshots: audit requests arriving on every interface, as `report --any-ingress`.")
    var anyIngress = false

    @Option(name: .customLong("max-sources"), help: ArgumentHelp("List at most N blocks in sources_added and sources_removed (0: all).", valueName: "N"))
    var maxSources: Int = 1000

    @OptionGroup var output: OutputOptions

    @OptionGroup var verbosity: VerbosityOptions

    func validate() throws {
        if maxSources < 0 { throw ValidationError("--max-sources takes a count (0 for all), not \(maxSources)") }
    }

    func run() throws {
        let progress = verbosity.progress
        // NSAUDIT_TIMING=1: one line on standard error with the time of each phase (benchmarks).
        let timing = ProcessInfo.processInfo.environment["NSAUDIT_TIMING"].map { !$0.isEmpty && $0 != "0" } ?? false
        let clock = ContinuousClock()
        var marks: [(String, ContinuousClock.Instant, cpu: Double)] = [("start", clock.now, Timing.processCPUSeconds())]
        let destination = try output.open()
        progress("reading \(old) and \(new)")
        let (a, b) = try parallelRead(old, new)
        marks.append(("read", clock.now, Timing.processCPUSeconds()))
        progress("comparing")
        let d = Diff.compare(old: a, oldFile: old, new: b, newFile: new,
                             options: Diff.Options(remediate: !noRemediation, anyIngress: anyIngress,
                                                   maxSources: maxSources == 0 ? .max : maxSources)) { phase in
            marks.append((phase, clock.now, Timing.processCPUSeconds()))
            progress("\(phase) compared")
        }
        let text = json ? DiffRenderer.json(d) : DiffRenderer.text(d, limit: all ? .max : 8)
        try OutputOptions.write(destination, Array(text.utf8))
        marks.append(("output", clock.now, Timing.processCPUSeconds()))
        if timing {
            // Wall time of each phase, and (in brackets) the CPU time of every thread in it.
            func cpu(_ s: Double) -> String { (s * 1000).fixed(1) }
            let parts = (1..<marks.count).map {
                "\(marks[$0].0)=\(Timing.ms(marks[$0].1 - marks[$0 - 1].1))ms(cpu \(cpu(marks[$0].cpu - marks[$0 - 1].cpu))ms)"
            }
            note("timing \(parts.joined(separator: " ")) total=\(Timing.ms(marks[marks.count - 1].1 - marks[0].1))ms(cpu \(cpu(marks[marks.count - 1].cpu - marks[0].cpu))ms) changes=\(d.changes.count) findings=\(d.findings.count)")
        }
        if d.behaviouralSeverities.contains(where: { failOn.fails(on: $0) }) { throw CLIFailure.findings }
    }

    /// Both inputs, read and decoded side by side (a big snapshot takes a core).
    func parallelRead(_ x: String, _ y: String) throws -> (DiffInput, DiffInput) {
        let results = parallelMap(2) { i -> Result<DiffInput, CLIFailure> in
            let path = i == 0 ? x : y
            do {
                return .success(try DiffInput.read(try readWholeFile(path), name: path))
            } catch let e as DiffInputError {
                return .failure(CLIFailure("\(e)"))
            } catch {
                return .failure(CLIFailure("\(error)"))
            }
        }
        return (try results[0].get(), try results[1].get())
    }
}

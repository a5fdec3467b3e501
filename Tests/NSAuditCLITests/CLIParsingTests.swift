import ArgumentParser
import Foundation
@testable import NSAuditCLI
import NSAuditCore
import Testing

/// The command line parsed in-process (`NSAudit.parseAsRoot`), without starting the binary:
/// options and their defaults, the shared option groups, and the exit status and message
/// every kind of error ends with.
@Suite struct CLIParsingTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let broken = repo.appendingPathComponent("fixtures/snapshots/mgmt-broken.json").path
    static let fixed = repo.appendingPathComponent("fixtures/snapshots/mgmt-netns.json").path

    func parse<C: ParsableCommand>(_ args: [String], as _: C.Type) throws -> C {
        let command = try NSAudit.parseAsRoot(args)
        return try #require(command as? C, "\(args) parsed as \(type(of: command))")
    }

    /// How parsing `args` ends: the status and message the process would exit with; nil
    /// when it parses into one of nsaudit's commands. ArgumentParser's own commands (help)
    /// are run, as they only print.
    func termination(_ args: [String]) -> Termination? {
        do {
            var command = try NSAudit.parseAsRoot(args)
            let ours: [ParsableCommand.Type] = [NSAudit.self, SnapshotCommand.self, RouteGetCommand.self, ReportCommand.self, CaptureCommand.self, DiffCommand.self]
            if ours.contains(where: { $0 == type(of: command) }) { return nil }
            try command.run()
            return nil
        } catch {
            return Termination(for: error, columns: 80)
        }
    }

    // MARK: defaults and values

    @Test func reportDefaults() throws {
        let r = try parse(["report"], as: ReportCommand.self)
        #expect(r.source.file == nil && r.output.values.isEmpty && !r.verbosity.verbose)
        #expect(r.format == .json && r.failOn == FailOn(.warning) && r.maxSources == 1000)
        #expect(r.packets.confirm == nil && r.packets.pcapFile == nil && r.packets.pcapNetns == nil)
        // no --lock: live runs take /run/lock/nsaudit.lock, runs of --snapshot none
        #expect(r.lock == nil && ReportCommand.defaultLock == "/run/lock/nsaudit.lock")
        #expect(r.netns.isEmpty && !r.anyIngress && !r.noKernelCheck)
    }

    @Test func reportOptions() throws {
        let r = try parse(["report", "--snapshot", "h.json", "--netns", "a", "--netns", "b", "--format", "text",
                           "--fail-on", "error", "-o", "out.txt", "-v", "--max-sources", "0", "--any-ingress"], as: ReportCommand.self)
        #expect(r.source.file == "h.json" && r.netns == ["a", "b"] && r.format == .text)
        #expect(r.failOn.threshold == .error && r.output.values == ["out.txt"] && r.verbosity.verbose)
        #expect(r.maxSources == 0 && r.anyIngress)
        let long = try parse(["report", "--output", "o", "--verbose", "--fail-on", "never"], as: ReportCommand.self)
        #expect(long.output.values == ["o"] && long.verbosity.verbose && long.failOn == .never)
    }

    @Test func failOnThresholds() {
        #expect(FailOn.allValueStrings == ["error", "warning", "info", "never"])
        #expect(FailOn(argument: "bogus") == nil)
        let warning = FailOn(.warning)
        #expect(warning.fails(on: .error) && warning.fails(on: .warning) && !warning.fails(on: .info) && !warning.fails(on: nil))
        #expect(!FailOn.never.fails(on: .error))
        #expect(FailOn(.info).fails(on: .info))
    }

    @Test func durations() throws {
        #expect(CaptureDuration(argument: "1m30s")?.seconds == 90)
        #expect(CaptureDuration(argument: "500ms")?.seconds == 0.5)
        #expect(CaptureDuration(argument: "0s") == nil && CaptureDuration(argument: "5x") == nil)
        let r = try parse(["report", "--confirm", "6s"], as: ReportCommand.self)
        #expect(r.packets.confirm?.seconds == 6 && r.packets.confirm?.description == "6s")
    }

    @Test func snapshotOptions() throws {
        let s = try parse(["snapshot", "--netns", "blue", "--no-root", "--no-sockets", "-o", "h.json"], as: SnapshotCommand.self)
        #expect(s.netns == ["blue"] && s.root == false && s.noSockets && s.output.file == "h.json" && !s.verbosity.verbose)
        let d = try parse(["snapshot"], as: SnapshotCommand.self)
        #expect(d.root == nil && !d.noSockets && d.output.file == nil)
    }

    @Test func routeGetTakesIPWordsAsTheyCome() throws {
        let r = try parse(["route-get", "--snapshot", "h.json", "--netns", "srv", "10.0.0.1", "from", "10.9.0.4", "iif", "eth1"], as: RouteGetCommand.self)
        #expect(r.source.file == "h.json" && r.netns == "srv" && r.query == ["10.0.0.1", "from", "10.9.0.4", "iif", "eth1"])
        let b = try parse(["route-get", "--batch", "-", "--json", "--ip-compat"], as: RouteGetCommand.self)
        #expect(b.batch == "-" && b.json && b.ipCompat && b.query.isEmpty)
    }

    // MARK: --confirm / --pcap named alike in report and capture

    @Test func diffDefaultsAndOptions() throws {
        let d = try parse(["diff", "a.json", "b.json"], as: DiffCommand.self)
        #expect(d.old == "a.json" && d.new == "b.json" && !d.json && !d.all && d.failOn == FailOn(.info))
        #expect(d.maxSources == 1000 && !d.noRemediation && !d.anyIngress && d.output.file == nil)
        let o = try parse(["diff", "--json", "--all", "--fail-on", "warning", "-o", "d.json", "--no-remediation", "a", "b"], as: DiffCommand.self)
        #expect(o.json && o.all && o.failOn == FailOn(.warning) && o.output.file == "d.json" && o.noRemediation)
    }

    @Test func captureDurationOrConfirm() throws {
        let plain = try parse(["capture", "10s", "--netns", "server"], as: CaptureCommand.self)
        #expect(plain.liveDuration?.seconds == 10 && plain.packets.confirm == nil && plain.netns == ["server"])
        let confirm = try parse(["capture", "--confirm", "30s", "--netns", "server"], as: CaptureCommand.self)
        #expect(confirm.liveDuration?.seconds == 30 && confirm.packets.confirm != nil && confirm.duration == nil)
        let saved = try parse(["capture", "--pcap", "s.pcap", "--pcap-netns", "server", "--snapshot", "h.json", "--json"], as: CaptureCommand.self)
        #expect(saved.packets.pcapFile == "s.pcap" && saved.packets.pcapNetns == "server" && saved.source.file == "h.json" && saved.json)
        // the old name of --pcap still works
        let old = try parse(["capture", "--read", "s.pcap"], as: CaptureCommand.self)
        #expect(old.packets.pcapFile == "s.pcap")
        let report = try parse(["report", "--snapshot", "h.json", "--pcap", "s.pcap", "--pcap-netns", "server"], as: ReportCommand.self)
        #expect(report.packets.pcapFile == "s.pcap" && report.packets.pcapNetns == "server")
    }

    @Test(arguments: [
        (["capture"], "missing DURATION"),
        (["capture", "5x"], "5x"),
        (["capture", "10s", "--confirm", "5s"], "give the duration once"),
        (["capture", "10s", "--confirm"], "--confirm"),
        (["capture", "--pcap", "s.pcap", "10s"], "--pcap reads a saved capture"),
        (["capture", "--pcap", "s.pcap", "-w", "x.pcapng"], "--pcap reads a saved capture"),
        (["capture", "--snapshot", "h.json", "10s"], "--snapshot goes with --pcap"),
        (["capture", "--read", "a", "--pcap", "b"], "old name of --pcap"),
        (["capture", "10s", "--pcap-netns", "server"], "--pcap-netns goes with --pcap"),
        (["capture", "10s", "--snaplen", "10"], "--snaplen"),
        (["report", "--confirm", "6s", "--snapshot", "h.json"], "cannot be combined with --snapshot"),
        (["report", "--confirm", "6s", "--pcap", "s.pcap", "--pcap-netns", "x"], "not both"),
        (["report", "--pcap", "s.pcap"], "--pcap needs --pcap-netns"),
        (["report", "--confirm", "soon"], "soon"),
        (["report", "--max-sources", "-1"], "--max-sources"),
        (["report", "--format", "yaml"], "yaml"),
        (["report", "--fail-on", "critical"], "critical"),
        (["report", "--bogus"], "Unknown option '--bogus'"),
        (["bogus"], "bogus"),
        (["route-get", "--snapshot", "h.json"], "give a query"),
        (["route-get", "--batch", "q.txt", "10.0.0.1"], "either a query or --batch"),
        (["diff", "old.json"], "Missing expected argument '<NEW>'"),
        (["diff", "a", "b", "--fail-on", "sometimes"], "sometimes"),
        (["diff", "a", "b", "--max-sources", "-2"], "--max-sources"),
    ])
    func usageErrorsExitTwo(_ args: [String], _ expected: String) throws {
        let end = try #require(termination(args), "\(args) parsed")
        #expect(end.status == ExitStatus.couldNotRun, "\(args)")
        #expect(!end.toStandardOutput)
        #expect(end.message.contains(expected), "\(args): \(end.message)")
        #expect(end.message.contains("Usage:") || end.message.contains("USAGE:") || end.message.contains("Help:"), "\(args): \(end.message)")
    }

    @Test(arguments: [["--help"], ["-h"], ["snapshot", "--help"], ["route-get", "--help"], ["route-get", "-h"],
                      ["route-get", "--snapshot", "h.json", "help"], ["report", "--help"], ["capture", "--help"], ["help", "report"],
                      ["diff", "--help"]])
    func helpExitsZeroOnStandardOutput(_ args: [String]) throws {
        let end = try #require(termination(args), "\(args) parsed")
        #expect(end.status == ExitStatus.clean && end.toStandardOutput, "\(args)")
        #expect(end.message.contains("OVERVIEW:") && end.message.contains("USAGE:"), "\(args)")
    }

    @Test func versionExitsZero() throws {
        let end = try #require(termination(["--version"]))
        #expect(end.status == 0 && end.toStandardOutput && end.message == NSAuditInfo.versionLine)
    }

    @Test func captureHelpTeaches() throws {
        let help = CaptureCommand.helpMessage(columns: 100)
        for phrase in ["--confirm DURATION", "--pcap FILE", "--pcap-netns NAME", "confirmed", "model-mismatch", "no-reply", "nsaudit capture --confirm 30s"] {
            #expect(help.contains(phrase), "capture --help lacks \(phrase)")
        }
        #expect(!help.contains("--read"), "the old name stays hidden")
        // the same option names and help in both commands
        let report = ReportCommand.helpMessage(columns: 100)
        for line in help.split(separator: "\n") where line.contains("--confirm <DURATION>") || line.contains("--pcap <FILE>") || line.contains("--pcap-netns <NAME>") {
            #expect(report.contains(line), "report --help lacks \(line)")
        }
    }

    // MARK: statuses of failures while running

    @Test func failuresMapToStatuses() {
        let couldNot = Termination(for: CLIFailure("open x: No such file or directory (ENOENT)"))
        #expect(couldNot == Termination(status: 2, message: "nsaudit: open x: No such file or directory (ENOENT)", toStandardOutput: false))
        #expect(Termination(for: CLIFailure.findings) == Termination(status: 1, message: "", toStandardOutput: false))
        #expect(Termination(for: CLIFailure.status(255)).status == 255)
        struct Unexpected: Error {}
        #expect(Termination(for: Unexpected()).status == ExitStatus.couldNotRun)
        #expect(Termination(for: ValidationError("bad")).status == ExitStatus.couldNotRun)
    }

    @Test func reportRunsInProcessWithItsExitStatus() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-cli-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let lock = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-cli-\(UUID().uuidString).lock")
        defer { try? FileManager.default.removeItem(at: lock) }
        var findings = try NSAudit.parseAsRoot(["report", "--snapshot", Self.broken, "-o", out.path, "--lock", lock.path])
        #expect(throws: CLIFailure.findings) { try findings.run() }
        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: out))
        #expect(!report.findings.isEmpty && report.source == Self.broken)
        var clean = try NSAudit.parseAsRoot(["report", "--snapshot", Self.broken, "--fail-on", "never", "-o", out.path, "--lock", lock.path])
        try clean.run()
        var unknown = try NSAudit.parseAsRoot(["report", "--snapshot", Self.fixed, "--netns", "no-such-ns", "-o", out.path, "--lock", lock.path])
        #expect { try unknown.run() } throws: { error in
            let end = Termination(for: error)
            return end.status == 2 && end.message.contains("no-such-ns")
        }
        var missing = try NSAudit.parseAsRoot(["report", "--snapshot", "/nonexistent/snap.json"])
        #expect { try missing.run() } throws: { error in
            Termination(for: error).message == "nsaudit: open /nonexistent/snap.json: No such file or directory (ENOENT)"
        }
    }
}

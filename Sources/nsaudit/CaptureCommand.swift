import ArgumentParser
import Foundation
import NSAuditCore
import NSAuditLinux

struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "capture",
        abstract: "Capture packet headers in every namespace and pair requests with replies.",
        discussion: """
        Opens libpcap on the `any` device inside each namespace (LINUX_SLL2: interface and \
        direction per packet) with a kernel BPF filter and a small snap length (headers only, \
        never payloads), for DURATION or until SIGINT/SIGTERM. Pairs TCP SYN with SYN-ACK \
        (and established segments both ways), ICMP/ICMPv6 echo request with reply, UDP by \
        reversed 5-tuple, and prints for each flow the interface the request arrived on and \
        the interface the reply left through. Needs root.

        With --confirm, a snapshot is taken while the capture runs and every observed request         is compared with the model's prediction (confirmed / model-mismatch / no-reply).         With --read FILE, flows come from a saved capture instead (pcap or pcapng, e.g.         `tcpdump -i any -y LINUX_SLL2 -w FILE` run inside the namespace named by         --pcap-netns); --snapshot maps interface indexes to names and confirms.

        Examples:
          nsaudit capture 10s --netns server
          nsaudit capture 30s --netns server --confirm
          nsaudit capture 2m -w flows.pcapng --json > flows.json
          nsaudit capture --read server.pcap --pcap-netns server --snapshot host.json
          tshark -r flows.pcapng -T fields -e frame.interface_name -e ip.src -e ip.dst
        """
    )

    @Argument(help: ArgumentHelp("How long to capture: 5s, 2m, 500ms, 1h, or seconds.", valueName: "DURATION"))
    var duration: String?

    @Flag(help: "Take a snapshot while capturing and compare every observed request with the model.")
    var confirm = false

    @Option(name: .customLong("read"), help: ArgumentHelp("Read a saved capture (pcap/pcapng) instead of capturing.", valueName: "FILE"))
    var readFile: String?

    @Option(help: ArgumentHelp("With --read: the snapshot for interface names and confirmation.", valueName: "SNAP"))
    var snapshot: String?

    @Option(name: .customLong("pcap-netns"), help: ArgumentHelp("With --read: the namespace the capture was taken in.", valueName: "NAME"))
    var pcapNetns: String?

    @Option(name: .customLong("netns"), help: ArgumentHelp("Only this namespace (repeatable).", valueName: "NAME"))
    var netns: [String] = []

    @Flag(inversion: .prefixedNo, help: "Include the root namespace (default: yes, unless --netns is given).")
    var root: Bool?

    @Option(name: .shortAndLong, help: ArgumentHelp("Also write the captured headers as pcapng to FILE.", valueName: "FILE"))
    var write: String?

    @Flag(help: "Print JSON instead of text.")
    var json = false

    @Option(help: ArgumentHelp("Stop each namespace's capture after N packets.", valueName: "N"))
    var maxPackets: Int = 5_000_000

    @Option(help: ArgumentHelp("Bytes kept per packet (headers only; 64-256).", valueName: "BYTES"))
    var snaplen: Int32 = 128

    @Option(help: ArgumentHelp("Kernel BPF filter (default: TCP SYN/FIN/RST/PSH, ICMP/ICMPv6 echo, UDP).", valueName: "EXPR"))
    var filter: String?

    @Option(help: ArgumentHelp("Kernel capture buffer per namespace, MiB.", valueName: "MIB"))
    var bufferMiB: Int32 = 32

    @Flag(help: "libpcap immediate mode: every packet delivered at once (more CPU; default: kernel blocks, retired within 100 ms).")
    var immediate = false

    func validate() throws {
        if readFile != nil {
            guard duration == nil, write == nil, !confirm else {
                throw ValidationError("--read takes no DURATION, -w or --confirm (use --snapshot to confirm)")
            }
            return
        }
        guard snapshot == nil, pcapNetns == nil else { throw ValidationError("--snapshot and --pcap-netns go with --read") }
        guard let duration else { throw ValidationError("missing DURATION (or --read FILE)") }
        guard CaptureDuration.parse(duration) != nil else {
            throw ValidationError("DURATION must look like 5s, 2m, 500ms or 1h (got \"\(duration)\")")
        }
        guard (64...65535).contains(snaplen) else { throw ValidationError("--snaplen must be 64...65535") }
        guard maxPackets > 0 else { throw ValidationError("--max-packets must be positive") }
    }

    func run() throws {
        if let readFile { return try runOffline(readFile) }
        let duration = self.duration!
        let seconds = CaptureDuration.parse(duration)!
        var opts = LiveCaptureOptions(netns: netns, includeRoot: root, duration: seconds, maxPackets: maxPackets,
                                      snaplen: snaplen, bufferSize: bufferMiB << 20, immediate: immediate,
                                      keepPackets: write != nil)
        if let filter { opts.filter = filter }
        // Open the output first: a bad path fails before the capture, not after it.
        let out = try write.map { path in try CLIFailure.wrap { try OutputFile(path: path) } }
        LiveCapture.installSignalHandlers()
        defer { LiveCapture.removeSignalHandlers() }
        let result: LiveCaptureResult
        var snap: Snapshot?
        let ready = "nsaudit: capturing for \(duration) (Ctrl-C stops early)\n"
        do {
            if confirm {
                let both = try LiveCapture.captureWithSnapshot(CollectOptions(netns: netns, includeRoot: root, sockets: false),
                                                               capture: opts, onReady: {
                    FileHandle.standardError.write(Data(ready.utf8))
                })
                (snap, result) = (both.snapshot, both.capture)
            } else {
                result = try LiveCapture.run(opts) { FileHandle.standardError.write(Data(ready.utf8)) }
            }
        } catch let e as LiveCaptureError {
            throw CLIFailure(message: e.description, code: 2)
        } catch let e as CollectError {
            throw CLIFailure(message: e.description, code: 2)
        }
        let confirmations = snap.map { CaptureConfirmation.confirm(result.flows, snapshot: $0) }
        for w in result.warnings { FileHandle.standardError.write(Data("nsaudit: warning: \(w)\n".utf8)) }
        if let out, let bytes = result.pcapng {
            try CLIFailure.wrap {
                try out.write(bytes)
                try out.commit()
            }
        }
        if json {
            let doc = CaptureDocument(durationSeconds: seconds, wallSeconds: result.wallSeconds,
                                      processCPUSeconds: result.processCPUSeconds, observedFlows: result.flows,
                                      stats: result.stats, warnings: result.warnings, pcapng: write,
                                      confirmations: confirmations)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var data = try enc.encode(doc)
            data.append(0x0a)
            FileHandle.standardOutput.write(data)
        } else {
            print(CaptureText.render(flows: result.flows, stats: result.stats, wall: result.wallSeconds,
                                     cpu: result.processCPUSeconds), terminator: "")
            if let confirmations { print(CaptureText.render(confirmations), terminator: "") }
        }
    }

    func runOffline(_ path: String) throws {
        let bytes = try CLIFailure.wrap { try readWholeFile(path) }
        var snap: Snapshot?
        if let snapshot {
            let data = try CLIFailure.wrap { Data(try readWholeFile(snapshot)) }
            snap = try CLIFailure.wrap { try SnapshotReader.decode(data, name: snapshot) }
        }
        let obs: CaptureObservation
        do {
            obs = try CaptureAnalysis.observe(bytes: bytes, netns: pcapNetns ?? "capture", snapshot: snap)
        } catch let e as PcapError {
            throw CLIFailure(message: "\(path): \(e)", code: 2)
        }
        for w in obs.warnings { FileHandle.standardError.write(Data("nsaudit: warning: \(path): \(w)\n".utf8)) }
        let confirmations = snap.map { CaptureConfirmation.confirm(obs.flows, snapshot: $0) }
        if json {
            let doc = CaptureDocument(durationSeconds: nil, wallSeconds: nil, processCPUSeconds: nil,
                                      observedFlows: obs.flows, stats: obs.stats, warnings: obs.warnings, pcapng: nil,
                                      confirmations: confirmations, source: path)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var data = try enc.encode(doc)
            data.append(0x0a)
            FileHandle.standardOutput.write(data)
        } else {
            print(CaptureText.render(flows: obs.flows, stats: obs.stats, wall: nil, cpu: nil), terminator: "")
            if let confirmations { print(CaptureText.render(confirmations), terminator: "") }
        }
    }
}

/// `nsaudit capture --json` output.
struct CaptureDocument: Encodable {
    var schema = "nsaudit.capture/v1"
    var durationSeconds: Double?
    var wallSeconds: Double?
    var processCPUSeconds: Double?
    var observedFlows: [ObservedFlow]
    var stats: [CaptureStats]
    var warnings: [String]
    var pcapng: String?
    var confirmations: [FlowConfirmation]?
    var source: String?

    enum CodingKeys: String, CodingKey {
        case schema, durationSeconds = "duration_seconds", wallSeconds = "wall_seconds"
        case processCPUSeconds = "process_cpu_seconds", observedFlows = "observed_flows", stats, warnings, pcapng
        case confirmations, source
    }
}

enum CaptureText {
    static func render(_ verdicts: [FlowConfirmation]) -> String {
        guard !verdicts.isEmpty else { return "no observed request to confirm\n" }
        var s = "confirmation against the model:\n"
        for v in verdicts {
            let tag = v.verdict == .modelMismatch ? "MODEL-MISMATCH" : v.verdict.rawValue.uppercased()
            s += "  \(tag)  \(v.netns): \(v.detail)\n"
        }
        return s
    }

    static func render(flows: [ObservedFlow], stats: [CaptureStats], wall: Double?, cpu: Double?) -> String {
        var s = ""
        let byNS = Dictionary(grouping: flows, by: \.netns)
        for st in stats {
            let fl = byNS[st.netns] ?? []
            var line = "\(st.netns): \(st.packets) packet(s), \(fl.count) flow(s)"
            if let r = st.kernelReceived, let d = st.kernelDropped {
                line += ", kernel received \(r) dropped \(d)"
            }
            if let e = st.error { line += ", error: \(e)" }
            s += line + "\n"
            for f in fl {
                var l = "  \(f.example)  \(f.role.rawValue)"
                if !f.requestIngress.isEmpty { l += "  request in \(f.requestIngress.joined(separator: ","))" }
                if !f.requestEgress.isEmpty && f.role != .responder { l += "  request out \(f.requestEgress.joined(separator: ","))" }
                if !f.replyIngress.isEmpty && f.role != .responder { l += "  reply in \(f.replyIngress.joined(separator: ","))" }
                if !f.replyEgress.isEmpty { l += "  reply out \(f.replyEgress.joined(separator: ","))" }
                l += "  [\(f.requestPackets)/\(f.replyPackets) pkts]"
                if !f.answered { l += "  NO REPLY" }
                if f.isAsymmetric { l += "  ASYMMETRIC" }
                s += l + "\n"
            }
        }
        if let wall, let cpu {
            s += String(format: "captured for %.2f s, process CPU %.2f s (%.1f%% of one core)\n", wall, cpu, wall > 0 ? cpu * 100 / wall : 0)
        }
        return s
    }
}

import ArgumentParser
import FoundationEssentials
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

        With --confirm DURATION (as in `nsaudit report`), a snapshot is taken while the \
        capture runs, and every observed request is checked against the model's prediction \
        for it: confirmed (the reply left where the model says), model-mismatch (it left \
        through another interface) or no-reply.

        With --pcap FILE, the flows come from a saved capture instead of the live host \
        (pcap or pcapng: -w of an earlier run, or `tcpdump -i any -y LINUX_SLL2 -w FILE` run \
        inside one namespace). --pcap-netns NAME says which namespace it was taken in; \
        --snapshot FILE names the interfaces by that snapshot and confirms the flows against \
        it.

        Examples:
          nsaudit capture 10s --netns server
          nsaudit capture --confirm 30s --netns server
          nsaudit capture 2m -w flows.pcapng --json > flows.json
          nsaudit capture --pcap server.pcap --pcap-netns server --snapshot host.json
          tshark -r flows.pcapng -T fields -e frame.interface_name -e ip.src -e ip.dst
        """
    )

    @Argument(help: ArgumentHelp("How long to capture: 5s, 2m, 500ms, 1h, or seconds (or give --confirm DURATION).", valueName: "DURATION"))
    var duration: CaptureDuration?

    @OptionGroup(title: "Packet evidence")
    var packets: PacketSourceOptions

    @OptionGroup var source: SnapshotSourceOptions

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

    /// How long to capture live: DURATION or --confirm DURATION.
    var liveDuration: CaptureDuration? { packets.confirm ?? duration }

    func validate() throws {
        if packets.pcapFile != nil {
            guard duration == nil, write == nil else {
                throw ValidationError("--pcap reads a saved capture: it takes no DURATION or -w (add --snapshot FILE to confirm)")
            }
            return
        }
        guard source.file == nil else { throw ValidationError("--snapshot goes with --pcap FILE (a live capture takes its own snapshot with --confirm)") }
        if duration != nil && packets.confirm != nil {
            throw ValidationError("give the duration once: DURATION to capture, or --confirm DURATION to capture and compare with the model")
        }
        guard liveDuration != nil else { throw ValidationError("missing DURATION (e.g. `nsaudit capture 10s`), --confirm DURATION or --pcap FILE") }
        guard (64...65535).contains(snaplen) else { throw ValidationError("--snaplen must be 64...65535") }
        guard maxPackets > 0 else { throw ValidationError("--max-packets must be positive") }
    }

    func run() throws {
        if let path = packets.pcapFile { return try runOffline(path) }
        let duration = liveDuration!
        let seconds = duration.seconds
        let confirm = packets.confirm != nil
        var opts = LiveCaptureOptions(netns: netns, includeRoot: root, duration: seconds, maxPackets: maxPackets,
                                      snaplen: snaplen, bufferSize: bufferMiB << 20, immediate: immediate,
                                      keepPackets: write != nil)
        if let filter { opts.filter = filter }
        try LiveAccess.check()
        // Open the output first: a bad path fails before the capture, not after it.
        let out = try write.map { path in try CLIFailure.wrap { try OutputFile(path: path) } }
        LiveCapture.installSignalHandlers()
        defer { LiveCapture.removeSignalHandlers() }
        let result: LiveCaptureResult
        var snap: Snapshot?
        let ready = "capturing for \(duration) (Ctrl-C stops early)"
        do {
            if confirm {
                let both = try LiveCapture.captureWithSnapshot(CollectOptions(netns: netns, includeRoot: root, sockets: false),
                                                               capture: opts, onReady: {
                    note(ready)
                })
                (snap, result) = (both.snapshot, both.capture)
            } else {
                result = try LiveCapture.run(opts) { note(ready) }
            }
        } catch let e as LiveCaptureError {
            throw CLIFailure(e.description)
        } catch let e as CollectError {
            throw CLIFailure(e.description)
        }
        let confirmations = snap.map { CaptureConfirmation.confirm(result.flows, snapshot: $0) }
        for w in result.warnings { note("warning: \(w)") }
        if let out, let bytes = result.pcapng { try OutputOptions.write(out, bytes) }
        if json {
            let doc = CaptureDocument(durationSeconds: seconds, wallSeconds: result.wallSeconds,
                                      processCPUSeconds: result.processCPUSeconds, observedFlows: result.flows,
                                      stats: result.stats, warnings: result.warnings, pcapng: write,
                                      confirmations: confirmations)
            try printJSON(doc)
        } else {
            try CLIFailure.wrap {
                try StandardStream.output.write(CaptureText.render(flows: result.flows, stats: result.stats, wall: result.wallSeconds,
                                                                   cpu: result.processCPUSeconds))
                if let confirmations { try StandardStream.output.write(CaptureText.render(confirmations)) }
            }
        }
    }

    func runOffline(_ path: String) throws {
        let snap = try source.load()
        let obs = try packets.observeFile(namespace: packets.pcapNetns ?? "capture", snapshot: snap, warningPrefix: "warning: ")!
        let confirmations = snap.map { CaptureConfirmation.confirm(obs.flows, snapshot: $0) }
        if json {
            let doc = CaptureDocument(durationSeconds: nil, wallSeconds: nil, processCPUSeconds: nil,
                                      observedFlows: obs.flows, stats: obs.stats, warnings: obs.warnings, pcapng: nil,
                                      confirmations: confirmations, source: path)
            try printJSON(doc)
        } else {
            try CLIFailure.wrap {
                try StandardStream.output.write(CaptureText.render(flows: obs.flows, stats: obs.stats, wall: nil, cpu: nil))
                if let confirmations { try StandardStream.output.write(CaptureText.render(confirmations)) }
            }
        }
    }

    func printJSON(_ doc: CaptureDocument) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try CLIFailure.wrap {
            var data = try enc.encode(doc)
            data.append(0x0a)
            try StandardStream.output.write(data)
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
            s += "  \(tag)  \(v.netns.terminalEscaped): \(v.detail.terminalEscaped)\n"
        }
        return s
    }

    static func render(flows: [ObservedFlow], stats: [CaptureStats], wall: Double?, cpu: Double?) -> String {
        var s = ""
        let byNS = Dictionary(grouping: flows, by: \.netns)
        for st in stats {
            let fl = byNS[st.netns] ?? []
            var line = "\(st.netns.terminalEscaped): \(st.packets) packet(s), \(fl.count) flow(s)"
            if let r = st.kernelReceived, let d = st.kernelDropped {
                line += ", kernel received \(r) dropped \(d)"
            }
            if let e = st.error { line += ", error: \(e.terminalEscaped)" }
            s += line + "\n"
            for f in fl {
                var l = "  \(f.example)  \(f.role.rawValue)"
                func names(_ n: [String]) -> String { n.joined(separator: ",").terminalEscaped }
                if !f.requestIngress.isEmpty { l += "  request in \(names(f.requestIngress))" }
                if !f.requestEgress.isEmpty && f.role != .responder { l += "  request out \(names(f.requestEgress))" }
                if !f.replyIngress.isEmpty && f.role != .responder { l += "  reply in \(names(f.replyIngress))" }
                if !f.replyEgress.isEmpty { l += "  reply out \(names(f.replyEgress))" }
                l += "  [\(f.requestPackets)/\(f.replyPackets) pkts]"
                if !f.answered { l += "  NO REPLY" }
                if f.isAsymmetric { l += "  ASYMMETRIC" }
                s += l + "\n"
            }
        }
        if let wall, let cpu {
            s += "captured for \(wall.fixed(2)) s, process CPU \(cpu.fixed(2)) s (\((wall > 0 ? cpu * 100 / wall : 0).fixed(1))% of one core)\n"
        }
        return s
    }
}

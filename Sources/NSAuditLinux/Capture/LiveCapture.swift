import CPcap
import Glibc
import NSAuditCore
import Synchronization
import SystemPackage

/// What to capture and for how long.
public struct LiveCaptureOptions: Sendable {
    /// Namespaces (names from `ip netns list`, Docker names or snapshot ids). Empty: every
    /// namespace of the host.
    public var netns: [String]
    /// Include the root namespace. nil: yes when `netns` is empty, no otherwise.
    public var includeRoot: Bool?
    /// Capture time, seconds.
    public var duration: Double
    /// Stop a namespace's capture after this many packets.
    public var maxPackets: Int
    /// Bytes kept per packet: headers only (SLL2 20 + IPv6 40 + extension headers + TCP 60).
    public var snaplen: Int32
    /// Kernel ring buffer per namespace, bytes.
    public var bufferSize: Int32
    /// Kernel BPF filter (compiled for LINUX_SLL2).
    public var filter: String
    /// libpcap immediate mode (deliver every packet as it arrives). Off by default: the
    /// kernel then hands packets over in blocks (TPACKET_V3, retired at the latest after the
    /// 100 ms timeout), which costs a fraction of the CPU at high rates (bench/capture-bench.sh:
    /// 200,000 pps took ~3% of a core in blocks, ~14-20% immediate) and latency does not
    /// matter here. The last block is drained when the capture stops.
    public var immediate: Bool
    /// Keep the captured headers to write them as pcapng (`capture -w`).
    public var keepPackets: Bool
    /// Flows tracked per namespace before new ones are only counted.
    public var maxFlows: Int
    /// Packets kept per namespace for the pcapng (memory bound: ~150 bytes each).
    public var maxKeptPackets: Int = 1_000_000

    public init(netns: [String] = [], includeRoot: Bool? = nil, duration: Double, maxPackets: Int = 5_000_000,
                snaplen: Int32 = 128, bufferSize: Int32 = 32 << 20, filter: String = LiveCapture.defaultFilter,
                immediate: Bool = false, keepPackets: Bool = false, maxFlows: Int = 200_000) {
        self.netns = netns; self.includeRoot = includeRoot; self.duration = duration; self.maxPackets = maxPackets
        self.snaplen = snaplen; self.bufferSize = bufferSize; self.filter = filter; self.immediate = immediate
        self.keepPackets = keepPackets; self.maxFlows = maxFlows
    }
}

public struct LiveCaptureResult: Sendable {
    public var flows: [ObservedFlow]
    public var stats: [CaptureStats]
    public var warnings: [String]
    /// The captured headers as pcapng (when `keepPackets`): one interface block per
    /// (namespace, interface), if_name the interface name, if_description "netns=NS ifindex=N".
    public var pcapng: [UInt8]?
    /// The captured headers themselves (when `keepPackets`), in capture order per namespace.
    public var packets: [CapturedPacket]?
    /// Wall time and process CPU time (user + system) over the capture.
    public var wallSeconds: Double
    public var processCPUSeconds: Double
}

/// One captured packet's headers (LINUX_SLL2), with the namespace and interface it was seen on.
public struct CapturedPacket: Sendable {
    public var netns: String
    public var ifindex: Int32
    public var interface: String
    public var timestampNs: UInt64
    public var bytes: [UInt8]
}

public enum LiveCaptureError: Error, CustomStringConvertible {
    case unknownNamespace(String, known: [String])
    case noNamespaces
    case allFailed([String])
    public var description: String {
        switch self {
        case .unknownNamespace(let n, let known):
            "no network namespace named \"\(n)\" (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
        case .noNamespaces: "no namespace to capture in"
        case .allFailed(let errs):
            "capture failed in every namespace: " + errs.prefix(3).joined(separator: "; ")
                + (errs.count > 3 ? "; and \(errs.count - 3) more" : "")
                + (errs.contains { $0.contains("EPERM") || $0.contains("ermission") } ? " (capturing needs root: CAP_SYS_ADMIN to enter namespaces, CAP_NET_RAW to capture)" : "")
        }
    }
}

/// libpcap capture on the `any` device of each chosen namespace, LINUX_SLL2 link type (so
/// every packet carries its interface index and direction), a kernel BPF filter for the
/// packets request/reply pairing needs, and a small snap length (headers only). One
/// dedicated pthread per namespace enters it with setns, activates the handle there and
/// pairs packets as they arrive. Bounded by time and packet count; `requestStop()` (signal
/// safe) ends every capture early with what it has.
public enum LiveCapture {
    /// Connection set-up and tear-down plus PSH segments (interactive traffic) for TCP, ICMP
    /// and ICMPv6 echo, and UDP. IPv6 TCP/ICMPv6 are matched without extension headers.
    public static let defaultFilter =
        "(tcp and tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst|tcp-push) != 0)"
        + " or (icmp and (icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply))"
        + " or (ip6 and ip6[6] == 6 and ip6[53] & 0x0f != 0)"
        + " or (ip6 and ip6[6] == 58 and (ip6[40] == 128 or ip6[40] == 129))"
        + " or udp"

    static let stopFlag = Atomic<Bool>(false)
    static let signalled = Atomic<Int32>(0)

    /// Asks every running capture to stop (async-signal-safe).
    public static func requestStop() { stopFlag.store(true, ordering: .relaxed) }

    /// Installs SIGINT/SIGTERM handlers that stop the capture (the second signal kills the
    /// process the default way).
    public static func installSignalHandlers() {
        signalled.store(0, ordering: .relaxed)
        stopFlag.store(false, ordering: .relaxed)
        for sig in [SIGINT, SIGTERM] {
            var sa = sigaction()
            sa.__sigaction_handler.sa_handler = { s in
                LiveCapture.signalled.store(s, ordering: .relaxed)
                LiveCapture.stopFlag.store(true, ordering: .relaxed)
                signal(s, SIG_DFL)
            }
            sigemptyset(&sa.sa_mask)
            sa.sa_flags = 0
            sigaction(sig, &sa, nil)
        }
    }

    /// Restores the default SIGINT/SIGTERM behaviour and forgets a received signal.
    public static func removeSignalHandlers() {
        signal(SIGINT, SIG_DFL); signal(SIGTERM, SIG_DFL)
        signalled.store(0, ordering: .relaxed)
        stopFlag.store(false, ordering: .relaxed)
    }

    /// The signal that stopped the last capture (0: none).
    public static var receivedSignal: Int32 { signalled.load(ordering: .relaxed) }

    /// Captures in the chosen namespaces. `onReady` runs on the calling thread once every
    /// handle is active (or failed): traffic generated from there on is seen.
    public static func run(_ options: LiveCaptureOptions, onReady: (() -> Void)? = nil) throws -> LiveCaptureResult {
        let all = NamespaceDiscovery.discover()
        var chosen: [NamespaceCandidate] = []
        if options.netns.isEmpty {
            chosen = all.filter { options.includeRoot != false || $0.id != "root" }
        } else {
            for want in options.netns {
                guard let c = all.first(where: { $0.id == want || $0.names.contains(want) }) else {
                    throw LiveCaptureError.unknownNamespace(want, known: all.flatMap { $0.names })
                }
                if !chosen.contains(where: { $0.inode == c.inode }) { chosen.append(c) }
            }
            if options.includeRoot == true, let root = all.first(where: { $0.id == "root" }),
               !chosen.contains(where: { $0.inode == root.inode }) {
                chosen.insert(root, at: 0)
            }
        }
        guard !chosen.isEmpty else { throw LiveCaptureError.noNamespaces }
        // A stop requested by an earlier run (not a signal) does not carry over.
        if signalled.load(ordering: .relaxed) == 0 { stopFlag.store(false, ordering: .relaxed) }

        var ru0 = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru0)
        let t0 = monotonicSeconds()
        var warnings: [String] = []
        var sessions: [CaptureSession] = []
        for c in chosen {
            let fd = c.open()
            let s = CaptureSession(netns: c.id, path: c.path, fd: fd, options: options)
            if fd < 0 { s.error = SystemCallError("open", subject: c.path).description }
            sessions.append(s)
        }
        defer { for s in sessions where s.fd >= 0 { close(s.fd) } }

        var threads: [pthread_t] = []
        for s in sessions where s.fd >= 0 {
            var t = pthread_t()
            let raw = Unmanaged.passRetained(s).toOpaque()
            let r = pthread_create(&t, nil, { raw in
                let s = Unmanaged<CaptureSession>.fromOpaque(raw!).takeRetainedValue()
                s.threadMain()
                return nil
            }, raw)
            if r == 0 { threads.append(t) } else {
                Unmanaged<CaptureSession>.fromOpaque(raw).release()
                s.error = SystemCallError("pthread_create", errno: Errno(rawValue: r)).description
                s.ready.store(true, ordering: .releasing)
            }
        }
        // Wait until every handle is active (or has failed); if none is, there is nothing
        // to be ready for (run throws below).
        while !sessions.allSatisfy({ $0.fd < 0 || $0.ready.load(ordering: .acquiring) }) {
            usleep(1000)
        }
        if sessions.contains(where: { $0.fd >= 0 && $0.error == nil }) { onReady?() }
        for t in threads { pthread_join(t, nil) }

        var ru1 = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru1)
        let wall = monotonicSeconds() - t0
        func cpu(_ r: rusage) -> Double {
            Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6 + Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6
        }

        var flows: [ObservedFlow] = []
        var stats: [CaptureStats] = []
        var errors: [String] = []
        for s in sessions {
            if let e = s.error {
                errors.append("\(s.netns): \(e)")
                warnings.append("capture in \(s.netns) failed: \(e)")
            }
            for w in s.warnings { warnings.append("\(s.netns): \(w)") }
            if options.keepPackets && s.kept.count >= options.maxKeptPackets {
                warnings.append("\(s.netns): only the first \(options.maxKeptPackets) packets are in the pcapng (of \(s.packets))")
            }
            let names = s.ifnames
            flows += s.table.flows(netns: s.netns) { names[$0] ?? "if\($0)" }
            var st = CaptureStats(netns: s.netns, packets: s.packets, undecoded: s.undecoded, flowsDropped: s.table.flowsDropped)
            st.kernelReceived = s.psRecv; st.kernelDropped = s.psDrop; st.interfaceDropped = s.psIfDrop
            st.durationSeconds = s.duration; st.cpuSeconds = s.cpuSeconds
            st.stoppedBy = s.stoppedBy; st.error = s.error
            stats.append(st)
        }
        if errors.count == sessions.count { throw LiveCaptureError.allFailed(errors) }

        var pcapng: [UInt8]? = nil
        var packets: [CapturedPacket]? = nil
        if options.keepPackets {
            pcapng = buildPcapng(sessions, snaplen: UInt32(options.snaplen))
            packets = sessions.flatMap { s in
                s.kept.map { k in
                    CapturedPacket(netns: s.netns, ifindex: k.ifindex, interface: s.ifnames[k.ifindex] ?? "if\(k.ifindex)",
                                   timestampNs: k.ts, bytes: Array(s.arena[k.offset..<(k.offset + k.length)]))
                }
            }
        }
        return LiveCaptureResult(flows: flows, stats: stats, warnings: warnings, pcapng: pcapng, packets: packets,
                                 wallSeconds: wall, processCPUSeconds: cpu(ru1) - cpu(ru0))
    }

    static func buildPcapng(_ sessions: [CaptureSession], snaplen: UInt32) -> [UInt8] {
        var w = PcapngWriter(application: NSAuditInfo.generator, os: "Linux")
        // (session, ifindex) → interface id
        var ids: [[Int32: Int]] = Array(repeating: [:], count: sessions.count)
        var order: [(ts: UInt64, s: Int, k: Int)] = []
        for (si, s) in sessions.enumerated() {
            for k in s.kept.indices {
                let idx = s.kept[k].ifindex
                if ids[si][idx] == nil {
                    ids[si][idx] = w.addInterface(linkType: PcapLinkType.linuxSLL2, snaplen: snaplen,
                                                  name: s.ifnames[idx] ?? "if\(idx)",
                                                  description: "netns=\(s.netns) ifindex=\(idx)")
                }
                order.append((s.kept[k].ts, si, k))
            }
        }
        order.sort { $0.ts < $1.ts }
        for o in order {
            let s = sessions[o.s]
            let rec = s.kept[o.k]
            s.arena.withUnsafeBytes { buf in
                let slice = UnsafeRawBufferPointer(rebasing: buf[rec.offset..<(rec.offset + rec.length)])
                w.addPacket(interface: ids[o.s][rec.ifindex]!, timestampNs: rec.ts, originalLength: rec.originalLength,
                            data: slice, direction: rec.direction)
            }
        }
        return w.bytes
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// One namespace's capture: state touched only by its own thread until it is joined.
final class CaptureSession: @unchecked Sendable {
    struct Kept { var offset: Int; var length: Int; var ts: UInt64; var originalLength: UInt32; var ifindex: Int32; var direction: PacketDirection }

    let netns: String
    let path: String
    let fd: Int32
    let options: LiveCaptureOptions
    let ready = Atomic<Bool>(false)

    var table: FlowTable
    var ifnames: [Int32: String] = [:]
    var packets = 0
    var undecoded = 0
    var kept: [Kept] = []
    var arena: [UInt8] = []
    var error: String?
    var warnings: [String] = []
    var psRecv: UInt64?
    var psDrop: UInt64?
    var psIfDrop: UInt64?
    var duration: Double?
    var cpuSeconds: Double?
    var stoppedBy: String?
    var limitHit = false
    var lastIfindex: Int32 = -1

    init(netns: String, path: String, fd: Int32, options: LiveCaptureOptions) {
        self.netns = netns; self.path = path; self.fd = fd; self.options = options
        table = FlowTable(maxFlows: options.maxFlows)
    }

    func threadMain() {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        var handle: OpaquePointer? = nil
        defer {
            if let handle { pcap_close(handle) }
            ready.store(true, ordering: .releasing)
        }
        // Let SIGINT/SIGTERM reach this thread even when the caller blocks them, so a
        // process-directed signal can always be handled.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT); sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        // The caller's own namespace needs no setns (and no CAP_SYS_ADMIN).
        var own = stat(), target = stat()
        let isOwn = stat("/proc/thread-self/ns/net", &own) == 0 && fstat(fd, &target) == 0 && own.st_ino == target.st_ino
        if !isOwn {
            do {
                try NamespaceThread.enter(fd: fd, path: path)
            } catch {
                self.error = "\(error)"
                return
            }
        }
        guard let p = pcap_create("any", &errbuf) else {
            self.error = "pcap_create(any): \(cString(errbuf))"
            return
        }
        handle = p
        pcap_set_snaplen(p, options.snaplen)
        pcap_set_promisc(p, 0)
        pcap_set_timeout(p, 100)
        pcap_set_immediate_mode(p, options.immediate ? 1 : 0)
        pcap_set_buffer_size(p, options.bufferSize)
        pcap_set_tstamp_precision(p, Int32(PCAP_TSTAMP_PRECISION_NANO))
        let rc = pcap_activate(p)
        if rc < 0 {
            let msg = String(cString: pcap_geterr(p))
            self.error = "pcap_activate: \(String(cString: pcap_statustostr(rc)))\(msg.isEmpty ? "" : ": \(msg)")"
                + (rc == PCAP_ERROR_PERM_DENIED ? "; capturing needs root (CAP_NET_RAW)" : "")
            return
        } else if rc > 0 {
            warnings.append("pcap_activate: \(String(cString: pcap_statustostr(rc)))")
        }
        guard pcap_set_datalink(p, Int32(DLT_LINUX_SLL2)) == 0 else {
            self.error = "pcap_set_datalink(LINUX_SLL2): \(String(cString: pcap_geterr(p)))"
            return
        }
        var prog = bpf_program()
        guard pcap_compile(p, &prog, options.filter, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            self.error = "BPF filter \"\(options.filter)\": \(String(cString: pcap_geterr(p)))"
            return
        }
        let setOK = pcap_setfilter(p, &prog)
        pcap_freecode(&prog)
        guard setOK == 0 else {
            self.error = "pcap_setfilter: \(String(cString: pcap_geterr(p)))"
            return
        }
        _ = pcap_setnonblock(p, 1, &errbuf)
        let sel = pcap_get_selectable_fd(p)

        var ru0 = rusage()
        getrusage(1 /* RUSAGE_THREAD */, &ru0)
        let start = monotonicSeconds()
        let deadline = start + options.duration
        ready.store(true, ordering: .releasing)

        let me = Unmanaged.passUnretained(self).toOpaque().assumingMemoryBound(to: UInt8.self)
        let callback: pcap_handler = { user, hdr, bytes in
            let s = Unmanaged<CaptureSession>.fromOpaque(UnsafeRawPointer(user!)).takeUnretainedValue()
            s.handle(hdr!, bytes!)
        }
        var reason = "duration"
        while true {
            if LiveCapture.stopFlag.load(ordering: .relaxed) {
                reason = LiveCapture.signalled.load(ordering: .relaxed) != 0 ? "signal" : "stop-request"
                break
            }
            let now = monotonicSeconds()
            if now >= deadline { reason = "duration"; break }
            if limitHit { reason = "packet-limit"; break }
            var pfd = pollfd(fd: sel, events: Int16(POLLIN), revents: 0)
            let wait = Int32(min(100, max(1, (deadline - now) * 1000)))
            let pr = poll(&pfd, 1, wait)
            if pr < 0 && errno != EINTR {
                self.error = SystemCallError("poll").description; reason = "error"; break
            }
            let remaining = Int32(clamping: options.maxPackets - packets)
            let n = pcap_dispatch(p, remaining > 0 ? remaining : 1, callback, me)
            if n == PCAP_ERROR {
                self.error = "pcap_dispatch: \(String(cString: pcap_geterr(p)))"; reason = "error"; break
            }
            if packets >= options.maxPackets { limitHit = true }
        }
        // Drain: packets already captured but still in a block the kernel has not retired
        // (at most the 100 ms timeout) belong to this capture.
        let drainEnd = monotonicSeconds() + (options.immediate ? 0.02 : 0.15)
        while !limitHit, monotonicSeconds() < drainEnd {
            var pfd = pollfd(fd: sel, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, 20)
            let remaining = Int32(clamping: options.maxPackets - packets)
            guard remaining > 0, pcap_dispatch(p, remaining, callback, me) >= 0 else { break }
            if packets >= options.maxPackets { limitHit = true }
        }
        duration = monotonicSeconds() - start
        stoppedBy = reason
        var st = pcap_stat()
        if pcap_stats(p, &st) == 0 {
            psRecv = UInt64(st.ps_recv); psDrop = UInt64(st.ps_drop); psIfDrop = UInt64(st.ps_ifdrop)
        }
        var ru1 = rusage()
        getrusage(1 /* RUSAGE_THREAD */, &ru1)
        func cpu(_ r: rusage) -> Double {
            Double(r.ru_utime.tv_sec) + Double(r.ru_utime.tv_usec) / 1e6 + Double(r.ru_stime.tv_sec) + Double(r.ru_stime.tv_usec) / 1e6
        }
        cpuSeconds = cpu(ru1) - cpu(ru0)
    }

    @inline(__always)
    func handle(_ hdr: UnsafePointer<pcap_pkthdr>, _ bytes: UnsafePointer<UInt8>) {
        packets += 1
        let caplen = Int(hdr.pointee.caplen)
        let buf = UnsafeRawBufferPointer(start: bytes, count: caplen)
        // Nanosecond precision: tv_usec holds nanoseconds.
        let ts = UInt64(hdr.pointee.ts.tv_sec) &* 1_000_000_000 &+ UInt64(hdr.pointee.ts.tv_usec)
        switch PacketDecoder.decode(buf, linkType: PcapLinkType.linuxSLL2) {
        case .success(let h):
            let idx = h.ifindex ?? 0
            if idx != lastIfindex {
                if ifnames[idx] == nil { ifnames[idx] = interfaceName(idx) }
                lastIfindex = idx
            }
            table.add(h, iface: idx, timestampNs: ts)
            if options.keepPackets && kept.count < options.maxKeptPackets {
                kept.append(Kept(offset: arena.count, length: caplen, ts: ts, originalLength: hdr.pointee.len,
                                 ifindex: idx, direction: h.direction))
                arena.append(contentsOf: buf)
            }
        case .failure:
            undecoded += 1
            if options.keepPackets, caplen >= 8, kept.count < options.maxKeptPackets {
                let idx = Int32(bitPattern: UInt32(bytes[4]) << 24 | UInt32(bytes[5]) << 16 | UInt32(bytes[6]) << 8 | UInt32(bytes[7]))
                if ifnames[idx] == nil { ifnames[idx] = interfaceName(idx) }
                kept.append(Kept(offset: arena.count, length: caplen, ts: ts, originalLength: hdr.pointee.len,
                                 ifindex: idx, direction: .unknown))
                arena.append(contentsOf: buf)
            }
        }
    }

    /// The name of an interface of this thread's namespace (if_indextoname uses a socket
    /// opened on the calling thread, hence in the namespace it has entered).
    func interfaceName(_ index: Int32) -> String {
        var buf = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard index > 0, if_indextoname(UInt32(index), &buf) != nil else { return "if\(index)" }
        return cString(buf)
    }
}

/// A NUL-terminated C string held in an array.
func cString(_ a: [CChar]) -> String {
    let bytes = a.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

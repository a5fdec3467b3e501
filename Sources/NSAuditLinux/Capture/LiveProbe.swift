import CNetlink
import Glibc
import NSAuditCore
import Synchronization

/// Sends real probes (`ProbePlan`) from namespaces of this host and reports where captures
/// saw them (`ProbeObservation`). One capture (libpcap on `any`, headers only, a filter
/// narrowed to the probes' destinations and ICMP errors) runs in every namespace any plan
/// names; the probes are sent one after the other, each from a dedicated thread that has
/// entered its start namespace (setns), each waiting for its answer at most its timeout.
public enum LiveProbe {
    /// After the last probe, how long captures keep running for packets still in flight.
    public static let settle = 0.15

    /// Sends every plan's probe and returns one observation per plan, in order. Throws when
    /// a namespace cannot be found or every capture fails; a namespace whose capture failed
    /// is listed in the observation's `blind`.
    /// `beforeEach` runs before each probe is sent (the trace differential empties the
    /// neighbour tables there, so that every probe starts from the recorded state).
    public static func run(_ plans: [ProbePlan], beforeEach: (() -> Void)? = nil) throws -> [ProbeObservation] {
        guard !plans.isEmpty else { return [] }
        var netns: [String] = []
        for p in plans { for n in [p.netns] + p.captureNetns where !netns.contains(n) { netns.append(n) } }
        let candidates = NamespaceDiscovery.discover()
        var paths: [String: String] = [:]
        for n in netns {
            guard let c = candidates.first(where: { $0.id == n || $0.names.contains(n) }) else {
                throw LiveCaptureError.unknownNamespace(n, known: candidates.flatMap { $0.names })
            }
            paths[n] = c.path
        }
        let total = plans.reduce(0.0) { $0 + $1.timeout + 0.05 } + settle + 5
        var options = LiveCaptureOptions(netns: netns, includeRoot: false, duration: total, maxPackets: 200_000,
                                         snaplen: 160, bufferSize: 4 << 20, filter: filter(plans), immediate: true,
                                         keepPackets: true, maxFlows: 10_000)
        options.maxKeptPackets = 200_000
        var sent: [SentProbe] = []
        let capture = try LiveCapture.run(options) {
            for p in plans {
                beforeEach?()
                sent.append(send(p, path: paths[p.netns]!))
            }
            let end = monotonicSeconds() + settle
            while monotonicSeconds() < end { usleep(10_000) }
            LiveCapture.requestStop()
        }
        var blind: [String: String] = [:]
        for st in capture.stats { if let e = st.error { blind[st.netns] = e } }
        let packets = capture.packets ?? []
        var out: [ProbeObservation] = []
        for (i, p) in plans.enumerated() {
            let s = sent[i]
            var flow = s.flow
            let matcher = ProbeMatcher(flow: flow, icmpID: s.icmpID)
            var crossings = Set<ProbeCrossing>()
            var errors: [ProbeICMPError] = []
            let canSee = Set(p.captureNetns + [p.netns])
            for pk in packets where canSee.contains(pk.netns) {
                pk.bytes.withUnsafeBytes { raw in
                    guard case .success(let h) = PacketDecoder.decode(raw, linkType: PcapLinkType.linuxSLL2),
                          h.direction != .unknown,
                          let (leg, err) = matcher.classify(h, bytes: raw, linkType: PcapLinkType.linuxSLL2) else { return }
                    // The request's source, when the kernel chose it: from the first request seen.
                    if leg == .request && flow.src == nil && pk.netns == p.netns { flow.src = h.src }
                    crossings.insert(ProbeCrossing(netns: pk.netns, interface: pk.interface,
                                                   direction: h.direction == .incoming ? .ingress : .egress, leg: leg))
                    // libpcap's `any` device reports a loopback packet once, as received:
                    // it was sent there too.
                    if h.loopback {
                        crossings.insert(ProbeCrossing(netns: pk.netns, interface: pk.interface, direction: .egress, leg: leg))
                    }
                    if let err, !errors.contains(err) { errors.append(err) }
                }
            }
            var o = ProbeObservation(flow: flow, netns: p.netns, icmpID: s.icmpID, answer: s.answer,
                                     crossings: crossings.sorted(), icmpErrors: errors,
                                     blind: blind.filter { canSee.contains($0.key) })
            o.sourceChosen = p.flow.src == nil
            out.append(o)
        }
        return out
    }

    /// The capture filter: packets to or from the probes' destinations, and ICMP errors.
    static func filter(_ plans: [ProbePlan]) -> String {
        var hosts: [String] = []
        for p in plans where !hosts.contains(p.flow.dst.description) { hosts.append(p.flow.dst.description) }
        return "(" + hosts.map { "host \($0)" }.joined(separator: " or ") + ")"
            + " or (icmp and icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply)"
            + " or (icmp6 and ip6[40] < 128)"
    }

    struct SentProbe: Sendable {
        var flow: ProbeFlow
        var icmpID: UInt16?
        var answer: ProbeAnswer
    }

    static let nextID = Atomic<UInt32>(UInt32(truncatingIfNeeded: getpid()) &* 2654435761)

    /// Sends one probe from a thread that enters the start namespace, and waits for its answer.
    static func send(_ plan: ProbePlan, path: String) -> SentProbe {
        final class Box: @unchecked Sendable { var result: SentProbe? }
        let box = Box()
        let id = UInt16(truncatingIfNeeded: nextID.add(1, ordering: .relaxed).newValue)
        NamespaceThread.runWorkers(1) { _ in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                box.result = SentProbe(flow: plan.flow, answer: .sendFailed(SystemCallError("open", subject: path).description))
                return
            }
            defer { close(fd) }
            do { try NamespaceThread.enter(fd: fd, path: path) } catch {
                box.result = SentProbe(flow: plan.flow, answer: .sendFailed("\(error)"))
                return
            }
            box.result = ProbeSocket.exchange(plan.flow, icmpID: id, timeout: plan.timeout)
        }
        return box.result ?? SentProbe(flow: plan.flow, answer: .sendFailed("no thread to send from"))
    }
}

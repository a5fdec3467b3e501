/// A trace's prediction held against a live probe of the same flow: which predicted
/// crossings were seen, and every contradiction (a model mismatch).
///
/// The request must cross exactly the interfaces one forward branch predicts; a request
/// predicted `accepted` must be answered from the namespace it ends in, `no-listener`
/// refused from there (TCP RST, ICMP port unreachable), any other end neither; the
/// start namespace refusing to send matches only a path that ends where it starts with
/// `no-route` or `null-routed`. When the request is accepted, the reply must cross exactly
/// the interfaces one of the branch's reply paths predicts, and reach the sender's socket
/// exactly when that path ends `delivered`.
public struct ProbeComparison: Sendable {
    /// The forward branch the probe followed (nil: none matched).
    public var branch: Int?
    /// Per predicted crossing of the chosen (or first) branch's request path: seen or not.
    public var request: [(TraceCrossing, Bool)]
    /// Per predicted crossing of the reply path the probe followed (or the first).
    public var reply: [(TraceCrossing, Bool)]
    /// Contradictions, one sentence each; empty when the probe agrees with the prediction.
    public var mismatches: [String]

    public var agrees: Bool { mismatches.isEmpty }

    public init(trace: TraceResult, observation o: ProbeObservation) {
        branch = nil; request = []; reply = []; mismatches = []
        let branches = trace.branches
        guard !branches.isEmpty else { mismatches.append("the trace has no path"); return }
        let seenRequest = Set(o.crossings(.request).map(\.trace))
        func describe(_ c: [TraceCrossing]) -> String {
            c.isEmpty ? "nothing" : c.map { "\($0.netns) \($0.interface) \($0.direction.rawValue)" }.joined(separator: ", ")
        }
        func visible(_ cs: [TraceCrossing]) -> [TraceCrossing] { cs.filter { o.blind[$0.netns] == nil } }
        let seenVisible = Set(seenRequest.filter { o.blind[$0.netns] == nil })

        if o.sourceChosen, let chosen = o.flow.src, let predicted = trace.source, chosen != predicted {
            mismatches.append("the kernel chose source \(chosen); predicted \(predicted)")
        }
        if case .sendFailed(let e) = o.answer {
            let i = branches.firstIndex { $0.forward.crossings.isEmpty && [.noRoute, .nullRouted].contains($0.forward.disposition) }
            branch = i
            request = branches[i ?? 0].forward.crossings.map { ($0, false) }
            if i == nil {
                mismatches.append("the start namespace refused to send (\(e)); predicted \(branches[0].forward.disposition.rawValue)")
            }
            return
        }
        let idx = branches.firstIndex { Set(visible($0.forward.crossings)) == seenVisible }
        branch = idx
        let b = branches[idx ?? 0]
        request = b.forward.crossings.map { ($0, seenRequest.contains($0)) }
        if idx == nil {
            mismatches.append("request crossed \(describe(o.crossings(.request).map(\.trace))); predicted \(describe(b.forward.crossings))")
        }
        let end = b.forward.endNetns
        func emittedBy(_ leg: ProbeLeg, _ ns: String?) -> Bool {
            o.crossings(leg).contains { $0.netns == ns && $0.direction == .egress }
        }
        let answered = emittedBy(.reply, end), refused = emittedBy(.refusal, end)
        let endBlind = end.map { o.blind[$0] != nil } ?? false
        // An answer can only be seen leaving when its own path leaves the namespace: the
        // reply's path is predicted (a reply that cannot be routed back never leaves), the
        // refusal's is not (it is checked only when seen).
        let replyLeaves = b.reverse.contains { !$0.crossings.isEmpty }
        switch b.forward.disposition {
        case .accepted:
            if !answered && !endBlind && replyLeaves { mismatches.append("predicted accepted in \(end ?? "?"); no reply left it") }
            if refused { mismatches.append("predicted accepted in \(end ?? "?"); it refused the request") }
        case .noListener:
            if answered { mismatches.append("predicted no-listener in \(end ?? "?"); a listener answered") }
            if !o.crossings(.refusal).isEmpty && !refused && !endBlind {
                mismatches.append("predicted no-listener in \(end ?? "?"); a refusal came from elsewhere")
            }
        default:
            if (o.crossings(.reply) + o.crossings(.refusal)).contains(where: { $0.direction == .egress }) { mismatches.append("predicted \(b.forward.disposition.rawValue); the destination answered") }
        }
        guard b.forward.disposition == .accepted else { return }
        let seenReply = Set(o.crossings(.reply).map(\.trace))
        let seenReplyVisible = Set(seenReply.filter { o.blind[$0.netns] == nil })
        guard !b.reverse.isEmpty else {
            if !seenReply.isEmpty { mismatches.append("no reply predicted; the reply crossed \(describe(Array(seenReply)))") }
            return
        }
        let r = b.reverse.firstIndex { Set(visible($0.crossings)) == seenReplyVisible }
        let rp = b.reverse[r ?? 0]
        reply = rp.crossings.map { ($0, seenReply.contains($0)) }
        if r == nil {
            mismatches.append("reply crossed \(describe(o.crossings(.reply).map(\.trace))); predicted \(describe(rp.crossings))")
        }
        let gotIt = o.answer == .reply
        if rp.disposition == .delivered && !gotIt {
            mismatches.append("reply predicted delivered to the sender; the sender's socket got \(o.answer.summary)")
        } else if rp.disposition != .delivered && gotIt {
            mismatches.append("reply predicted \(rp.disposition.rawValue); the sender's socket got it")
        }
    }
}

extension ProbeAnswer {
    /// "reply", "refused", "error EHOSTUNREACH", "nothing", "send failed ENETUNREACH".
    public var summary: String {
        switch self {
        case .reply: "reply"
        case .refused: "refused"
        case .error(let e): "error \(e)"
        case .none: "nothing"
        case .sendFailed(let e): "send failed \(e)"
        }
    }
}

extension ProbeComparison {
    /// Traces each observed probe's flow in `snapshot` and compares: one line per probe
    /// that disagrees (the flow, the mismatches, what was predicted and what the sender got),
    /// and the number that agree.
    public static func check(_ observations: [ProbeObservation], against snapshot: Snapshot) -> (agree: Int, disagreements: [String]) {
        var agree = 0
        var out: [String] = []
        let context = TraceContext(snapshot)
        for o in observations {
            do {
                let flow = try TraceFlow.parse(netns: o.netns, arguments: o.traceArguments)
                let trace = try Trace.run(flow, in: context)
                let c = ProbeComparison(trace: trace, observation: o)
                if c.agrees { agree += 1; continue }
                let predicted = trace.branches.map { b in
                    b.forward.disposition.rawValue + (b.reverse.isEmpty ? "" : "/" + b.reverse.map(\.disposition.rawValue).joined(separator: ","))
                }.joined(separator: " | ")
                out.append("\(o.netns): \(o.traceArguments): \(c.mismatches.joined(separator: "; ")) [predicted \(predicted); sender got \(o.answer.summary)]")
            } catch {
                out.append("\(o.netns): \(o.traceArguments): trace failed: \(error)")
            }
        }
        return (agree, out)
    }
}

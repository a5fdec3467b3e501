/// `trace --probe`: the plan of the real probe for a traced flow, and the comparison of what
/// the captures saw with the prediction, in the trace's text and JSON.
extension TraceResult {
    /// The probe that sends this flow for real from its start namespace, capturing in every
    /// namespace a predicted path enters and in their veth neighbours (where a packet that
    /// strays from the prediction would show). nil for flows that arrive from outside
    /// (`iif`): nothing on the host can send them.
    public func probePlan(snapshot: Snapshot, timeout: Double = 1.0) -> ProbePlan? {
        guard flow.iif == nil else { return nil }
        let proto: ProbeProtocol = flow.ipproto == IPProto.tcp ? .tcp : flow.ipproto == IPProto.udp ? .udp : .icmp
        let f = ProbeFlow(proto: proto, src: flow.src, dst: flow.dst, sport: flow.sport == 0 ? nil : flow.sport, dport: flow.dport,
                          mark: flow.mark == 0 ? nil : flow.mark, tos: flow.tos == 0 ? nil : flow.tos)
        var onPath: [String] = []
        for b in branches {
            for p in [b.forward] + b.reverse { for h in p.hops where !onPath.contains(h.netns) { onPath.append(h.netns) } }
        }
        var capture = onPath
        for id in onPath {
            guard let ns = snapshot.namespace(id) else { continue }
            for l in ns.links { if let peer = l.peerNetns, !capture.contains(peer), snapshot.namespace(peer) != nil { capture.append(peer) } }
        }
        return ProbePlan(flow: f, netns: flow.netns, captureNetns: capture, timeout: timeout)
    }
}

extension TraceRenderer {
    /// The probe's lines after the trace: each predicted crossing seen or not, then every
    /// contradiction as a model-mismatch.
    public static func probeText(_ c: ProbeComparison, _ o: ProbeObservation) -> String {
        var lines = ["probe: \(o.flow.proto.rawValue) sent from \(o.netns.terminalEscaped), the sender got: \(o.answer.summary)"]
        func leg(_ name: String, _ items: [(TraceCrossing, Bool)]) {
            guard !items.isEmpty else { return }
            lines.append("  \(name):")
            for (x, seen) in items {
                lines += wrap("    \(seen ? "seen    " : "NOT seen") \(x.netns.terminalEscaped) \(x.interface.terminalEscaped) \(x.direction.rawValue)", indent: "             ")
            }
        }
        leg("request", c.request)
        leg("reply", c.reply)
        for (ns, why) in o.blind.sorted(by: { $0.key < $1.key }) {
            lines += wrap("  blind in \(ns.terminalEscaped): \(why.terminalEscaped)", indent: "    ")
        }
        if c.agrees { lines.append("  the probe agrees with the prediction") }
        for m in c.mismatches { lines += wrap("  model-mismatch: \(m.terminalEscaped)", indent: "    ") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The trace's JSON with a `probe` member.
    public static func json(_ t: TraceResult, probe: (ProbeComparison, ProbeObservation)?, pretty: Bool = true) -> String {
        guard let (c, o) = probe else { return json(t, pretty: pretty) }
        return JSONWriter<[UInt8]>.text(escaping: .foundation, pretty: pretty) { w in
            write(t, &w, extra: { w in
                w.key("probe"); w.beginObject()
                w.key("protocol"); w.string(o.flow.proto.rawValue)
                w.key("src"); w.address(orNull: o.flow.src)
                w.key("sport"); w.int(orNull: o.flow.sport)
                w.key("answer"); w.string(o.answer.summary)
                w.key("branch"); w.int(orNull: c.branch)
                for (name, items) in [("request", c.request), ("reply", c.reply)] {
                    w.key(escaping: name); w.beginArray()
                    for (x, seen) in items {
                        w.element(); w.beginObject()
                        w.key("netns"); w.string(x.netns)
                        w.key("interface"); w.string(x.interface)
                        w.key("direction"); w.string(x.direction.rawValue)
                        w.key("seen"); w.bool(seen)
                        w.endObject()
                    }
                    w.endArray()
                }
                w.key("blind"); w.beginObject()
                for (ns, why) in o.blind.sorted(by: { $0.key < $1.key }) { w.key(escaping: ns); w.string(why) }
                w.endObject()
                w.key("agrees"); w.bool(c.agrees)
                w.key("mismatches"); w.strings(c.mismatches)
                w.endObject()
            })
        }
    }
}

/// A trace as text (a hop a line, like traceroute, for an 80-column terminal), as JSON
/// (`schema/trace.schema.json`, `nsaudit.trace/v1`) and as Graphviz dot.
public enum TraceRenderer {
    public static let width = 80

    // MARK: text

    public static func text(_ t: TraceResult) -> String {
        var lines: [String] = []
        let f = t.flow
        let ports = f.ipproto == IPProto.tcp || f.ipproto == IPProto.udp
        lines += wrap("trace \(f.protocolName) \(endpoint(t.source, ports ? f.sport : 0)) -> "
                      + "\(endpoint(f.dst, ports ? f.dport : 0)) from \(f.netns.terminalEscaped)"
                      + (f.iif.map { " (arriving on \($0.terminalEscaped))" } ?? ""), indent: "  ")
        let many = t.branches.count > 1
        for (k, b) in t.branches.enumerated() {
            lines.append(many ? "request, path \(k + 1) of \(t.branches.count):" : "request:")
            lines += path(b.forward)
            if b.reverse.isEmpty {
                lines.append("reply: none (the request is not accepted)")
            }
            for (j, r) in b.reverse.enumerated() {
                lines.append(b.reverse.count > 1 ? "reply, path \(j + 1) of \(b.reverse.count):" : "reply:")
                lines += path(r)
            }
            if let d = b.divergence {
                lines += wrap("diverges at reply hop \(d.hop + 1) (\(d.netns.terminalEscaped)): \(d.why.terminalEscaped)", indent: "  ")
            }
        }
        lines += wrap(verdict(t), indent: "")
        return lines.joined(separator: "\n") + "\n"
    }

    /// One sentence on the whole trace.
    public static func verdict(_ t: TraceResult) -> String {
        func one(_ b: TraceBranch) -> String {
            let fwd = b.forward
            guard fwd.disposition == .accepted else {
                return "the request \(phrase(fwd.disposition)) in \(fwd.endNetns?.terminalEscaped ?? "the start"): \(fwd.detail.terminalEscaped)"
            }
            if b.symmetric { return "the request is accepted and the reply retraces its path" }
            let r = b.reverse.first { $0.disposition != .delivered && $0.disposition != .exitsHost } ?? b.reverse.first
            let end = r.map { " and \(phrase($0.disposition)) in \($0.endNetns?.terminalEscaped ?? "?")" } ?? ""
            let at = b.divergence.map { " diverges at \($0.netns.terminalEscaped)" } ?? " does not come back the same way"
            return "the request is accepted, but the reply\(at)\(end)"
        }
        if t.branches.count == 1 { return "Verdict: " + one(t.branches[0]) + "." }
        let parts = t.branches.enumerated().map { "path \($0.offset + 1): \(one($0.element))" }
        return "Verdict (multipath, every path the kernel may choose): " + parts.joined(separator: "; ") + "."
    }

    /// What a path that ends so does, for a sentence.
    static func phrase(_ d: TraceDisposition) -> String {
        switch d {
        case .accepted: "is accepted"
        case .noListener: "finds no listener"
        case .delivered: "is delivered back"
        case .misdelivered: "is misdelivered"
        case .exitsHost: "leaves the host"
        case .noRoute: "has no route"
        case .nullRouted: "is null-routed"
        case .rpFilterDrop: "is dropped by reverse-path filtering"
        case .forwardingDisabled: "is not forwarded (forwarding is off)"
        case .loop: "loops"
        case .neighborUnknown: "finds no neighbour"
        }
    }

    static func endpoint(_ a: IPAddress?, _ port: UInt16) -> String {
        guard let a else { return "?" }
        let s = a.family == .v6 && port != 0 ? "[\(a)]" : a.description
        return port != 0 ? "\(s):\(port)" : s
    }

    static func path(_ p: TracePath) -> [String] {
        var lines: [String] = []
        for (i, h) in p.hops.enumerated() { lines += wrap(hopLine(i + 1, h), indent: "      ") }
        lines += wrap("    => \(p.disposition.rawValue): \(p.detail.terminalEscaped)", indent: "       ")
        return lines
    }

    static func hopLine(_ n: Int, _ h: TraceHop) -> String {
        let num = n < 10 ? " \(n)" : "\(n)"
        let ns = h.netns.terminalEscaped
        if h.kind == .bridge {
            return "\(num)  \(ns)  bridge \(h.bridge?.terminalEscaped ?? "?"): \(h.inPort?.terminalEscaped ?? "?") -> \(h.outPort?.terminalEscaped ?? "?")"
                + (h.filteringNotEvaluated ? " [filtering not evaluated]" : "")
        }
        var inText = h.inInterface?.terminalEscaped ?? "(sent)"
        if let p = h.inPort { inText = "\(p.terminalEscaped)/\(inText)" }
        var outText: String
        if let o = h.outInterface {
            outText = o.terminalEscaped
            if let p = h.outPort { outText += "/\(p.terminalEscaped)" }
        } else {
            outText = h.error != nil ? "drop" : "local"
        }
        var s = "\(num)  \(ns)  \(inText) -> \(outText)"
        if h.outInterface != nil && h.type == "unicast" { s += h.gateway.map { " via \($0)" } ?? " on-link" }
        var d: [String] = []
        if h.type != "unicast" { d.append(h.type) }
        if let t = h.table { d.append("table \(Table.name(t))") }
        if let r = h.rule { d.append("rule \(r)") }
        if let e = h.error { d.append(e) }
        if !d.isEmpty { s += "  (\(d.joined(separator: ", ")))" }
        if h.filteringNotEvaluated { s += " [filtering not evaluated]" }
        return s
    }

    /// Splits a line at spaces so no piece is longer than `width`; pieces after the first
    /// are indented.
    static func wrap(_ line: String, indent: String) -> [String] {
        guard line.count > width else { return [line] }
        var out: [String] = []
        var current = ""
        var words = 0, first = true
        for word in line.split(separator: " ", omittingEmptySubsequences: false) {
            if words > 0 && current.count + 1 + word.count > width && !word.isEmpty {
                out.append(current)
                current = indent + word
                words = 1
            } else {
                current += (first ? "" : " ") + word
                words += word.isEmpty ? 0 : 1
            }
            first = false
        }
        out.append(current)
        // a single word longer than the line is cut
        return out.flatMap { l -> [String] in
            guard l.count > width else { return [l] }
            var pieces: [String] = [], rest = Substring(l)
            while rest.count > width { pieces.append(String(rest.prefix(width))); rest = indent + rest.dropFirst(width) }
            pieces.append(String(rest))
            return pieces
        }
    }

    // MARK: JSON

    /// The trace as one JSON object (`pretty`: indented; else one line).
    public static func json(_ t: TraceResult, pretty: Bool = true) -> String {
        JSONWriter<[UInt8]>.text(escaping: .foundation, pretty: pretty) { w in write(t, &w) }
    }

    /// Traces as JSON lines (one compact object and a line feed each), as UTF-8 bytes: the
    /// output of `trace --batch --json`.
    public static func jsonLines<S: Sequence<TraceResult>>(_ traces: S) -> [UInt8] {
        var w = JSONWriter<[UInt8]>([], escaping: .foundation, pretty: false)
        for t in traces {
            write(t, &w)
            w.out.write(10)
        }
        return w.out
    }

    /// `extra` writes more members (the probe) before the verdict.
    static func write<Out: ByteSink>(_ t: TraceResult, _ w: inout JSONWriter<Out>, extra: ((inout JSONWriter<Out>) -> Void)? = nil) {
        w.beginObject()
        w.key("schema"); w.string(TraceResult.schemaVersion)
        w.key("flow"); writeFlow(t, &w)
        if t.branches.count == 1 {
            let b = t.branches[0]
            w.key("forward"); writePath(b.forward, &w)
            w.key("reverse"); writeReplies(b.reverse, &w)
            w.key("symmetric"); w.bool(b.symmetric)
            w.key("divergence"); writeDivergence(b.divergence, &w)
        } else {
            w.key("forward"); w.beginObject()
            w.key("branches"); w.beginArray()
            for b in t.branches {
                w.element(); w.beginObject()
                writePathMembers(b.forward, &w)
                w.key("reverse"); writeReplies(b.reverse, &w)
                w.key("symmetric"); w.bool(b.symmetric)
                w.key("divergence"); writeDivergence(b.divergence, &w)
                w.endObject()
            }
            w.endArray()
            w.key("disposition"); w.string("multipath")
            w.endObject()
            w.key("reverse"); w.null()
            w.key("symmetric"); w.bool(t.symmetric)
            w.key("divergence"); writeDivergence(t.branches.lazy.compactMap(\.divergence).first, &w)
        }
        w.key("ok"); w.bool(t.ok)
        extra?(&w)
        w.key("verdict"); w.string(verdict(t))
        w.endObject()
    }

    static func writeFlow<Out: ByteSink>(_ t: TraceResult, _ w: inout JSONWriter<Out>) {
        let f = t.flow
        w.beginObject()
        w.key("netns"); w.string(f.netns)
        w.key("src"); w.address(orNull: t.source)
        w.key("src_given"); w.bool(f.src != nil)
        w.key("dst"); w.address(f.dst)
        w.key("iif"); w.string(orNull: f.iif)
        w.key("oif"); w.string(orNull: f.oif)
        w.key("protocol"); w.string(f.protocolName)
        w.key("sport"); w.int(f.sport)
        w.key("dport"); w.int(f.dport)
        w.key("mark"); w.int(f.mark)
        w.key("tos"); w.int(f.tos)
        w.key("arguments"); w.string(f.arguments)
        w.endObject()
    }

    static func writeReplies<Out: ByteSink>(_ r: [TracePath], _ w: inout JSONWriter<Out>) {
        if r.isEmpty { w.null(); return }
        if r.count == 1 { writePath(r[0], &w); return }
        w.beginObject()
        w.key("branches"); w.beginArray()
        for p in r { w.element(); writePath(p, &w) }
        w.endArray()
        w.key("disposition"); w.string("multipath")
        w.endObject()
    }

    static func writePath<Out: ByteSink>(_ p: TracePath, _ w: inout JSONWriter<Out>) {
        w.beginObject(); writePathMembers(p, &w); w.endObject()
    }

    static func writePathMembers<Out: ByteSink>(_ p: TracePath, _ w: inout JSONWriter<Out>) {
        w.key("hops"); w.beginArray()
        for h in p.hops { w.element(); writeHop(h, &w) }
        w.endArray()
        w.key("disposition"); w.string(p.disposition.rawValue)
        w.key("detail"); w.string(p.detail)
        w.key("error"); w.string(orNull: p.error)
        if let l = p.listener { w.key("listener"); writeListener(l, &w) }
        if p.disposition == .noListener {
            w.key("listeners_elsewhere"); w.beginArray()
            for l in p.listenersElsewhere { w.element(); writeListener(l, &w) }
            w.endArray()
        }
        if let d = p.exitDevice {
            w.key("exit"); w.beginObject()
            w.key("device"); w.string(d)
            w.key("next_hop"); w.address(orNull: p.exitNextHop)
            w.endObject()
        }
        w.key("crossings"); w.beginArray()
        for c in p.crossings {
            w.element(); w.beginObject()
            w.key("netns"); w.string(c.netns)
            w.key("interface"); w.string(c.interface)
            w.key("direction"); w.string(c.direction.rawValue)
            w.endObject()
        }
        w.endArray()
    }

    static func writeHop<Out: ByteSink>(_ h: TraceHop, _ w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key("netns"); w.string(h.netns)
        w.key("kind"); w.string(h.kind.rawValue)
        w.key("in"); w.string(orNull: h.inInterface)
        w.key("in_port"); w.string(orNull: h.inPort)
        w.key("out"); w.string(orNull: h.outInterface)
        w.key("out_port"); w.string(orNull: h.outPort)
        w.key("bridge"); w.string(orNull: h.bridge)
        w.key("gateway"); w.address(orNull: h.gateway)
        if let t = h.table { w.key("table"); w.int(t) } else { w.key("table"); w.null() }
        if let r = h.rule { w.key("rule"); w.int(r) } else { w.key("rule"); w.null() }
        w.key("type"); w.string(h.type)
        w.key("route"); w.string(orNull: h.route)
        w.key("src"); w.address(orNull: h.src)
        w.key("dst"); w.address(h.dst)
        w.key("ttl"); w.int(h.ttl)
        w.key("error"); w.string(orNull: h.error)
        w.key("filtering_not_evaluated"); w.bool(h.filteringNotEvaluated)
        w.endObject()
    }

    static func writeListener<Out: ByteSink>(_ l: TraceListener, _ w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key("netns"); w.string(l.netns)
        w.key("protocol"); w.string(l.protocol)
        w.key("address"); w.address(l.address)
        w.key("port"); w.int(l.port)
        w.key("device"); w.string(orNull: l.device)
        w.endObject()
    }

    static func writeDivergence<Out: ByteSink>(_ d: TraceDivergence?, _ w: inout JSONWriter<Out>) {
        guard let d else { w.null(); return }
        w.beginObject()
        w.key("hop"); w.int(d.hop)
        w.key("netns"); w.string(d.netns)
        w.key("out"); w.string(orNull: d.out)
        w.key("expected_out"); w.string(orNull: d.expectedOut)
        if let r = d.rule { w.key("rule"); w.int(r) } else { w.key("rule"); w.null() }
        if let t = d.table { w.key("table"); w.int(t) } else { w.key("table"); w.null() }
        w.key("route"); w.string(orNull: d.route)
        w.key("why"); w.string(d.why)
        w.endObject()
    }

    // MARK: dot

    /// Graphviz: each namespace on a path a cluster of its interfaces (and `local`, the
    /// sockets and the kernel), the request's crossings in blue, the reply's in red.
    public static func dot(_ t: TraceResult) -> String {
        var clusters: [String: [(id: String, label: String)]] = [:]
        var order: [String] = []
        var edges: [String] = []
        var outside = false
        func node(_ ns: String, _ name: String) -> String {
            if clusters[ns] == nil { clusters[ns] = []; order.append(ns) }
            let id = quote("\(ns)/\(name)")
            if !clusters[ns]!.contains(where: { $0.id == id }) { clusters[ns]!.append((id, name)) }
            return id
        }
        func add(_ p: TracePath, color: String, label: String) {
            var seq: [String] = []
            for h in p.hops {
                if h.inInterface == nil && h.inPort == nil { seq.append(node(h.netns, "local")) }
                if let x = h.inPort { seq.append(node(h.netns, x)) }
                if let x = h.inInterface { seq.append(node(h.netns, x)) }
                if let x = h.outInterface { seq.append(node(h.netns, x)) }
                if let x = h.outPort { seq.append(node(h.netns, x)) }
                if h.outInterface == nil && h.outPort == nil && h.kind == .route {
                    seq.append(h.error == nil ? node(h.netns, "local") : node(h.netns, "drop"))
                }
            }
            if p.disposition == .exitsHost { outside = true; seq.append("\"outside\"") }
            var dedup: [String] = []
            for s in seq where dedup.last != s { dedup.append(s) }
            for (a, b) in zip(dedup, dedup.dropFirst()) {
                edges.append("  \(a) -> \(b) [color=\(color), fontcolor=\(color)];")
            }
            if let last = dedup.last {
                edges.append("  \(quote("end/\(label)/\(edges.count)")) [shape=plaintext, label=\(quote(p.disposition.rawValue)), fontcolor=\(color)];")
                edges.append("  \(last) -> \(quote("end/\(label)/\(edges.count - 1)")) [color=\(color), style=dotted, arrowhead=none];")
            }
        }
        for (k, b) in t.branches.enumerated() {
            add(b.forward, color: "blue", label: "request\(k)")
            for (j, r) in b.reverse.enumerated() { add(r, color: "red", label: "reply\(k).\(j)") }
        }
        var out = "digraph trace {\n  rankdir=LR;\n  node [shape=box, fontsize=10];\n"
        out += "  label=\(quote("nsaudit trace \(t.flow.protocolName) \(t.flow.arguments) (request blue, reply red)"));\n"
        for (i, ns) in order.enumerated() {
            out += "  subgraph cluster_\(i) {\n    label=\(quote(ns));\n"
            for n in clusters[ns]! { out += "    \(n.id) [label=\(quote(n.label))];\n" }
            out += "  }\n"
        }
        if outside { out += "  \"outside\" [shape=ellipse, label=\"outside the host\"];\n" }
        out += edges.joined(separator: "\n") + "\n}\n"
        return out
    }

    /// A dot string literal.
    static func quote(_ s: String) -> String {
        var o = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            default: if c.value < 0x20 { o += " " } else { o.unicodeScalars.append(c) }
            }
        }
        return o + "\""
    }
}

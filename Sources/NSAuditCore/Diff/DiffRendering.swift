/// `nsaudit diff` output: JSON (`schema/diff.schema.json`) and text for a terminal.
public enum DiffRenderer {
    // MARK: JSON

    public static func json(_ d: Diff) -> String {
        JSONWriter.text(escaping: .foundation, pretty: true) { w in
            w.beginObject()
            w.key("schema"); w.string(Diff.schemaVersion)
            w.key("generator"); w.string("nsaudit \(NSAuditInfo.version)")
            w.key("old"); side(d.old, &w)
            w.key("new"); side(d.new, &w)
            w.key("namespaces_compared"); w.strings(d.namespacesCompared)
            w.key("summary"); w.beginObject()
            w.key("new"); w.int(d.newFindings.count)
            w.key("resolved"); w.int(d.resolvedFindings.count)
            w.key("changed"); w.int(d.changedFindings.count)
            w.key("changes"); w.int(d.changes.count)
            w.endObject()
            w.key("findings"); w.beginObject()
            for state in FindingChange.State.allCases {
                w.key(escaping: state.rawValue)
                w.array(d.findings.filter { $0.state == state }) { transition($1, &$0) }
            }
            w.endObject()
            w.key("changes"); w.array(d.changes) { change($1, &$0) }
            w.key("notes"); w.strings(d.notes)
            w.endObject()
        } + "\n"
    }

    static func side(_ s: Diff.Side, _ w: inout JSONWriter<[UInt8]>) {
        w.beginObject()
        w.key("file"); w.string(s.file)
        w.key("kind"); w.string(s.kind)
        w.key("host"); w.string(s.host)
        w.key("taken_at"); w.string(s.takenAt)
        w.endObject()
    }

    static func transition(_ t: FindingChange, _ w: inout JSONWriter<[UInt8]>) {
        w.beginObject()
        w.key("id"); w.string(t.id)
        w.key("kind"); w.string(t.kind.rawValue)
        w.key("netns"); w.string(t.netns)
        if let a = t.localAddress { w.key("local_address"); w.address(a) }
        if let i = t.ingress { w.key("ingress"); w.string(i) }
        if t.state == .changed { w.key("fields"); w.strings(t.fields) }
        if let o = t.old { w.key("old"); state(o, &w) }
        if let n = t.new { w.key("new"); state(n, &w) }
        if let a = t.sourcesAdded { w.key("sources_added"); w.array(a) { $0.prefix($1) } }
        if let r = t.sourcesRemoved { w.key("sources_removed"); w.array(r) { $0.prefix($1) } }
        w.key("attribution"); w.string(t.attribution.rawValue)
        w.key("explained_by"); w.array(t.explainedBy) { $0.int($1) }
        w.endObject()
    }

    /// What a finding is on one side: the fields a change is reported on.
    static func state(_ f: Finding, _ w: inout JSONWriter<[UInt8]>) {
        w.beginObject()
        w.key("severity"); w.string(f.severity.rawValue)
        w.key("summary"); w.string(f.summary)
        if let e = f.egress { w.key("egress"); w.string(e) }
        if let g = f.gateway { w.key("gateway"); w.address(g) }
        if let t = f.table { w.key("table"); w.int(t) }
        w.key("sources_total"); w.int(f.sourcesTotal ?? f.sources.count)
        w.key("fix"); w.array(f.remediation) { w, r in
            w.beginObject()
            w.key("kind"); w.string(r.kind)
            w.key("verified"); w.bool(r.verified)
            w.key("commands"); w.strings(r.commands)
            w.endObject()
        }
        w.endObject()
    }

    static func change(_ c: ConfigChange, _ w: inout JSONWriter<[UInt8]>) {
        w.beginObject()
        w.key("netns"); w.string(c.netns)
        w.key("object"); w.string(c.object.rawValue)
        w.key("change"); w.string(c.change.rawValue)
        if let o = c.old { w.key("old"); w.string(o) }
        if let n = c.new { w.key("new"); w.string(n) }
        if c.change == .changed { w.key("fields"); w.strings(c.fields) }
        w.key("routing"); w.bool(c.reach.routing)
        w.endObject()
    }

    // MARK: text

    /// Per namespace: each group of configuration changes followed (→) by the finding
    /// transitions they explain, then the namespace's other changes (the first `limit`, all
    /// with `limit: .max`).
    public static func text(_ d: Diff, limit: Int = 8) -> String {
        func name(_ s: String) -> String { s.terminalEscaped }
        var out = "nsaudit diff\n"
        out += wrap("  old: \(name(d.old.file)) (\(d.old.kind), \(d.old.takenAt))")
        out += wrap("  new: \(name(d.new.file)) (\(d.new.kind), \(d.new.takenAt))")
        let nsChanged = Set(d.changes.map(\.netns)).count
        out += "findings: \(d.newFindings.count) new, \(d.resolvedFindings.count) resolved, \(d.changedFindings.count) changed"
        if d.old.kind == "snapshot" && d.new.kind == "snapshot" {
            out += "; \(d.changes.count) configuration change\(d.changes.count == 1 ? "" : "s") in \(nsChanged) namespace\(nsChanged == 1 ? "" : "s")"
        }
        out += "\n"
        for n in d.notes { out += "note: \(n)\n" }
        var order: [String] = []
        for n in d.findings.map(\.netns) + d.changes.map(\.netns) where !order.contains(n) { order.append(n) }
        if order.isEmpty { out += "\nNo change in behaviour or configuration.\n" }
        for ns in order {
            out += "\n\(name(ns))\n"
            let transitions = d.findings.filter { $0.netns == ns }
            var groups: [([Int], [FindingChange])] = []
            for t in transitions {
                if let g = groups.firstIndex(where: { $0.0 == t.explainedBy }) { groups[g].1.append(t) } else { groups.append((t.explainedBy, [t])) }
            }
            // In the order of the changes (a namespace's links, addresses, rules, routes, ...).
            groups.sort { ($0.0.first ?? .max) < ($1.0.first ?? .max) }
            var shown = Set<Int>()
            for (changes, ts) in groups {
                if changes.isEmpty {
                    let why = ts[0].attribution == .elsewhere ? "no configuration change here (a change in a linked namespace)"
                        : "configuration changes unknown (a report)"
                    out += "  \(why)\n"
                }
                for (k, i) in changes.enumerated() {
                    if k == limit && changes.count > limit + 1 && limit != .max {
                        out += "  … and \(changes.count - limit) more changes (--all lists them)\n"
                        break
                    }
                    out += changeText(d.changes[i])
                }
                shown.formUnion(changes)
                for t in ts { out += wrap("  → " + transitionText(t)) }
            }
            let others = d.changes.indices.filter { d.changes[$0].netns == ns && !shown.contains($0) }
            if !others.isEmpty {
                if !groups.isEmpty { out += "  other changes:\n" }
                for i in others.prefix(limit) { out += changeText(d.changes[i]) }
                if others.count > limit { out += "  … and \(others.count - limit) more (--all lists them)\n" }
            }
        }
        return out
    }

    static func changeText(_ c: ConfigChange) -> String {
        var s = wrap("  " + c.line.terminalEscaped)
        if c.change == .changed, c.detail == nil, let n = c.new { s += wrap("      now: " + n.terminalEscaped) }
        return s
    }

    /// `line` and a newline, broken at spaces to fit `width` columns, continued indented.
    static func wrap(_ line: String, width: Int = 80, indent: String = "        ") -> String {
        var out = "", rest = Substring(line)
        while rest.count > width {
            let head = rest.prefix(width)
            guard let cut = head.lastIndex(of: " "), rest[..<cut].contains(where: { $0 != " " }) else { break }
            out += rest[..<cut] + "\n"
            rest = Substring(indent) + rest[rest.index(after: cut)...]
        }
        return out + rest + "\n"
    }

    /// `KIND ADDRESS on INGRESS STATE (details)`.
    static func transitionText(_ t: FindingChange) -> String {
        var s = t.kind.rawValue
        if let a = t.localAddress { s += " \(a)" }
        if let i = t.ingress { s += " on \(i.terminalEscaped)" }
        func via(_ f: Finding) -> String? {
            guard let e = f.egress else { return nil }
            return "replies " + (f.gateway.map { "via \($0) " } ?? "") + "on \(e.terminalEscaped)"
        }
        switch t.state {
        case .new:
            let f = t.new!
            s += " new (\(f.severity.rawValue)\(via(f).map { "; " + $0 } ?? ""))"
        case .resolved:
            s += " resolved (was \(t.old!.severity.rawValue))"
        case .changed:
            let o = t.old!, n = t.new!
            var parts: [String] = []
            if o.severity != n.severity { parts.append("\(o.severity.rawValue) → \(n.severity.rawValue)") }
            if t.fields.contains("sources") {
                let added = t.sourcesAdded ?? [], removed = t.sourcesRemoved ?? []
                if t.sourcesAdded != nil && added.count + removed.count <= 3 {
                    parts.append("sources " + (added.map { "+\($0)" } + removed.map { "-\($0)" }).joined(separator: " "))
                } else {
                    let a = o.sourcesTotal ?? o.sources.count, b = n.sourcesTotal ?? n.sources.count
                    parts.append("sources \(a) → \(b) blocks")
                }
            }
            if t.fields.contains("egress") || t.fields.contains("gateway") {
                parts.append("\(via(o) ?? "-") → \(via(n) ?? "-")")
            }
            if t.fields.contains("fix") { parts.append("fix changed") }
            if parts.isEmpty { parts.append(t.fields.joined(separator: ", ") + " changed") }
            s += " changed: " + parts.joined(separator: ", ")
        }
        return s
    }
}

import FoundationEssentials

/// Renders a report as JSON, as a terminal report, or as node_exporter textfile metrics.
public enum ReportFormat: String, CaseIterable, Sendable {
    case json, text, prometheus
}

public enum ReportRenderer {
    /// `all`: the text format lists every finding in full (else info findings are summed up).
    public static func render(_ r: Report, as format: ReportFormat, color: Bool = false, all: Bool = false) -> String {
        switch format {
        case .json: json(r)
        case .text: text(r, color: color, all: all)
        case .prometheus: prometheus(r)
        }
    }

    public static func json(_ r: Report) -> String {
        var bytes = jsonBytes(r)
        bytes.append(10)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The report as `JSONEncoder` writes it with `.prettyPrinted, .sortedKeys,
    /// .withoutEscapingSlashes` (no newline at the end), written by `JSONWriter` (ReportJSON.swift).
    /// A big report's findings (mostly their source blocks) are written on every core, each
    /// piece at the depth of the findings array, and appended in order.
    static func jsonBytes(_ r: Report) -> [UInt8] {
        let findings = r.findings
        // A finding costs about its source blocks (a line each) and a few dozen lines besides.
        let weights = findings.map { 24 + $0.sources.count }
        let total = weights.reduce(0, +)
        var w = JSONWriter([UInt8](), escaping: .foundation, pretty: true)
        w.out.reserveCapacity(4096 + total * 28 + r.namespaces.count * 1024)
        r.writeJSON(to: &w) { w in
            guard findings.count > 1, total >= 20_000 else {
                for f in findings { w.element(); f.writeJSON(to: &w) }
                return
            }
            // Pieces of about equal weight, several per core.
            let n = min(processorCount * 4, findings.count)
            var bounds = [0]
            var sum = 0
            for (i, x) in weights.enumerated() where bounds.count < n {
                sum += x
                if sum * n >= total * bounds.count && i + 1 < findings.count { bounds.append(i + 1) }
            }
            bounds.append(findings.count)
            let cuts = bounds, depth = w.depth
            let parts = parallelMap(cuts.count - 1) { k -> [UInt8] in
                let range = cuts[k]..<cuts[k + 1]
                var p = JSONWriter([UInt8](), escaping: .foundation, pretty: true, continuingAt: depth, afterElements: k > 0)
                p.out.reserveCapacity(weights[range].reduce(0, +) * 28)
                for f in findings[range] { p.element(); f.writeJSON(to: &p) }
                return p.out
            }
            for part in parts { part.withUnsafeBufferPointer { w.elements($0) } }
        }
        return w.out
    }

    // MARK: text

    /// The terminal report: errors and warnings first, each said once with its verified fix
    /// commands; info findings summed up in one line per namespace (every finding in full
    /// with `all`); accepted and resolved findings last. Fits 80 columns: sentences are
    /// wrapped, commands continued with " \\". System and input text is escaped.
    public static func text(_ r: Report, color: Bool, all: Bool = false) -> String {
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1b}[\(code)m\(s)\u{1b}[0m" : s }
        func sev(_ s: Severity) -> String {
            switch s {
            case .error: paint("ERROR", "1;31")
            case .warning: paint("WARN ", "33")
            case .info: paint("info ", "36")
            }
        }
        let width = 80, pad = "  "
        var out = wrap("nsaudit — \(r.host.terminalEscaped) at \(r.snapshotTakenAt.terminalEscaped) (\(r.source.terminalEscaped))",
                       first: "", indent: "  ", width: width)
        if let k = r.kernel, k.assumed, let a = KernelFacts.assumed(release: k.release).assumption {
            out += "note: \(a.head)\n      \(a.tail)\n"
        }
        let shown = r.findings.filter { all || ($0.severity >= .warning && Report.counts($0, all: true)) }
        let summed = r.findings.filter { !all && $0.severity == .info && Report.counts($0, all: true) }
        let accepted = r.findings.filter { !all && !Report.counts($0, all: true) }
        let s = r.summary
        var counts = "\(s.namespaces) namespace\(s.namespaces == 1 ? "" : "s"), \(r.namespaces.reduce(0) { $0 + $1.addressesAudited }) addresses: "
        counts += "\(s.errors) errors, \(s.warnings) warnings, \(s.infos) info"
        if !summed.isEmpty { counts += " (--all lists all)" }
        out += wrap(counts, indent: "", width: width)
        if let b = r.baseline {
            let states = Dictionary(grouping: r.findings.compactMap(\.baselineState), by: { $0 }).mapValues(\.count)
            let since = b.generatedAt.map { " of \($0.terminalEscaped)" } ?? " (none yet: every finding is new)"
            out += wrap("baseline \(b.path.terminalEscaped)\(since): \(states[.new] ?? 0) new, \(states[.updated] ?? 0) updated, "
                        + "\(states[.unchanged] ?? 0) unchanged, \(r.resolved?.count ?? 0) resolved", indent: "", width: width)
        }
        if s.modelMismatches > 0 {
            out += paint(wrap("\(s.modelMismatches) MODEL MISMATCH(ES): nsaudit's prediction disagrees with the kernel; its findings may be wrong here.", indent: "", width: width), "1;35")
        }
        for ns in r.namespaces where !ns.errors.isEmpty {
            out += wrap("namespace \(ns.name.terminalEscaped): \(ns.errors.joined(separator: "; ").terminalEscaped)", indent: pad, width: width)
        }
        if r.findings.isEmpty {
            out += "\nNo findings: every audited reply leaves through the interface its request arrived on.\n"
        }
        if !shown.isEmpty { out += "\n" }
        for f in shown {
            var head = "\(sev(f.severity)) \(f.netns.terminalEscaped)  \(f.id)"
            var marks: [String] = []
            if let b = f.baselineState, b != .unchanged { marks.append(b.rawValue) }
            if let a = f.accepted, !a.expired { marks.append("accepted") }
            if f.severity >= .warning, f.details?["ingress_far_side"]?.hasPrefix("unseen") == true { marks.append("far side unseen") }
            let extra = f.evidence.filter { $0 != "model" }
            if !extra.isEmpty { marks.append(extra.joined(separator: ", ")) }
            if f.confirmed == false { marks.append(paint("CONTRADICTED on the wire", "1;35")) }
            if !marks.isEmpty { head += "  " + marks.joined(separator: "; ") }
            out += wrap(head, first: "", indent: pad, width: width)
            out += wrap(f.summary.terminalEscaped, indent: pad, width: width)
            if let a = f.accepted, a.expired {
                out += wrap("its acceptance expired on \(a.expires ?? "?") (\(a.reason.terminalEscaped)): it counts as new", indent: pad, width: width)
            }
            if all {
                if let x = f.services { out += wrap("services: \(x.joined(separator: ", ").terminalEscaped)", indent: pad, width: width) }
                var ev = "evidence: \(f.evidence.joined(separator: ", "))\(f.kernelChecked ? ", checked against the kernel" : "")"
                if let c = f.confirmed { ev += c ? ", confirmed on the wire" : ", CONTRADICTED on the wire" }
                out += wrap(ev, indent: pad, width: width)
                if let far = f.details?["ingress_far_side"], let ing = f.ingress {
                    out += wrap("far side of \(ing.terminalEscaped): \(far.terminalEscaped)", indent: pad, width: width)
                }
                if let since = f.firstSeen { out += wrap("first seen \(since.terminalEscaped)", indent: pad, width: width) }
                if let a = f.accepted { out += wrap("accepted: \(a.reason.terminalEscaped)\(a.expires.map { " (until \($0))" } ?? "")", indent: pad, width: width) }
            }
            let fixes = f.remediation.filter(\.verified)
            for (i, fix) in fixes.enumerated() where all || i == 0 {
                var line = "verified fix (\(fix.kind)"
                if !all && fixes.count > 1 { line += "; --all shows \(fixes.dropFirst().map(\.kind).joined(separator: ", ")) too" }
                out += wrap(line + "):", indent: pad, width: width)
                if all { out += wrap(fix.description.terminalEscaped, indent: pad, width: width) }
                for c in fix.commands { out += command(c.terminalEscaped, indent: pad + "  ", width: width) }
            }
        }
        if !summed.isEmpty {
            if shown.isEmpty { out += "\n" }  // else right after the last finding: one screen
            let byNS = Dictionary(grouping: summed, by: \.netns)
            for ns in byNS.keys.sorted() {
                let kinds = Dictionary(grouping: byNS[ns]!, by: \.kind.rawValue).sorted { $0.key < $1.key }.map { "\($0.value.count) \($0.key)" }
                out += wrap("\(sev(.info)) \(ns.terminalEscaped): \(kinds.joined(separator: ", "))", first: "", indent: pad, width: width)
            }
        }
        if !accepted.isEmpty {
            out += "\n"
            for f in accepted {
                let a = f.accepted!
                out += wrap("accepted \(f.netns.terminalEscaped) \(f.id)\(a.expires.map { " until \($0)" } ?? ""): \(a.reason.terminalEscaped)",
                            first: "", indent: pad, width: width)
            }
        }
        if let resolved = r.resolved, !resolved.isEmpty {
            out += "\n"
            for x in resolved {
                out += wrap("resolved \(x.netns.terminalEscaped) \(x.id)\(x.firstSeen.map { ", first seen \($0.terminalEscaped)" } ?? "")",
                            first: "", indent: pad, width: width)
            }
        }
        return out
    }

    /// `text` wrapped at spaces to `width` columns: the first line starts with `first`
    /// (default `indent`), the others with `indent`.
    static func wrap(_ text: String, first: String? = nil, indent: String, width: Int) -> String {
        var out = "", line = first ?? indent
        var fresh = true
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !fresh && line.count + 1 + word.count > width {
                out += line + "\n"
                line = indent + word
            } else {
                line += (fresh ? "" : " ") + word
            }
            fresh = false
        }
        return out + line + "\n"
    }

    /// A shell command on lines of at most `width` columns, continued with " \\".
    static func command(_ text: String, indent: String, width: Int) -> String {
        var out = "", line = indent
        var fresh = true
        for word in text.split(separator: " ") {
            if !fresh && line.count + 1 + word.count + 2 > width {
                out += line + " \\\n"
                line = indent + "  " + word
            } else {
                line += (fresh ? "" : " ") + word
            }
            fresh = false
        }
        return out + line + "\n"
    }

    // MARK: prometheus

    /// node_exporter textfile collector format (promtool check metrics clean).
    public static func prometheus(_ r: Report) -> String {
        func esc(_ s: String) -> String {
            var o = ""
            for c in s.unicodeScalars {
                switch c {
                case "\\": o += "\\\\"
                case "\"": o += "\\\""
                case "\n": o += "\\n"
                default: o.unicodeScalars.append(c)
                }
            }
            return o
        }
        var out = ""
        /// One gauge family: its HELP and TYPE lines, then (labels, value) samples.
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, value) in samples { out += "\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(value)\n" }
        }
        var counts: [String: Int] = [:]
        for f in r.findings {
            counts["netns=\"\(esc(f.netns))\",kind=\"\(f.kind.rawValue)\",severity=\"\(f.severity.rawValue)\"", default: 0] += 1
        }
        gauge("nsaudit_findings", "Findings of the last nsaudit report by namespace, kind and severity.",
              counts.sorted(by: { $0.key < $1.key }).map { ($0.key, String($0.value)) })
        gauge("nsaudit_findings_by_severity", "Findings of the last report by severity.",
              Severity.allCases.reversed().map { s in ("severity=\"\(s.rawValue)\"", String(r.findings.filter { $0.severity == s }.count)) })
        if r.baseline != nil {
            let new = r.findings.filter { $0.baselineState == .new }
            gauge("nsaudit_findings_new", "Findings of the last report that its baseline (--baseline) did not have, or whose acceptance expired, by severity.",
                  Severity.allCases.reversed().map { s in ("severity=\"\(s.rawValue)\"", String(new.filter { $0.severity == s }.count)) })
            gauge("nsaudit_findings_updated", "Findings of the last report whose severity, sources, routes or fix changed since its baseline.",
                  [("", String(r.findings.filter { $0.baselineState == .updated }.count))])
            gauge("nsaudit_findings_resolved", "Findings of the baseline that the last report no longer has.", [("", String(r.resolved?.count ?? 0))])
        }
        gauge("nsaudit_findings_accepted", "Findings of the last report accepted with --accept (not expired): they never fail the run.",
              [("", String(r.findings.filter { $0.accepted.map { !$0.expired } ?? false }.count))])
        gauge("nsaudit_namespaces_audited", "Namespaces in the last report.", [("", String(r.namespaces.count))])
        gauge("nsaudit_addresses_audited", "Local addresses audited in the last report.",
              [("", String(r.namespaces.reduce(0) { $0 + $1.addressesAudited }))])
        gauge("nsaudit_collection_errors", "Namespaces that could not be collected or audited.", [("", String(r.summary.namespaceErrors))])
        gauge("nsaudit_model_mismatches", "Findings where nsaudit's model disagreed with the kernel.", [("", String(r.summary.modelMismatches))])
        if let d = r.durationSeconds {
            gauge("nsaudit_run_duration_seconds", "Wall time of the last report.", [("", d.fixed(3))])
        }
        let ts = (try? Date(r.generatedAt, strategy: .iso8601))?.timeIntervalSince1970 ?? 0
        gauge("nsaudit_last_run_timestamp_seconds", "When the last report was generated (Unix time).", [("", String(Int(ts)))])
        return out
    }
}

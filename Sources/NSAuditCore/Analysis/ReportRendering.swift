import Foundation

/// Renders a report as JSON, as a terminal report, or as node_exporter textfile metrics.
public enum ReportFormat: String, CaseIterable, Sendable {
    case json, text, prometheus
}

public enum ReportRenderer {
    public static func render(_ r: Report, as format: ReportFormat, color: Bool = false) -> String {
        switch format {
        case .json: json(r)
        case .text: text(r, color: color)
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

    public static func text(_ report: Report, color: Bool) -> String {
        let r = report.terminalEscaped
        func paint(_ s: String, _ code: String) -> String { color ? "\u{1b}[\(code)m\(s)\u{1b}[0m" : s }
        func sev(_ s: Severity) -> String {
            switch s {
            case .error: paint("ERROR", "1;31")
            case .warning: paint("WARN ", "33")
            case .info: paint("info ", "36")
            }
        }
        var out = "nsaudit report — \(r.host), snapshot \(r.snapshotTakenAt) (\(r.source))\n"
        if let k = r.kernel, k.assumed, let a = KernelFacts.assumed(release: k.release).assumption {
            out += "note: \(a.head)\n      \(a.tail)\n"
        }
        out += "\(r.summary.namespaces) namespaces, \(r.namespaces.reduce(0) { $0 + $1.addressesAudited }) addresses audited: "
        out += "\(r.summary.errors) errors, \(r.summary.warnings) warnings, \(r.summary.infos) info\n"
        if r.summary.modelMismatches > 0 {
            out += paint("\(r.summary.modelMismatches) MODEL MISMATCH(ES): nsaudit's prediction disagrees with the kernel; its findings may be wrong here.\n", "1;35")
        }
        for ns in r.namespaces where !ns.errors.isEmpty {
            out += "namespace \(ns.name): \(ns.errors.joined(separator: "; "))\n"
        }
        if r.findings.isEmpty {
            out += "\nNo findings: every audited reply leaves through the interface its request arrived on.\n"
            return out
        }
        let rows = r.findings.map { f in
            [f.netns, f.kind.rawValue, f.localAddress?.description ?? "-", f.ingress ?? "-", f.egress.map { e in f.gateway.map { "\(e) via \($0)" } ?? e } ?? "-"]
        }
        let header = ["NETNS", "KIND", "ADDRESS", "IN", "OUT"]
        let widths = (0..<header.count).map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
        func line(_ cells: [String]) -> String {
            zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        out += "\n      " + line(header) + "\n"
        for (f, row) in zip(r.findings, rows) { out += sev(f.severity) + " " + line(row) + "\n" }
        out += "\n"
        for f in r.findings {
            out += "\(sev(f.severity)) [\(f.id)] \(f.netns): \(f.summary)\n"
            if !f.sources.isEmpty {
                let shown = f.sources.prefix(8).map(\.description).joined(separator: " ")
                let total = f.sourcesTotal ?? f.sources.count
                out += "      sources: \(shown)\(total > 8 ? " … (\(total) prefixes)" : "")\n"
            }
            if let s = f.services { out += "      services: \(s.joined(separator: ", "))\n" }
            out += "      evidence: \(f.evidence.joined(separator: ", "))\(f.kernelChecked ? ", checked against the kernel" : "")"
            if let c = f.confirmed { out += c ? ", confirmed on the wire" : ", CONTRADICTED on the wire" }
            out += "\n"
            for fix in f.remediation {
                out += "      fix (\(fix.kind)\(fix.verified ? ", verified on a copy of the snapshot" : "")): \(fix.description)\n"
                for c in fix.commands { out += "        \(c.terminalEscaped)\n" }
            }
        }
        return out
    }

    // MARK: prometheus

    /// node_exporter textfile collector format (promtool check metrics clean).
    public static func prometheus(_ r: Report) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
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
        gauge("nsaudit_namespaces_audited", "Namespaces in the last report.", [("", String(r.namespaces.count))])
        gauge("nsaudit_addresses_audited", "Local addresses audited in the last report.",
              [("", String(r.namespaces.reduce(0) { $0 + $1.addressesAudited }))])
        gauge("nsaudit_collection_errors", "Namespaces that could not be collected or audited.", [("", String(r.summary.namespaceErrors))])
        gauge("nsaudit_model_mismatches", "Findings where nsaudit's model disagreed with the kernel.", [("", String(r.summary.modelMismatches))])
        if let d = r.durationSeconds {
            gauge("nsaudit_run_duration_seconds", "Wall time of the last report.", [("", String(format: "%.3f", d))])
        }
        let ts = ISO8601DateFormatter().date(from: r.generatedAt)?.timeIntervalSince1970 ?? 0
        gauge("nsaudit_last_run_timestamp_seconds", "When the last report was generated (Unix time).", [("", String(Int(ts)))])
        return out
    }
}

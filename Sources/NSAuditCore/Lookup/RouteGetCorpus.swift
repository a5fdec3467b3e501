import FoundationEssentials

/// The recorded differential corpus: per configuration a snapshot file and a JSON-lines file
/// whose first line is a header and whose other lines are `RouteGetCase`s (query, feature
/// tags, the kernel's answer). Encoding only; the tests do the file I/O.
public enum RouteGetCorpus {
    public struct Header: Codable, Sendable {
        public var namespace: String
        public var description: String
        /// Where the answers come from: "kernel ..." when recorded, or "hand-written from the
        /// kernel's documented behaviour ..." for cases no kernel here can run (VRF).
        public var source: String
        public init(namespace: String, description: String, source: String) {
            self.namespace = namespace; self.description = description; self.source = source
        }
    }

    public static func encode(header: Header, cases: [RouteGetCase]) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var out = Data()
        out.append(try enc.encode(header)); out.append(10)
        for c in cases { out.append(try enc.encode(c)); out.append(10) }
        return out
    }

    public static func decode(_ data: Data) throws -> (Header, [RouteGetCase]) {
        let dec = JSONDecoder()
        var lines = data.split(separator: 10)
        guard !lines.isEmpty else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "empty corpus file")) }
        let header = try dec.decode(Header.self, from: Data(lines.removeFirst()))
        let cases = try lines.filter { !$0.isEmpty }.map { try dec.decode(RouteGetCase.self, from: Data($0)) }
        return (header, cases)
    }
}

/// Agreement counts per feature category, for the differential reports.
public struct AgreementTally: Sendable {
    public private(set) var total = 0
    public private(set) var agreed = 0
    public private(set) var prefsrcAgreed = 0
    var byTag: [String: (agree: Int, total: Int)] = [:]

    public init() {}

    public mutating func add(tags: [String], agree: Bool, prefsrc: Bool) {
        total += 1
        if agree { agreed += 1 }
        if prefsrc { prefsrcAgreed += 1 }
        for t in Set(tags) {
            var v = byTag[t] ?? (0, 0)
            v.total += 1
            if agree { v.agree += 1 }
            byTag[t] = v
        }
    }

    /// Categories of the rule that produced an answer (its selectors and action).
    public static func ruleTags(_ r: Rule) -> [String] {
        var t = ["rule-action:" + RuleAction.name(r.action)]
        if r.src != nil { t.append("rule-sel:from") }
        if r.dst != nil { t.append("rule-sel:to") }
        if r.iif != nil { t.append(r.iif == "lo" ? "rule-sel:iif-lo" : "rule-sel:iif") }
        if r.oif != nil { t.append("rule-sel:oif") }
        if r.fwmark != nil { t.append("rule-sel:fwmark") }
        if r.tos != 0 { t.append("rule-sel:tos") }
        if (r.ipproto ?? 0) != 0 { t.append("rule-sel:ipproto") }
        if r.sport != nil || r.dport != nil { t.append("rule-sel:ports") }
        if r.uidrange != nil { t.append("rule-sel:uidrange") }
        if r.invert { t.append("rule-sel:not") }
        if r.l3mdev { t.append("rule-sel:l3mdev") }
        if (r.suppressPrefixlen ?? -1) >= 0 || (r.suppressIfgroup.map { $0 != UInt32.max } ?? false) { t.append("rule:suppress") }
        return t
    }

    /// Every category of one query: its own tags, the answer's, the model features it used
    /// and the rule that decided it.
    public static func categories(_ m: RouteResult, _ k: KernelAnswer, queryTags: [String], rules: [Rule]) -> [String] {
        var t = queryTags + answerTags(m, k) + m.features
        if let p = m.rule, p != 0 && p != 32766 && p != 32767,
           let r = rules.first(where: { $0.priority == p && $0.family == m.family }) {
            t += ruleTags(r)
        }
        if rules.contains(where: { $0.family == m.family && $0.action == RuleAction.goto }) { t.append("config:goto-rules") }
        return t
    }

    /// Categories from the answers themselves (error kind, route type, multipath...).
    public static func answerTags(_ m: RouteResult, _ k: KernelAnswer) -> [String] {
        var t: [String] = []
        if let e = k.error { t.append("kernel-error:\(e)") } else { t.append("type:\(k.type ?? "unicast")") }
        if !m.multipath.isEmpty { t.append("multipath") }
        if let r = m.rule, r != 0 && r != 32766 && r != 32767 { t.append("policy-rule") }
        if let tb = m.table, tb != Table.main && tb != Table.local { t.append("custom-table") }
        return t
    }

    public func report(title: String) -> String {
        var s = "\(title)\n"
        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "-" : (100.0 * Double(a) / Double(b)).fixed(2) + "%" }
        func row(_ label: String, _ agree: String, _ queries: String, _ rate: String) {
            s += "  \(label.padded(to: 28)) \(agree.padded(to: 8, alignRight: true)) "
                + "\(queries.padded(to: 8, alignRight: true)) \(rate.padded(to: 9, alignRight: true))\n"
        }
        row("category", "agree", "queries", "rate")
        for k in byTag.keys.sorted() {
            let v = byTag[k]!
            row(k, String(v.agree), String(v.total), pct(v.agree, v.total))
        }
        row("ALL (error,type,dev,gateway)", String(agreed), String(total), pct(agreed, total))
        row("prefsrc (informational)", String(prefsrcAgreed), String(total), pct(prefsrcAgreed, total))
        return s
    }
}

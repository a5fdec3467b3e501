/// `trace --batch FILE`: a flow a line, `[netns NAME] ARGS` (ARGS in `ip route get` syntax;
/// without `netns` the flow starts in the default namespace), traced on every core, answers
/// in input order. Empty lines and `#` comments are skipped.
public enum TraceBatch {
    public struct Line: Sendable {
        /// 1-based line number in the file.
        public var number: Int
        public var text: String
        public var result: Result<TraceResult, TraceError>
    }

    /// The flow lines of `input` (number, netns, arguments).
    public static func flows(_ input: String, defaultNetns: String?) -> [(number: Int, text: String, netns: String?, arguments: String)] {
        var out: [(Int, String, String?, String)] = []
        for (i, raw) in input.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw).trimmedASCIIWhitespace
            if line.isEmpty || line.hasPrefix("#") { continue }
            var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            var netns = defaultNetns
            if words.count >= 2 && words[0] == "netns" { netns = words[1]; words.removeFirst(2) }
            out.append((i + 1, line, netns, words.joined(separator: " ")))
        }
        return out
    }

    /// Traces every line, on every core; the models of the namespaces the flows start in are
    /// built first, side by side (the others when a trace enters them).
    public static func run(_ input: String, defaultNetns: String?, context: TraceContext) -> [Line] {
        let lines = flows(input, defaultNetns: defaultNetns)
        context.buildModels(Set(lines.compactMap { l in l.netns.flatMap { context.namespaceIndex($0) }.map { context.snapshot.namespaces[$0].id } }))
        let chunk = max(1, lines.count / (processorCount * 8))
        let pieces = parallelMap((lines.count + chunk - 1) / chunk) { c in
            lines[(c * chunk)..<min(lines.count, (c + 1) * chunk)].map { l -> Line in
                let result: Result<TraceResult, TraceError>
                if let ns = l.netns {
                    result = Result { () throws(TraceError) -> TraceResult in
                        try Trace.run(try TraceFlow.parse(netns: ns, arguments: l.arguments), in: context)
                    }
                } else {
                    result = .failure(.badFlow("no namespace: begin the line with `netns NAME` or give --netns"))
                }
                return Line(number: l.number, text: l.text, result: result)
            }
        }
        return pieces.flatMap { $0 }
    }
}

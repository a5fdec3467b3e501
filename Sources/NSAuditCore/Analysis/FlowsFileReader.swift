import CYaml

/// Reads a flows file (`--flows`) as a stream of libyaml events, one flow at a time.
///
/// Yams, the YAML package nsaudit uses, parses with libyaml but offers only a whole-document
/// node tree (and `YAMLDecoder` on top of it, which resolves every scalar's tag with regular
/// expressions): 200,000 flows took minutes and over 500 MB. libyaml's event API (the CYaml
/// module Yams builds) streams the same parse: each flow is checked and kept as it ends, and
/// nothing else of the document is held. The grammar is the same YAML; what a flow may hold
/// is `FlowIntent`'s fields. Scalars are text: `null`, `~` or nothing (plain) is an absent
/// optional field. Anchors and aliases are supported for scalars and lists of scalars.
struct FlowsFileReader {
    let name: String

    struct Failure: Error { var message: String }

    /// The events' positions are 0-based; messages say line and column from 1.
    static func place(_ path: String, _ mark: yaml_mark_t) -> String {
        "\(path.isEmpty ? "top level" : path) (line \(mark.line + 1), column \(mark.column + 1))"
    }

    /// A value that is not a mapping: a scalar, or a list of scalars.
    enum Value {
        case scalar(String, plain: Bool)
        case list([String])
        case other(String)   // what it was (a mapping, a list of lists)
    }

    static let fields: [String] = ["name", "netns", "clients", "to", "protocol", "port", "ingress", "egress", "transit"]

    func read(_ yaml: String) throws(Failure) -> [FlowIntent] {
        var bytes = Array(yaml.utf8)
        if bytes.isEmpty { throw Failure(message: "the file is empty; expected a mapping with a `flows:` list") }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw Failure(message: "cannot start the YAML parser (out of memory)") }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeMutableBufferPointer { buf throws(Failure) -> [FlowIntent] in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            var stream = Events(parser: &parser)
            // The last event read (the one a failure stopped at, or the stream's end) is
            // still allocated: freed here on every way out (a leak the fuzzer found).
            defer { yaml_event_delete(&stream.event) }
            return try flows(&stream)
        }
    }

    /// The parser's events, with its error as a `Failure`.
    struct Events {
        var parser: UnsafeMutablePointer<yaml_parser_t>
        var event = yaml_event_t()
        var anchors: [String: Value] = [:]

        init(parser: UnsafeMutablePointer<yaml_parser_t>) { self.parser = parser }

        /// The next event (valid until the next call).
        mutating func next() throws(Failure) -> yaml_event_t {
            yaml_event_delete(&event)
            guard yaml_parser_parse(parser, &event) == 1 else {
                let p = parser.pointee
                let problem = p.problem.map { String(cString: $0) } ?? "syntax error"
                var m = "not valid YAML: line \(p.problem_mark.line + 1), column \(p.problem_mark.column + 1): \(problem)"
                if let c = p.context { m += " (\(String(cString: c)) at line \(p.context_mark.line + 1), column \(p.context_mark.column + 1))" }
                throw Failure(message: m)
            }
            return event
        }

        static func text(_ p: UnsafeMutablePointer<yaml_char_t>?, _ n: Int) -> String {
            guard let p else { return "" }
            return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        }

        static func anchor(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
    }

    /// The document: a mapping with one member, `flows`, a list of flow mappings.
    func flows(_ e: inout Events) throws(Failure) -> [FlowIntent] {
        var out: [FlowIntent] = []
        var sawFlows = false
        var ev = try e.next()
        while ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_START_EVENT { ev = try e.next() }
        if ev.type == YAML_STREAM_END_EVENT { throw Failure(message: "the file is empty; expected a mapping with a `flows:` list") }
        guard ev.type == YAML_MAPPING_START_EVENT else {
            throw Failure(message: "expected a mapping at \(Self.place("", ev.start_mark))")
        }
        let top = ev.start_mark
        while true {
            ev = try e.next()
            if ev.type == YAML_MAPPING_END_EVENT { break }
            let keyMark = ev.start_mark
            guard ev.type == YAML_SCALAR_EVENT, Events.text(ev.data.scalar.value, ev.data.scalar.length) == "flows" else {
                throw Failure(message: "unknown field at \(Self.place("", keyMark)) (expected flows)")
            }
            if sawFlows { throw Failure(message: "\"flows\" given twice at \(Self.place("", keyMark))") }
            sawFlows = true
            ev = try e.next()
            guard ev.type == YAML_SEQUENCE_START_EVENT else {
                throw Failure(message: "expected a list at \(Self.place(".flows", ev.start_mark))")
            }
            var i = 0
            while true {
                ev = try e.next()
                if ev.type == YAML_SEQUENCE_END_EVENT { break }
                let path = ".flows[\(i)]", mark = ev.start_mark
                guard ev.type == YAML_MAPPING_START_EVENT else {
                    throw Failure(message: "expected a mapping at \(Self.place(path, mark))")
                }
                let f = try flow(&e, path: path, mark: mark)
                let label = "flow \(i + 1) (\(f.name), line \(mark.line + 1))"
                do { try f.validate(label) { FlowIntentError(file: name, message: $0) } } catch {
                    throw Failure(message: error.message)
                }
                out.append(f)
                i += 1
            }
        }
        guard sawFlows else { throw Failure(message: "missing \"flows\" at \(Self.place("", top))") }
        return out
    }

    /// One flow mapping, its start event consumed.
    func flow(_ e: inout Events, path: String, mark: yaml_mark_t) throws(Failure) -> FlowIntent {
        var values: [String: (Value, yaml_mark_t)] = [:]
        while true {
            var ev = try e.next()
            if ev.type == YAML_MAPPING_END_EVENT { break }
            let keyMark = ev.start_mark
            guard ev.type == YAML_SCALAR_EVENT else {
                throw Failure(message: "expected a field name at \(Self.place(path, keyMark))")
            }
            let key = Events.text(ev.data.scalar.value, ev.data.scalar.length)
            guard Self.fields.contains(key) else {
                throw Failure(message: "unknown field \"\(key.terminalEscaped)\" at \(Self.place(path, keyMark)) (expected \(Self.fields.joined(separator: ", ")))")
            }
            if values[key] != nil { throw Failure(message: "\"\(key)\" given twice at \(Self.place(path, keyMark))") }
            ev = try e.next()
            let at = ev.start_mark
            values[key] = (try value(&e, ev), at)
        }
        func text(_ key: String) throws(Failure) -> String? {
            guard let (v, at) = values[key] else { return nil }
            switch v {
            case .scalar(let s, let plain):
                if plain && (s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL") { return nil }
                return s
            default: throw Failure(message: "expected a string at \(Self.place("\(path).\(key)", at))")
            }
        }
        func required(_ key: String) throws(Failure) -> String {
            guard let t = try text(key) else { throw Failure(message: "missing \"\(key)\" at \(Self.place(path, values[key]?.1 ?? mark))") }
            return t
        }
        guard let (c, cAt) = values["clients"] else { throw Failure(message: "missing \"clients\" at \(Self.place(path, mark))") }
        guard case .list(let clients) = c else { throw Failure(message: "expected a list at \(Self.place("\(path).clients", cAt))") }
        var f = FlowIntent(name: try required("name"), netns: try text("netns"), clients: clients, to: try required("to"),
                           protocol: try text("protocol"), ingress: try required("ingress"), egress: try text("egress"))
        if let p = try text("port") {
            guard let v = UInt16(p) else { throw Failure(message: "expected a port number (0 to 65535) at \(Self.place("\(path).port", values["port"]!.1))") }
            f.port = v
        }
        if let t = try text("transit") {
            switch t {
            case "true", "True", "TRUE": f.transit = true
            case "false", "False", "FALSE": f.transit = false
            default: throw Failure(message: "expected true or false at \(Self.place("\(path).transit", values["transit"]!.1))")
            }
        }
        return f
    }

    /// The value starting at event `ev`: a scalar, a list of scalars, an alias of one;
    /// anything else is consumed and reported as `.other`.
    func value(_ e: inout Events, _ first: yaml_event_t) throws(Failure) -> Value {
        var ev = first
        switch ev.type {
        case YAML_SCALAR_EVENT:
            let v = Value.scalar(Events.text(ev.data.scalar.value, ev.data.scalar.length), plain: ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
            if let a = Events.anchor(ev.data.scalar.anchor) { e.anchors[a] = v }
            return v
        case YAML_ALIAS_EVENT:
            let a = Events.anchor(ev.data.alias.anchor) ?? ""
            guard let v = e.anchors[a] else { throw Failure(message: "unknown alias *\(a) at line \(ev.start_mark.line + 1), column \(ev.start_mark.column + 1)") }
            return v
        case YAML_SEQUENCE_START_EVENT:
            let anchor = Events.anchor(ev.data.sequence_start.anchor)
            var items: [String] = []
            var nested = false
            while true {
                ev = try e.next()
                if ev.type == YAML_SEQUENCE_END_EVENT { break }
                switch try value(&e, ev) {
                case .scalar(let s, _): items.append(s)
                default: nested = true
                }
            }
            let v: Value = nested ? .other("a list of lists") : .list(items)
            if let anchor { e.anchors[anchor] = v }
            return v
        case YAML_MAPPING_START_EVENT:
            var depth = 1
            while depth > 0 {
                ev = try e.next()
                if ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT { depth += 1 }
                if ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT { depth -= 1 }
            }
            return .other("a mapping")
        default:
            return .other("an unexpected event")
        }
    }
}

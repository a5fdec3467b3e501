/// Reads a flows file (`--flows`) as a stream, one flow at a time (`YAMLReader`): each flow
/// is read as a node, checked and kept as a `FlowIntent`; nothing else of the document is
/// held. (A whole-document tree with every scalar's tag resolved, as a YAML decoder builds,
/// took minutes and over 500 MB for 200,000 flows.) What a flow may hold is `FlowIntent`'s
/// fields. Scalars are text: `null`, `~` or nothing (plain) is an absent optional field.
/// Anchors and aliases are supported.
struct FlowsFileReader {
    let name: String

    struct Failure: Error { var message: String }

    static func place(_ path: String, _ mark: YAMLMark) -> String {
        "\(path.isEmpty ? "top level" : path) (\(mark))"
    }

    static let fields: [String] = ["name", "netns", "clients", "to", "protocol", "port", "ingress", "egress", "transit"]

    func read(_ yaml: String) throws(Failure) -> [FlowIntent] {
        do {
            return try flows(try YAMLReader(yaml))
        } catch let e as Failure {
            throw e
        } catch {
            throw Failure(message: "\(error)")   // YAMLError: "not valid YAML: line L, column C: ..."
        }
    }

    /// The document: a mapping with one member, `flows`, a list of flow mappings. Throws a
    /// `Failure` for the file's shape, a `YAMLError` for its syntax.
    func flows(_ r: YAMLReader) throws -> [FlowIntent] {
        var out: [FlowIntent] = []
        var sawFlows = false
        guard let (first, top) = try r.documentStart() else {
            throw Failure(message: "the file is empty; expected a mapping with a `flows:` list")
        }
        guard case .mappingStart = first else { throw Failure(message: "expected a mapping at \(Self.place("", top))") }
        while true {
            var (ev, at) = try r.next()
            if ev == .mappingEnd { break }
            guard case .scalar("flows", _, _) = ev else {
                throw Failure(message: "unknown field at \(Self.place("", at)) (expected flows)")
            }
            if sawFlows { throw Failure(message: "\"flows\" given twice at \(Self.place("", at))") }
            sawFlows = true
            (ev, at) = try r.next()
            guard case .sequenceStart = ev else { throw Failure(message: "expected a list at \(Self.place(".flows", at))") }
            var i = 0
            while true {
                (ev, at) = try r.next()
                if ev == .sequenceEnd { break }
                guard case .mappingStart = ev else { throw Failure(message: "expected a mapping at \(Self.place(".flows[\(i)]", at))") }
                let f = try flow(try r.node(startingWith: ev, at: at), index: i)
                do { try f.validate({ "flow \(i + 1) (\(f.name), line \(at.line))" }) { FlowIntentError(file: name, message: $0) } } catch {
                    throw Failure(message: error.message)
                }
                out.append(f)
                i += 1
            }
        }
        guard sawFlows else { throw Failure(message: "missing \"flows\" at \(Self.place("", top))") }
        try r.documentEnd()
        return out
    }

    /// One flow: a mapping of `fields`.
    func flow(_ node: YAMLNode, index: Int) throws(Failure) -> FlowIntent {
        var path: String { ".flows[\(index)]" }
        guard case .mapping(let pairs) = node.value else { throw Failure(message: "expected a mapping at \(Self.place(path, node.mark))") }
        // the values by field, in the order of `fields` (a few fields: no hashing)
        var slots = [YAMLNode?](repeating: nil, count: Self.fields.count)
        for (k, v) in pairs {
            guard let key = k.scalar else { throw Failure(message: "expected a field name at \(Self.place(path, k.mark))") }
            guard let slot = Self.fields.firstIndex(of: key) else {
                throw Failure(message: "unknown field \"\(key.terminalEscaped)\" at \(Self.place(path, k.mark)) (expected \(Self.fields.joined(separator: ", ")))")
            }
            if slots[slot] != nil { throw Failure(message: "\"\(key)\" given twice at \(Self.place(path, k.mark))") }
            slots[slot] = v
        }
        func value(_ key: String) -> YAMLNode? { Self.fields.firstIndex(of: key).flatMap { slots[$0] } }
        func text(_ key: String) throws(Failure) -> String? {
            guard let v = value(key), !v.isNull else { return nil }
            guard let s = v.scalar else { throw Failure(message: "expected a string at \(Self.place("\(path).\(key)", v.mark))") }
            return s
        }
        func required(_ key: String) throws(Failure) -> String {
            guard let t = try text(key) else { throw Failure(message: "missing \"\(key)\" at \(Self.place(path, value(key)?.mark ?? node.mark))") }
            return t
        }
        guard let c = value("clients") else { throw Failure(message: "missing \"clients\" at \(Self.place(path, node.mark))") }
        guard let clients = c.scalars else {
            throw Failure(message: "expected a list at \(Self.place("\(path).clients", c.mark))")
        }
        var f = FlowIntent(name: try required("name"), netns: try text("netns"), clients: clients, to: try required("to"),
                           protocol: try text("protocol"), ingress: try required("ingress"), egress: try text("egress"))
        if let p = try text("port") {
            guard let v = UInt16(p) else { throw Failure(message: "expected a port number (0 to 65535) at \(Self.place("\(path).port", value("port")!.mark))") }
            f.port = v
        }
        if let t = try text("transit") {
            switch t {
            case "true", "True", "TRUE": f.transit = true
            case "false", "False", "FALSE": f.transit = false
            default: throw Failure(message: "expected true or false at \(Self.place("\(path).transit", value("transit")!.mark))")
            }
        }
        return f
    }
}

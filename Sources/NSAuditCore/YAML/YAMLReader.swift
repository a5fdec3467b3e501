import CYAML

/// A place in a YAML text, line and column counted from 1 (libyaml counts from 0).
public struct YAMLMark: Sendable, Equatable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) { self.line = line; self.column = column }
    init(_ m: yaml_mark_t) { line = Int(m.line) + 1; column = Int(m.column) + 1 }

    public var description: String { "line \(line), column \(column)" }
}

/// A node of a YAML document: scalars are the text as written (no tags are resolved: `plain`
/// tells an unquoted `null`, `~` or empty value from a quoted one), lists and mappings in file
/// order (a mapping may repeat a key: the reader of the document decides), each node with
/// where it starts. An alias is the node its anchor names, at the alias's place.
public struct YAMLNode: Sendable {
    public enum Value: Sendable {
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([(key: YAMLNode, value: YAMLNode)])
    }

    public var value: Value
    public var mark: YAMLMark

    /// The text of a scalar; nil for a list or a mapping.
    public var scalar: String? {
        if case .scalar(let s, _) = value { return s }
        return nil
    }

    /// The texts of a list of scalars; nil for anything else.
    public var scalars: [String]? {
        guard case .sequence(let items) = value else { return nil }
        var out: [String] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let s = item.scalar else { return nil }
            out.append(s)
        }
        return out
    }

    /// An unquoted `null`, `Null`, `NULL`, `~` or nothing: YAML's null.
    public var isNull: Bool {
        guard case .scalar(let s, true) = value else { return false }
        return s.isEmpty || s == "~" || s == "null" || s == "Null" || s == "NULL"
    }
}

/// A YAML text that cannot be read: libyaml's own words for a syntax error (and where it
/// noticed it, and the construct it was in), an alias of no anchor, a second document, or
/// nesting beyond `YAMLReader.maxDepth`.
public struct YAMLError: Error, CustomStringConvertible {
    public var problem: String
    public var mark: YAMLMark
    public var context: (text: String, mark: YAMLMark)?

    /// `problem` with the construct it was found in, without the place.
    public var detail: String { problem + (context.map { " (\($0.text) at \($0.mark))" } ?? "") }

    /// One line: "not valid YAML: line 4, column 1: did not find expected ',' or ']' (while
    /// parsing a flow sequence at line 3, column 14)".
    public var description: String { "not valid YAML: \(mark): \(detail)" }
}

/// One event of libyaml's parse (its event API), the text of scalars, anchors and aliases as
/// Swift strings.
public enum YAMLEvent: Sendable, Equatable {
    case streamStart, streamEnd, documentStart, documentEnd
    case scalar(String, plain: Bool, anchor: String?)
    case alias(String)
    case sequenceStart(anchor: String?)
    case sequenceEnd
    case mappingStart(anchor: String?)
    case mappingEnd
}

/// nsaudit's YAML reader (`--accept` and `--flows` files), over libyaml's event API: `next()`
/// streams the parse one event at a time, `node(startingWith:at:)` reads the value an event
/// starts as a node tree, `document()` the whole (single) document. A flows file is read
/// flow by flow (each flow a node, then dropped); an accept file as one tree.
///
/// libyaml is the distribution's (libyaml-dev), linked statically into nsaudit (Package.swift).
public final class YAMLReader {
    /// Lists and mappings nested deeper than this are refused (the tree's code would
    /// otherwise recurse as deep as a hostile file nests).
    public static let maxDepth = 256

    private var parser = yaml_parser_t()
    private var event = yaml_event_t()
    private let input: UnsafeMutableBufferPointer<UInt8>
    private var anchors: [String: YAMLNode] = [:]

    /// A reader of `text` (copied: libyaml reads from a buffer that must outlive it).
    public init(_ text: String) throws(YAMLError) {
        input = .allocate(capacity: text.utf8.count)
        _ = input.initialize(from: text.utf8)
        guard yaml_parser_initialize(&parser) == 1 else {
            input.deallocate()
            throw YAMLError(problem: "cannot start the YAML parser (out of memory)", mark: YAMLMark(line: 1, column: 1))
        }
        yaml_parser_set_input_string(&parser, input.baseAddress, input.count)
    }

    deinit {
        // The last event parsed is still allocated (also when a failure stopped the read).
        yaml_event_delete(&event)
        yaml_parser_delete(&parser)
        input.deallocate()
    }

    /// The next event and where it starts.
    public func next() throws(YAMLError) -> (event: YAMLEvent, mark: YAMLMark) {
        yaml_event_delete(&event)
        guard yaml_parser_parse(&parser, &event) == 1 else {
            var e = YAMLError(problem: parser.problem.map { String(cString: $0) } ?? "syntax error", mark: YAMLMark(parser.problem_mark))
            if let c = parser.context { e.context = (String(cString: c), YAMLMark(parser.context_mark)) }
            throw e
        }
        let mark = YAMLMark(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT: return (.streamStart, mark)
        case YAML_STREAM_END_EVENT: return (.streamEnd, mark)
        case YAML_DOCUMENT_START_EVENT: return (.documentStart, mark)
        case YAML_DOCUMENT_END_EVENT: return (.documentEnd, mark)
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            return (.scalar(text, plain: s.style == YAML_PLAIN_SCALAR_STYLE, anchor: Self.string(s.anchor)), mark)
        case YAML_ALIAS_EVENT: return (.alias(Self.string(event.data.alias.anchor) ?? ""), mark)
        case YAML_SEQUENCE_START_EVENT: return (.sequenceStart(anchor: Self.string(event.data.sequence_start.anchor)), mark)
        case YAML_SEQUENCE_END_EVENT: return (.sequenceEnd, mark)
        case YAML_MAPPING_START_EVENT: return (.mappingStart(anchor: Self.string(event.data.mapping_start.anchor)), mark)
        case YAML_MAPPING_END_EVENT: return (.mappingEnd, mark)
        default: throw YAMLError(problem: "the parser returned no event", mark: mark)
        }
    }

    private static func string(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
    }

    /// The value that `first` (just read, at `mark`) starts, read to its end: a scalar, an
    /// alias's node, or a whole list or mapping. Anchors are remembered for later aliases.
    public func node(startingWith first: YAMLEvent, at mark: YAMLMark) throws(YAMLError) -> YAMLNode {
        // The lists and mappings open around the current event (no recursion: a hostile file
        // nests as deep as it likes until maxDepth).
        var open: [(mark: YAMLMark, anchor: String?, mapping: Bool, items: [YAMLNode])] = []
        var (ev, at) = (first, mark)
        while true {
            var done: YAMLNode
            switch ev {
            case .scalar(let text, let plain, let anchor):
                done = YAMLNode(value: .scalar(text, plain: plain), mark: at)
                if let anchor { anchors[anchor] = done }
            case .alias(let name):
                guard let target = anchors[name] else { throw YAMLError(problem: "unknown alias *\(name)", mark: at) }
                done = target
                done.mark = at
            case .sequenceStart(let anchor), .mappingStart(let anchor):
                guard open.count < Self.maxDepth else {
                    throw YAMLError(problem: "lists and mappings nested more than \(Self.maxDepth) deep", mark: at)
                }
                if case .mappingStart = ev { open.append((at, anchor, true, [])) } else { open.append((at, anchor, false, [])) }
                (ev, at) = try next()
                continue
            case .sequenceEnd, .mappingEnd:
                let c = open.removeLast()
                if c.mapping {
                    let pairs = stride(from: 0, to: c.items.count - 1, by: 2).map { (key: c.items[$0], value: c.items[$0 + 1]) }
                    done = YAMLNode(value: .mapping(pairs), mark: c.mark)
                } else {
                    done = YAMLNode(value: .sequence(c.items), mark: c.mark)
                }
                if let anchor = c.anchor { anchors[anchor] = done }
            case .streamStart, .streamEnd, .documentStart, .documentEnd:
                throw YAMLError(problem: "expected a value", mark: at)
            }
            if open.isEmpty { return done }
            open[open.count - 1].items.append(done)
            (ev, at) = try next()
        }
    }

    /// The first event of the stream's document (stream and document start read); nil when
    /// the stream holds no document.
    public func documentStart() throws(YAMLError) -> (event: YAMLEvent, mark: YAMLMark)? {
        var (ev, at) = try next()
        while ev == .streamStart || ev == .documentStart { (ev, at) = try next() }
        return ev == .streamEnd ? nil : (ev, at)
    }

    /// After the document's root value: its end, then the stream's (a second document is an
    /// error: nsaudit's files are one document each).
    public func documentEnd() throws(YAMLError) {
        var (ev, at) = try next()
        if ev == .documentEnd { (ev, at) = try next() }
        guard ev == .streamEnd else { throw YAMLError(problem: "expected a single document in the stream", mark: at) }
    }

    /// The stream's document as a node tree; nil for an empty stream (nothing, or only
    /// comments).
    public func document() throws(YAMLError) -> YAMLNode? {
        guard let (ev, at) = try documentStart() else { return nil }
        let root = try node(startingWith: ev, at: at)
        try documentEnd()
        return root
    }
}

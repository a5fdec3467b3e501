/// How a JSON writer escapes the bytes of a string. `"` and `\` are always escaped; control
/// characters as the style says; every other byte (UTF-8 included) is written as it is.
struct JSONEscaping: Sendable, Equatable {
    /// Control characters written as a backslash and a letter (bit n: character n; only
    /// \b \t \n \f \r have letters).
    let letters: UInt32
    /// The other control characters as they are (iproute2) rather than as `\u00XX`.
    let rawControls: Bool

    private static let b: UInt32 = 1 << 8, t: UInt32 = 1 << 9, n: UInt32 = 1 << 10, f: UInt32 = 1 << 12, r: UInt32 = 1 << 13

    /// Every control character as `\u00XX` (the snapshot).
    static let unicode = JSONEscaping(letters: 0, rawControls: false)
    /// `\t \n \r`, the other control characters as `\u00XX` (route-get's own JSON).
    static let common = JSONEscaping(letters: t | n | r, rawControls: false)
    /// `\b \t \n \f \r`, the other control characters as `\u00XX`: what JSONEncoder writes
    /// (with `.withoutEscapingSlashes`).
    static let foundation = JSONEscaping(letters: b | t | n | f | r, rawControls: false)
    /// iproute2's json_writer (`ip -j`): `\b \t \n \f \r`, every other byte as it is.
    static let iproute2 = JSONEscaping(letters: b | t | n | f | r, rawControls: true)

    /// The letter of an escaped control character.
    @inline(__always) static func letter(_ c: UInt8) -> UInt8 {
        switch c {
        case 8: UInt8(ascii: "b")
        case 9: UInt8(ascii: "t")
        case 10: UInt8(ascii: "n")
        case 12: UInt8(ascii: "f")
        default: UInt8(ascii: "r")
        }
    }
}

/// The one JSON writer: JSON into a `ByteSink`, for the snapshot (`SnapshotWriter`, into a
/// chunked `ByteBuffer`), route-get's answers (`RouteGetFormat`, `ip -j` in `IPRouteText`,
/// into `[UInt8]`), the report (`ReportRenderer.json`, pretty, into `[UInt8]`) and whoever
/// else writes JSON by hand.
///
/// Compact (no whitespace), or with `pretty` laid out as JSONEncoder's `.prettyPrinted` lays
/// it out (two spaces a level, `"name" : value`, empty containers as `[`, a blank line, `]`).
/// Containers keep a separator state as a bit stack (bit `d` of `hasElement`: the container
/// at depth `d` has an element), so `key` and `element` put the commas (and the line breaks);
/// compact hot paths that write a fixed sequence of members may instead write `rawKey`,
/// `nextKey` and `raw` separators themselves. Strings are escaped as `escaping` says
/// (`.foundation` with `pretty` writes what JSONEncoder writes with `.withoutEscapingSlashes`);
/// integers, addresses and prefixes are formatted straight into the output (no Strings built).
struct JSONWriter<Out: ByteSink> {
    var out: Out
    var escaping: JSONEscaping
    let pretty: Bool
    private(set) var depth = 0
    private var hasElement: UInt64 = 0

    init(_ out: Out, escaping: JSONEscaping, pretty: Bool = false) {
        self.out = out
        self.escaping = escaping
        self.pretty = pretty
    }

    /// A writer of elements for a container `depth` levels deep that another writer has open
    /// (pieces of a big array written on several cores): what it writes is appended there
    /// with `elements(_:)`, in order. `afterElements`: the container already has elements
    /// (the first element written here starts with a comma).
    init(_ out: Out, escaping: JSONEscaping, pretty: Bool = false, continuingAt depth: Int, afterElements: Bool) {
        precondition(depth > 0 && depth < 64, "JSON nesting too deep")
        self.init(out, escaping: escaping, pretty: pretty)
        self.depth = depth
        if afterElements { hasElement = 1 << UInt64(depth) }
    }

    // MARK: containers

    @inline(__always) private mutating func push() {
        depth += 1
        precondition(depth < 64, "JSON nesting too deep")
        hasElement &= ~(1 << UInt64(depth))
    }
    @inline(__always) mutating func beginObject() { out.write(UInt8(ascii: "{")); push() }
    @inline(__always) mutating func endObject() { close(); out.write(UInt8(ascii: "}")) }
    @inline(__always) mutating func beginArray() { out.write(UInt8(ascii: "[")); push() }
    @inline(__always) mutating func endArray() { close(); out.write(UInt8(ascii: "]")) }

    @inline(__always) private mutating func close() {
        if pretty {
            if hasElement & (1 << UInt64(depth)) == 0 { out.write(10) }
            newline(depth - 1)
        }
        depth -= 1
    }

    /// A line break and the indentation of `level`.
    private mutating func newline(_ level: Int) {
        out.write(10)
        for _ in 0..<level { out.write(StaticString("  ")) }
    }

    /// The separator before an array element or object member (none before the first).
    @inline(__always) mutating func element() {
        let bit: UInt64 = 1 << UInt64(depth)
        if hasElement & bit != 0 { out.write(UInt8(ascii: ",")) } else { hasElement |= bit }
        if pretty { newline(depth) }
    }

    /// What follows a member name.
    @inline(__always) private mutating func colon() {
        if pretty { out.write(StaticString(" : ")) } else { out.write(UInt8(ascii: ":")) }
    }

    /// A member name: the separator, `"name":`. Names known in code are plain ASCII (no
    /// escaping).
    @inline(__always) mutating func key(_ name: StaticString) {
        element(); out.write(UInt8(ascii: "\"")); out.write(name); out.write(UInt8(ascii: "\"")); colon()
    }
    @inline(__always) mutating func key<K: CodingKey>(_ name: K) {
        element(); out.write(UInt8(ascii: "\"")); out.write(utf8: name.stringValue); out.write(UInt8(ascii: "\"")); colon()
    }
    /// A member name encoded once (the snapshot model's CodingKeys): copied, no String made.
    @inline(__always) mutating func key<K: EncodedCodingKey>(_ name: K) {
        element()
        let q = K.fields.quoted(name)
        if pretty { out.write(UnsafeBufferPointer(rebasing: q.dropLast())); colon() } else { out.write(q) }
    }
    /// A member name from data (escaped like any string).
    mutating func key(escaping name: String) {
        element()
        string(name)
        colon()
    }

    /// `"name":` without a separator (compact only).
    @inline(__always) mutating func rawKey(_ name: StaticString) {
        out.write(UInt8(ascii: "\"")); out.write(name); out.write(StaticString("\":"))
    }
    @inline(__always) mutating func rawKey<K: EncodedCodingKey>(_ name: K) { out.write(K.fields.quoted(name)) }
    /// `,"name":` without separator bookkeeping (a member after others, in a fixed sequence).
    @inline(__always) mutating func nextKey<K: EncodedCodingKey>(_ name: K) { out.write(K.fields.separated(name)) }

    /// Elements of the open container, written by a writer `continuingAt` its depth (with
    /// `afterElements` true unless the container had none before them).
    @inline(__always) mutating func elements(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !bytes.isEmpty else { return }
        out.write(bytes)
        hasElement |= 1 << UInt64(depth)
    }

    /// Bytes as they are (fragments of JSON).
    @inline(__always) mutating func raw(_ s: StaticString) { out.write(s) }
    @inline(__always) mutating func raw(_ bytes: UnsafeBufferPointer<UInt8>) { out.write(bytes) }

    // MARK: values

    @inline(__always) mutating func null() { out.write(StaticString("null")) }
    @inline(__always) mutating func bool(_ b: Bool) { out.write(b ? StaticString("true") : StaticString("false")) }
    @inline(__always) mutating func int<T: BinaryInteger>(_ v: T) { out.write(decimal: v) }

    /// A finite number as JSONEncoder writes it: the shortest text that reads back as the
    /// same Double (Swift's `description`), without a trailing `.0` (`4`, `0.123`, `1.5e-07`,
    /// `1e+16`, `-0`). JSON has no NaN or infinity (JSONEncoder throws): those are `null`.
    mutating func double(_ v: Double) {
        guard v.isFinite else { null(); return }
        var s = v.description
        if s.hasSuffix(".0") { s.removeLast(2) }
        out.write(utf8: s)
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string($0) }
    }

    /// A string from UTF-8 bytes.
    @inline(__always) mutating func string(_ bytes: UnsafeBufferPointer<UInt8>) {
        out.write(UInt8(ascii: "\""))
        var clean = true
        for c in bytes where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") { clean = false; break }
        if clean { out.write(bytes) } else { escaped(bytes) }
        out.write(UInt8(ascii: "\""))
    }

    /// A string written by `body` straight into the output, which must need no escaping
    /// (names, addresses, numbers).
    @inline(__always) mutating func plainString(_ body: (inout Out) -> Void) {
        out.write(UInt8(ascii: "\""))
        body(&out)
        out.write(UInt8(ascii: "\""))
    }

    @inline(never) private mutating func escaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        let hex = Digits.hexDigits.utf8Start
        for c in bytes {
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.write(92); out.write(c)
            case 0..<0x20:
                if escaping.letters & (1 << UInt32(c)) != 0 {
                    out.write(92); out.write(JSONEscaping.letter(c))
                } else if escaping.rawControls {
                    out.write(c)
                } else {
                    out.write(StaticString("\\u00")); out.write(hex[Int(c >> 4)]); out.write(hex[Int(c & 15)])
                }
            default: out.write(c)
            }
        }
    }

    /// The address's text, quoted.
    @inline(__always) mutating func address(_ a: IPAddress) {
        out.write(UInt8(ascii: "\"")); out.write(a); out.write(UInt8(ascii: "\""))
    }
    /// ADDRESS/LENGTH, quoted.
    @inline(__always) mutating func prefix(_ p: IPPrefix) {
        out.write(UInt8(ascii: "\"")); out.write(p); out.write(UInt8(ascii: "\""))
    }

    // The value or null.
    @inline(__always) mutating func string(orNull s: String?) { if let s { string(s) } else { null() } }
    @inline(__always) mutating func int<T: BinaryInteger>(orNull v: T?) { if let v { int(v) } else { null() } }
    @inline(__always) mutating func address(orNull a: IPAddress?) { if let a { address(a) } else { null() } }
}

extension JSONWriter {
    /// Writes JSON at the end of `bytes`.
    @inline(__always)
    static func append(to bytes: inout Out, escaping: JSONEscaping, _ body: (inout JSONWriter) -> Void) {
        bytes.withJSONWriter(escaping: escaping, body)
    }
}

extension JSONWriter where Out == [UInt8] {

    /// One JSON document as a String.
    static func text(escaping: JSONEscaping, pretty: Bool = false, _ body: (inout JSONWriter) -> Void) -> String {
        var w = JSONWriter([], escaping: escaping, pretty: pretty)
        body(&w)
        return String(decoding: w.out, as: UTF8.self)
    }
}

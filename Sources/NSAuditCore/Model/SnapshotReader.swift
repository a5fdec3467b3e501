import FoundationEssentials

/// Why a snapshot could not be read. Each message names the file and what to do.
public enum SnapshotError: Error, CustomStringConvertible, Equatable {
    case notJSON(String, detail: String)
    case truncated(String)
    case wrongSchema(String, found: String)
    case invalid(String, detail: String)

    public var description: String {
        switch self {
        case .notJSON(let f, let d):
            "\(f): not a JSON snapshot (\(d)); create one with `nsaudit snapshot -o FILE`"
        case .truncated(let f):
            "\(f): snapshot is truncated (the JSON ends early); record it again with `nsaudit snapshot -o FILE`"
        case .wrongSchema(let f, let s):
            "\(f): snapshot schema is \"\(s)\", this nsaudit reads \"\(Snapshot.schemaVersion)\"; record it again with this version"
        case .invalid(let f, let d):
            "\(f): invalid snapshot: \(d)"
        }
    }
}

public enum SnapshotReader {
    /// Decodes a snapshot, checking the schema version before the body so that an old or
    /// foreign file gets a schema error rather than a field-by-field complaint.
    ///
    /// Uses `SnapshotDecoder` (a byte-level reader, ~30x faster than `JSONDecoder` on a
    /// million-route snapshot). Errors rank as before: a syntax error (truncated / not JSON)
    /// first, then a missing or other schema, then the first field that does not fit, with
    /// its path. Valid JSON the fast reader does not handle itself (see `SnapshotDecoder`)
    /// goes to `decodeWithFoundation`.
    public static func decode(_ data: Data, name: String) throws -> Snapshot {
        try checked(try decode(data, name: name, fallback: true), name: name)
    }

    /// `decode` of a file's bytes as read: the fast reader works on them in place (no copy
    /// into `Data`: 0.1 s for a million routes); only a file it cannot read whole goes the
    /// way of `decode(_ data: Data, ...)` for the fallback and the ranking of errors.
    public static func decode(_ bytes: [UInt8], name: String) throws -> Snapshot {
        let fast: Snapshot? = bytes.withUnsafeBytes { raw in
            do throws(SnapshotDecoder.Failure) { return try SnapshotDecoder.decode(raw) } catch { return nil }
        }
        if let snap = fast, snap.schema == Snapshot.schemaVersion { return try checked(snap, name: name) }
        return try decode(Data(bytes), name: name)
    }

    /// `snapshot` if it passes `Snapshot.validationProblem`, else `.invalid` naming the field.
    static func checked(_ snapshot: Snapshot, name: String) throws -> Snapshot {
        if let (path, detail) = snapshot.validationProblem() { throw SnapshotError.invalid(name, detail: "at \(path): \(detail)") }
        return snapshot
    }

    /// `decode` without the `JSONDecoder` fallback (for tests: proves the fast reader handled
    /// a file). Valid JSON it does not handle throws `.invalid` with "fast reader does not handle".
    @_spi(Testing) public static func decodeWithoutFallback(_ data: Data, name: String) throws -> Snapshot {
        try checked(try decode(data, name: name, fallback: false), name: name)
    }

    static func decode(_ data: Data, name: String, fallback: Bool) throws -> Snapshot {
        let foundation = { (why: String) throws -> Snapshot in
            guard fallback else { throw SnapshotError.invalid(name, detail: "fast reader does not handle: \(why)") }
            return try decodeWithFoundation(data, name: name)
        }
        let result: Result<Snapshot, SnapshotDecoder.Failure> = data.withUnsafeBytes { raw in
            do throws(SnapshotDecoder.Failure) { return .success(try SnapshotDecoder.decode(raw)) } catch {
                return .failure(error)
            }
        }
        switch result {
        case .success(let snap):
            guard snap.schema == Snapshot.schemaVersion else { throw SnapshotError.wrongSchema(name, found: snap.schema) }
            return snap
        case .failure(.unsupported(let why)):
            return try foundation(why)
        case .failure(.syntax):
            throw syntaxError(data, name: name)
        case .failure(.field(let path, let detail)):
            // Rank the errors as JSONDecoder did: the whole document's syntax, then the schema.
            let header: Result<String?, SnapshotDecoder.Failure> = data.withUnsafeBytes { raw in
                do throws(SnapshotDecoder.Failure) { return .success(try SnapshotDecoder.schema(raw)) } catch {
                    return .failure(error)
                }
            }
            switch header {
            case .failure(.syntax): throw syntaxError(data, name: name)
            case .failure(.unsupported(let why)): return try foundation(why)
            case .failure(.field(let hp, let hd)):
                let where_ = SnapshotDecoder.Failure.render(hp)
                throw SnapshotError.invalid(name, detail: "at \(where_.isEmpty ? "top level" : where_): \(hd)")
            case .success(nil):
                throw SnapshotError.invalid(name, detail: "no \"schema\" field; is this an nsaudit snapshot?")
            case .success(let schema?) where schema != Snapshot.schemaVersion:
                throw SnapshotError.wrongSchema(name, found: schema)
            case .success:
                let where_ = SnapshotDecoder.Failure.render(path)
                throw SnapshotError.invalid(name, detail: "at \(where_.isEmpty ? "top level" : where_): \(detail)")
            }
        }
    }

    static func syntaxError(_ data: Data, name: String) -> SnapshotError {
        if looksTruncated(data) { return .truncated(name) }
        return .notJSON(name, detail: data.isEmpty ? "the file is empty" : "syntax error")
    }

    /// The reference reader: Foundation's `JSONDecoder` over the model's `Codable`
    /// conformance (40–90 s for a million routes). `decode` falls back to it for valid JSON
    /// the fast reader does not handle; tests compare both readers on every fixture.
    public static func decodeWithFoundation(_ data: Data, name: String) throws -> Snapshot {
        struct Header: Decodable { var schema: String? }
        let dec = JSONDecoder()
        let header: Header
        do {
            header = try dec.decode(Header.self, from: data)
        } catch let e as DecodingError {
            throw classify(e, data: data, name: name)
        }
        guard let schema = header.schema else {
            throw SnapshotError.invalid(name, detail: "no \"schema\" field; is this an nsaudit snapshot?")
        }
        guard schema == Snapshot.schemaVersion else { throw SnapshotError.wrongSchema(name, found: schema) }
        do {
            return try checked(try dec.decode(Snapshot.self, from: data), name: name)
        } catch let e as DecodingError {
            throw classify(e, data: data, name: name)
        }
    }

    static func classify(_ e: DecodingError, data: Data, name: String) -> SnapshotError {
        switch e {
        case .dataCorrupted(let ctx) where ctx.codingPath.isEmpty:
            if looksTruncated(data) { return .truncated(name) }
            return .notJSON(name, detail: data.isEmpty ? "the file is empty" : "syntax error")
        case .dataCorrupted(let ctx), .keyNotFound(_, let ctx), .typeMismatch(_, let ctx), .valueNotFound(_, let ctx):
            let path = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            var what = ctx.debugDescription
            if case .keyNotFound(let k, _) = e { what = "missing field \"\(k.stringValue)\"" }
            return .invalid(name, detail: "at \(path.isEmpty ? "top level" : path): \(what)")
        @unknown default:
            return .invalid(name, detail: "\(e)")
        }
    }

    /// A JSON document that starts like an object but whose brackets never close.
    static func looksTruncated(_ data: Data) -> Bool {
        var depth = 0, inString = false, escaped = false, sawOpen = false
        for b in data {
            if inString {
                if escaped { escaped = false } else if b == 92 { escaped = true } else if b == 34 { inString = false }
                continue
            }
            switch b {
            case 34: inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1; sawOpen = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return sawOpen && (depth > 0 || inString)
    }
}

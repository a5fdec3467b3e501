import Foundation

/// Validates JSON values against the subset of JSON Schema (2020-12) that nsaudit's schema
/// files use: type, const, enum, properties, required, additionalProperties, items, $ref to
/// #/$defs, minimum, maximum, pattern, anyOf, oneOf. Unknown keywords are an error, so a
/// schema cannot silently use something this validator ignores.
struct JSONSchemaValidator {
    let root: [String: Any]
    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$defs", "examples"]
    static let known: Set<String> = ["type", "const", "enum", "properties", "required", "additionalProperties",
                                     "items", "$ref", "minimum", "maximum", "pattern", "anyOf", "oneOf"]

    init(schemaFile: URL) throws {
        root = try JSONSerialization.jsonObject(with: Data(contentsOf: schemaFile)) as! [String: Any]
    }

    /// Every violation, as "path: problem".
    func validate(_ value: Any) -> [String] {
        var errors: [String] = []
        check(value, root, "$", &errors)
        return errors
    }

    private func check(_ v: Any, _ s: [String: Any], _ path: String, _ errors: inout [String]) {
        for k in s.keys where !Self.known.contains(k) && !Self.annotations.contains(k) {
            errors.append("\(path): schema uses unsupported keyword \(k)")
        }
        if let ref = s["$ref"] as? String {
            let name = ref.replacingOccurrences(of: "#/$defs/", with: "")
            guard let defs = root["$defs"] as? [String: Any], let target = defs[name] as? [String: Any] else {
                errors.append("\(path): unresolved $ref \(ref)"); return
            }
            check(v, target, path, &errors)
        }
        if let t = s["type"] {
            let types = (t as? [String]) ?? [t as! String]
            if !types.contains(where: { Self.matches(v, $0) }) {
                errors.append("\(path): expected \(types.joined(separator: "|")), got \(Self.describe(v))"); return
            }
        }
        if let c = s["const"], !Self.equal(c, v) { errors.append("\(path): expected constant \(c)") }
        if let e = s["enum"] as? [Any], !e.contains(where: { Self.equal($0, v) }) {
            errors.append("\(path): \(v) not one of \(e)")
        }
        if let n = v as? NSNumber, !(v is Bool) {
            if let min = s["minimum"] as? NSNumber, n.doubleValue < min.doubleValue { errors.append("\(path): \(n) < \(min)") }
            if let max = s["maximum"] as? NSNumber, n.doubleValue > max.doubleValue { errors.append("\(path): \(n) > \(max)") }
        }
        if let p = s["pattern"] as? String, let str = v as? String,
           str.range(of: p, options: .regularExpression) == nil {
            errors.append("\(path): \"\(str)\" does not match \(p)")
        }
        if let any = s["anyOf"] as? [[String: Any]] {
            let ok = any.contains { sub in var e: [String] = []; check(v, sub, path, &e); return e.isEmpty }
            if !ok { errors.append("\(path): matches none of anyOf") }
        }
        if let one = s["oneOf"] as? [[String: Any]] {
            let n = one.filter { sub in var e: [String] = []; check(v, sub, path, &e); return e.isEmpty }.count
            if n != 1 { errors.append("\(path): matches \(n) of oneOf, expected 1") }
        }
        if let obj = v as? [String: Any] {
            let props = s["properties"] as? [String: Any] ?? [:]
            for r in s["required"] as? [String] ?? [] where obj[r] == nil { errors.append("\(path): missing required \(r)") }
            for (k, x) in obj {
                if let ps = props[k] as? [String: Any] {
                    check(x, ps, "\(path).\(k)", &errors)
                } else if let ap = s["additionalProperties"] {
                    if let b = ap as? Bool, !b { errors.append("\(path): unexpected property \(k)") }
                    if let aps = ap as? [String: Any] { check(x, aps, "\(path).\(k)", &errors) }
                }
            }
        }
        if let arr = v as? [Any], let items = s["items"] as? [String: Any] {
            for (i, x) in arr.enumerated() { check(x, items, "\(path)[\(i)]", &errors) }
        }
    }

    static func matches(_ v: Any, _ t: String) -> Bool {
        switch t {
        case "object": return v is [String: Any]
        case "array": return v is [Any]
        case "string": return v is String
        case "boolean": return isBool(v)
        case "integer":
            guard let n = v as? NSNumber, !isBool(v) else { return false }
            return n.doubleValue == n.doubleValue.rounded()
        case "number": return v is NSNumber && !isBool(v)
        case "null": return v is NSNull
        default: return false
        }
    }

    static func isBool(_ v: Any) -> Bool {
        // JSONSerialization gives booleans their own NSNumber subclass.
        guard v is NSNumber else { return false }
        return String(describing: type(of: v)).contains("Boolean")
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? String, let y = b as? String { return x == y }
        if let x = a as? NSNumber, let y = b as? NSNumber { return x == y }
        if a is NSNull && b is NSNull { return true }
        return false
    }

    static func describe(_ v: Any) -> String {
        if v is String { return "string" }
        if isBool(v) { return "boolean" }
        if v is NSNumber { return "number" }
        if v is [Any] { return "array" }
        if v is [String: Any] { return "object" }
        return "null"
    }
}

/// Paths of the repository's checked-in files, found relative to this source file.
enum Repo {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static func file(_ relative: String) -> URL { root.appendingPathComponent(relative) }
    static func files(in dir: String, ext: String) -> [URL] {
        let d = file(dir)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { d.appendingPathComponent($0) }
    }
}

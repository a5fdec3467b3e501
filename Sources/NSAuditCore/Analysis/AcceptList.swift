/// Findings an operator has accepted (`report --accept FILE`), YAML: a list of entries, each
/// naming a finding by its id or by a match on netns, kind, address and ingress (any of them,
/// at least one), with a reason and an optional expiry date:
///
///     - id: asymmetric-reply:45bbeba2b3490035
///       reason: management NIC replies via the data side until the VLAN move (CHG-1234)
///       expires: 2027-01-31
///     - netns: server
///       kind: rp-filter-mismatch
///       reason: loose rp_filter on purpose
///
/// An accepted finding stays in the report, marked `accepted`, and never fails the run; after
/// its expiry date (the last day it holds) it counts as new again, and the report says so.
public struct AcceptRule: Sendable, Equatable {
    public var id: String?
    public var netns: String?
    public var kind: FindingKind?
    public var address: IPAddress?
    public var ingress: String?
    public var reason: String
    /// YYYY-MM-DD.
    public var expires: String?
    /// Where the entry starts in the file (1-based).
    public var line: Int

    public func matches(_ f: Finding) -> Bool {
        (id.map { $0 == f.id } ?? true) && (netns.map { $0 == f.netns } ?? true) && (kind.map { $0 == f.kind } ?? true)
            && (address.map { $0 == f.localAddress } ?? true) && (ingress.map { $0 == f.ingress } ?? true)
    }
}

public struct AcceptListError: Error, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var column: Int?
    public var message: String
    public var description: String {
        "--accept \(file)\(line.map { ":\($0)" } ?? "")\(column.map { ":\($0)" } ?? ""): \(message)"
    }
}

public enum AcceptList {
    static let keys = ["id", "netns", "kind", "address", "ingress", "reason", "expires"]

    /// Parses an accept file; errors give the line and column and say what to write instead.
    public static func parse(yaml: String, name: String) throws -> [AcceptRule] {
        func fail(_ node: YAMLNode, _ message: String) -> AcceptListError {
            AcceptListError(file: name, line: node.mark.line, column: node.mark.column, message: message)
        }
        let root: YAMLNode?
        do throws(YAMLError) { root = try YAMLReader(yaml).document() } catch {
            throw AcceptListError(file: name, line: error.mark.line, column: error.mark.column, message: "not valid YAML: \(error.detail)")
        }
        guard let root else { return [] }
        guard case .sequence(let entries) = root.value else {
            throw fail(root, "expected a list of entries (\"- id: KIND:HASH\" or \"- netns: ...\", each with a reason)")
        }
        var out: [AcceptRule] = []
        for entry in entries {
            guard case .mapping(let map) = entry.value else {
                throw fail(entry, "an entry is a mapping of \(keys.joined(separator: ", "))")
            }
            var rule = AcceptRule(reason: "", line: entry.mark.line)
            var reason: String?
            for (k, v) in map {
                guard let key = k.scalar else { throw fail(k, "keys are plain words: \(keys.joined(separator: ", "))") }
                guard let value = v.scalar else { throw fail(v, "\(key): expected a single value") }
                switch key {
                case "id":
                    let parts = value.split(separator: ":")
                    guard parts.count == 2, FindingKind(rawValue: String(parts[0])) != nil, parts[1].count == 16,
                          parts[1].allSatisfy(\.isHexDigit) else {
                        throw fail(v, "id \"\(value)\" is not a finding id (KIND:16 hex digits, as the report shows it)")
                    }
                    rule.id = value
                case "netns": rule.netns = value
                case "kind":
                    guard let kind = FindingKind(rawValue: value) else {
                        throw fail(v, "unknown kind \"\(value)\" (one of \(FindingKind.allCases.map(\.rawValue).joined(separator: ", ")))")
                    }
                    rule.kind = kind
                case "address":
                    guard let a = IPAddress(value) else { throw fail(v, "address \"\(value)\" is not an IPv4 or IPv6 address") }
                    rule.address = a
                case "ingress": rule.ingress = value
                case "reason": reason = value
                case "expires":
                    guard isDate(value) else { throw fail(v, "expires \"\(value)\" is not a date (YYYY-MM-DD)") }
                    rule.expires = value
                default:
                    throw fail(k, "unknown key \"\(key)\" (one of \(keys.joined(separator: ", ")))")
                }
            }
            guard rule.id != nil || rule.netns != nil || rule.kind != nil || rule.address != nil || rule.ingress != nil else {
                throw fail(entry, "the entry names no finding: give its id, or some of netns, kind, address, ingress")
            }
            guard let reason, !reason.trimmedASCIIWhitespace.isEmpty else {
                throw fail(entry, "the entry has no reason: say why the finding is accepted")
            }
            rule.reason = reason
            out.append(rule)
        }
        return out
    }

    /// YYYY-MM-DD with a month 01-12 and a day that month can have.
    static func isDate(_ s: String) -> Bool {
        let p = s.split(separator: "-")
        guard s.count == 10, p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
              let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), (1...12).contains(m) else { return false }
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return (1...days).contains(d)
    }

    /// Marks the findings the rules match (the first matching rule); `today` is YYYY-MM-DD. A
    /// finding whose acceptance expired counts as new (`baselineState`, when compared).
    public static func apply(_ rules: [AcceptRule], to findings: inout [Finding], today: String) {
        for i in findings.indices {
            guard let r = rules.first(where: { $0.matches(findings[i]) }) else { continue }
            let expired = r.expires.map { $0 < today } ?? false
            findings[i].accepted = Acceptance(reason: r.reason, expires: r.expires, expired: expired)
            if expired && findings[i].baselineState != nil { findings[i].baselineState = .new }
        }
    }
}

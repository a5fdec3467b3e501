import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import NSAuditCore
import Testing

/// The one address parser (`IPAddress.parse`), the one JSON writer's escaping styles, and
/// the grammars that stay different on purpose.
@Suite struct AddressParserTests {
    @Test func embeddedQuadsAndCase() {
        #expect(IPAddress("::ffff:1.2.3.4")?.bits == 0xffff_0102_0304)
        #expect(IPAddress("1:2:3:4:5:6:1.2.3.4")?.description == "1:2:3:4:5:6:102:304")
        #expect(IPAddress("1::2.3.4.5")?.description == "1::203:405")
        #expect(IPAddress("ABCD::EF")?.description == "abcd::ef")
        #expect(IPAddress("1:2:3:4:5:6:7::") == IPAddress("1:2:3:4:5:6:7:0"))
    }

    /// What the old String parser accepted by mistake (inet_pton and the decoder's fast path
    /// refused them; the decoder then fell back to the String parser and took them).
    @Test(arguments: ["1:", "1:2:3:4:5:6:7:", "+1::", "-0::", "1::+2", "::1.2.3.4.5", "1.2.3.4::", "1:2:3:4:5:6:7:1.2.3.4",
                      "::1.2.3", "1:2:3:4:5:6:7:8::", "1:2:3:4::5:6:7:8", " ::1", "::1 ", "fe80::1%eth0", "::12345"])
    func rejects(_ text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func prefixes() {
        #expect(IPPrefix("10.1.2.3/008") == IPPrefix("10.0.0.0/8"))
        #expect(IPPrefix("::ffff:10.0.0.0/104")?.description == "::ffff:10.0.0.0/104")
        #expect(IPPrefix("10.1.2.3") == IPPrefix("10.1.2.3/32"))
        for bad in ["10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/-0", "10.0.0.0/0008", "10.0.0.0/33", "::/129", "/8", "10.0.0.0/8/8", "10.0.0.0 /8"] {
            #expect(IPPrefix(bad) == nil, "\(bad)")
        }
    }

    /// IPv6 text: the parser takes exactly what glibc's inet_pton takes, on random strings
    /// near the grammar's edges (dotted parts with a leading zero left out: inet_pton refuses
    /// them, the parser reads them as decimal, as it does for IPv4).
    @Test func ipv6AgreesWithInetPton() {
        var rng = SplitMix64(seed: 5952)
        let pieces = ["", "0", "1", "ff", "FFFF", "12345", "a", "::", ":", ":::", "1.2.3.4", "255.255.255.255", "256.1.1.1", "1.2.3", ".", "g"]
        var checked = 0, differ: [String] = []
        for _ in 0..<60_000 {
            var s = ""
            for _ in 0..<Int(rng.next() % 10) {
                s += pieces[Int(rng.next() % UInt64(pieces.count))]
                if rng.next() % 3 != 0 { s += ":" }
            }
            guard s.contains(":"), !s.split(separator: ":").contains(where: { $0.contains(".") && $0.split(separator: ".").contains { $0.count > 1 && $0.hasPrefix("0") } }) else { continue }
            var buf = [UInt8](repeating: 0, count: 16)
            let ok = inet_pton(AF_INET6, s, &buf) == 1
            let mine = IPAddress(s)
            checked += 1
            if ok != (mine != nil) || (ok && mine?.bytes != buf) { differ.append(s) }
        }
        #expect(checked > 20_000)
        #expect(differ.isEmpty, "\(differ.count) differ from inet_pton: \(differ.prefix(8))")
    }

    /// Each reader keeps its grammar: nsaudit's (decimal dotted quads, with leading zeros) for
    /// snapshots, `IPAddress(String)` and route-get lines; ip's (`10.1`, octal, hexadecimal)
    /// for `--ip-compat` and the ip drop-in, which the batch's fast path leaves alone.
    @Test func ipSyntaxStaysSeparate() throws {
        #expect(IPAddress("010.1.1.1") == IPAddress("10.1.1.1"))
        #expect(IPAddress("10.1") == nil && IPAddress("0x0a.1.1.1") == nil)
        #expect(IPRouteGetArguments.ipv4("010.1.1.1") == 0x0801_0101)
        #expect(IPRouteGetArguments.ipv4("10.1") == 0x0a01_0000)

        let url = Repo.file("fixtures/snapshots/router-mgmt.json")
        let snap = try SnapshotReader.decode(try Data(contentsOf: url), name: url.lastPathComponent)
        let ns = try #require(snap.namespaces.first { ns in ns.routes.contains { $0.family == .v4 && $0.dst.length == 0 } })
        let model = RoutingModel(ns)
        func batch(_ line: String, ipCompat: Bool) -> String {
            var out: [UInt8] = []
            _ = RouteGetBatch.run(model: model, input: Array(line.utf8), json: false, options: .init(ipCompat: ipCompat)) { b, _ in out += b }
            return String(decoding: out, as: UTF8.self)
        }
        let decimal = batch("10.1.1.1", ipCompat: false)
        #expect(decimal.hasPrefix("10.1.1.1 "))
        #expect(batch("010.1.1.1", ipCompat: false) == decimal)
        #expect(batch("010.1.1.1", ipCompat: true) == batch("8.1.1.1", ipCompat: true))
        #expect(batch("010.1.1.1", ipCompat: true).hasPrefix("8.1.1.1 "))
    }
}

@Suite struct JSONWriterTests {
    static let allBytes: String = {
        var s = ""
        for c in 0..<0x20 { s.unicodeScalars.append(Unicode.Scalar(UInt8(c))) }
        return s + "\"\\/\u{7f}é😀 x"
    }()

    func written(_ escaping: JSONEscaping, _ s: String = allBytes) -> String {
        JSONWriter.text(escaping: escaping) { $0.string(s) }
    }

    @Test func foundationStyleIsJSONEncoders() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.withoutEscapingSlashes]
        #expect(written(.foundation) == String(decoding: try enc.encode(Self.allBytes), as: UTF8.self))
    }

    /// `.foundation` with `pretty` is what JSONEncoder writes with `.prettyPrinted`,
    /// `.sortedKeys` and `.withoutEscapingSlashes` (the report's format), members in order.
    @Test func prettyIsJSONEncoders() throws {
        struct S: Encodable {
            var a = 1; var b = [1, -2]; var c: [String: Int] = [:]; var d: [Int] = []; var e: [[Int]] = [[]]
            var f = "x/y\n\"\u{1}é"; var g = ["k": ["v"]]; var h = [true]
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let mine = JSONWriter.text(escaping: .foundation, pretty: true) { w in
            w.beginObject()
            w.key("a"); w.int(1)
            w.key("b"); w.beginArray(); w.element(); w.int(1); w.element(); w.int(-2); w.endArray()
            w.key("c"); w.beginObject(); w.endObject()
            w.key("d"); w.beginArray(); w.endArray()
            w.key("e"); w.beginArray(); w.element(); w.beginArray(); w.endArray(); w.endArray()
            w.key("f"); w.string(S().f)
            w.key("g"); w.beginObject(); w.key(escaping: "k"); w.beginArray(); w.element(); w.string("v"); w.endArray(); w.endObject()
            w.key(RangeCodingKeys.start); w.beginArray(); w.element(); w.bool(true); w.endArray()
            w.endObject()
        }
        let want = String(decoding: try enc.encode(S()), as: UTF8.self).replacingOccurrences(of: "\"h\"", with: "\"start\"")
        #expect(mine == want)
    }

    @Test func styles() {
        #expect(written(.unicode, "a\tb\n\u{1}\"\\") == #""a\u0009b\u000a\u0001\"\\""#)
        #expect(written(.common, "a\tb\n\r\u{8}\u{1}") == #""a\tb\n\r\u0008\u0001""#)
        #expect(written(.iproute2, "a\tb\n\r\u{8}\u{c}\u{1}\"") == "\"a\\tb\\n\\r\\b\\f\u{1}\\\"\"")
        // every style reads back as the same string
        for style in [JSONEscaping.unicode, .common, .foundation] {
            let back = try? JSONDecoder().decode(String.self, from: Data(written(style).utf8))
            #expect(back == Self.allBytes)
        }
    }

    @Test func containersNumbersAndAddresses() {
        let text = JSONWriter.text(escaping: .unicode) { w in
            w.beginObject()
            w.key("a"); w.beginArray(); w.element(); w.int(Int64.min); w.element(); w.int(UInt64.max); w.element(); w.int(0); w.endArray()
            w.key("b"); w.beginObject(); w.endObject()
            w.key(escaping: "k\"ey"); w.address(IPAddress("::ffff:1.2.3.4")!)
            w.key("p"); w.prefix(IPPrefix("2001:db8::/32")!)
            w.key("n"); w.address(orNull: nil)
            w.key("t"); w.bool(true)
            w.endObject()
        }
        #expect(text == #"{"a":[-9223372036854775808,18446744073709551615,0],"b":{},"k\"ey":"::ffff:1.2.3.4","p":"2001:db8::/32","n":null,"t":true}"#)
    }
}

/// Snapshot member names are defined once, in the model's CodingKeys (plus what only the
/// writer adds, `SnapshotWrittenKeys`): the writer writes those names, the decoder reads
/// them, and the schema lists exactly them.
@Suite struct SnapshotMemberNamesTests {
    /// Schema object (a `$defs` name, or a path of properties from the top) → its CodingKeys,
    /// the decoder's table and the members only the writer adds.
    static let objects: [(schema: String, keys: [String], read: [String], extra: [SnapshotWrittenKeys])] = {
        func e<K: EncodedCodingKey>(_ name: String, _: K.Type, _ extra: [SnapshotWrittenKeys] = []) -> (String, [String], [String], [SnapshotWrittenKeys]) {
            let read = K.fields.keys.map(\.stringValue)
            // what the writer copies is the same name
            for k in K.allCases { #expect(Array(K.fields.quoted(k)) == Array("\"\(k.stringValue)\":".utf8)) }
            return (name, K.allCases.map(\.stringValue), read, extra)
        }
        return [
            e("", Snapshot.CodingKeys.self),
            e("kernel_facts", KernelFacts.CodingKeys.self),
            e("metadata", SnapshotMetadata.CodingKeys.self),
            e("namespace", NamespaceSnapshot.CodingKeys.self),
            e("discovery", Discovery.CodingKeys.self),
            e("link", Link.CodingKeys.self, [.flagNames, .adminUp]),
            e("address", Address.CodingKeys.self, [.dev, .flagNames]),
            e("rule", Rule.CodingKeys.self, [.actionName]),
            e("port_range", RangeCodingKeys.self),
            e("route", Route.CodingKeys.self, [.dev]),
            e("route_nexthop", RouteNexthop.CodingKeys.self, [.dev]),
            e("nexthop", Nexthop.CodingKeys.self, [.dev]),
            e("group_member", NexthopGroupMember.CodingKeys.self),
            e("socket", Socket.CodingKeys.self, [.boundDev]),
            e("neighbor", Neighbor.CodingKeys.self, [.dev, .stateNames, .flagNames]),
            e("fdb_entry", FDBEntry.CodingKeys.self, [.dev, .masterDev, .stateNames, .flagNames]),
            e("netfilter", NetfilterState.CodingKeys.self),
            e("netfilter_tables", NetfilterTables.CodingKeys.self),
        ]
    }()

    /// The properties of every object schema, by `$defs` name (nested objects by their
    /// property's name: ranges as "port_range", group members as "group_member"; the top
    /// level as "").
    static func schemaObjects() throws -> [String: Set<String>] {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Repo.file("schema/snapshot.schema.json"))) as? [String: Any])
        let alias = ["sport": "port_range", "dport": "port_range", "uidrange": "port_range", "group": "group_member"]
        var out: [String: Set<String>] = [:]
        func visit(_ node: Any, name: String) {
            if let d = node as? [String: Any] {
                if let props = d["properties"] as? [String: Any] {
                    out[alias[name] ?? name, default: []].formUnion(props.keys)
                    for (k, v) in props { visit(v, name: k) }
                }
                for (k, v) in d where k != "properties" { visit(v, name: k == "items" ? name : k) }
            } else if let a = node as? [Any] {
                for v in a { visit(v, name: name) }
            }
        }
        visit(root, name: "")
        return out
    }

    /// Every member name the writer writes, by the kind of object (found by its place).
    static func writtenObjects(_ s: Snapshot) throws -> [String: Set<String>] {
        let json = try JSONSerialization.jsonObject(with: Data(SnapshotWriter.encode(s)))
        var out: [String: Set<String>] = [:]
        let kindOf = ["namespaces": "namespace", "found_by": "discovery", "links": "link", "addresses": "address",
                      "rules": "rule", "sport": "port_range", "dport": "port_range", "uidrange": "port_range",
                      "routes": "route", "nexthops": "nexthop", "group": "group_member", "sockets": "socket",
                      "kernel_facts": "kernel_facts", "metadata": "metadata", "neighbors": "neighbor",
                      "fdb": "fdb_entry", "netfilter": "netfilter", "nftables": "netfilter_tables",
                      "iptables_legacy": "netfilter_tables", "ip6tables_legacy": "netfilter_tables",
                      "arptables_legacy": "netfilter_tables"]
        let maps: Set<String> = ["nsids", "sysctls", "metrics"]
        func visit(_ node: Any, kind: String) {
            if let d = node as? [String: Any] {
                out[kind, default: []].formUnion(d.keys)
                for (k, v) in d where !maps.contains(k) {
                    // a route's nexthops are route nexthops, not nexthop objects
                    visit(v, kind: k == "nexthops" && kind == "route" ? "route_nexthop" : (kindOf[k] ?? "?\(k)"))
                }
            } else if let a = node as? [Any] {
                for v in a { visit(v, kind: kind) }
            }
        }
        visit(json, kind: "")
        return out.filter { !$0.key.hasPrefix("?") }
    }

    static func everyMember() -> Snapshot {
        var s = SampleSnapshot.full()
        s.kernelFacts = KernelFacts(release: "6.18", ipv6MulticastRouting: true)
        return s
    }

    @Test func schemaWriterAndDecoderAgree() throws {
        let schema = try Self.schemaObjects()
        let written = try Self.writtenObjects(Self.everyMember())
        for o in Self.objects {
            let name = o.schema
            let props = try #require(schema[name], "schema object \(name.isEmpty ? "(top)" : name)")
            let extra = Set(o.extra.map(\.stringValue))
            #expect(Set(o.keys).isDisjoint(with: extra), "\(name)")
            #expect(props == Set(o.keys).union(extra), "schema \(name): \(props.symmetricDifference(Set(o.keys).union(extra)))")
            #expect(Set(o.read) == Set(o.keys) && o.read.count == o.keys.count, "decoder \(name)")
            #expect(written[name] == props, "writer \(name): \(String(describing: written[name]?.symmetricDifference(props)))")
        }
        #expect(Set(Self.objects.map(\.schema)) == Set(written.keys))
    }
}

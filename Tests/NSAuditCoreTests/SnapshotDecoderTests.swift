import Foundation
@_spi(Testing) import NSAuditCore
import Testing

/// The fast snapshot reader (`SnapshotDecoder`, behind `SnapshotReader.decode`) against the
/// reference (`SnapshotReader.decodeWithFoundation`, i.e. JSONDecoder).
@Suite struct SnapshotDecoderTests {
    /// Every snapshot in the repository: fixtures/snapshots/*.json and **/*.snapshot.json.
    static let fixtures: [URL] = {
        let root = Repo.file("fixtures")
        var out: [URL] = []
        let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        while let u = e?.nextObject() as? URL {
            let rel = u.path.dropFirst(root.path.count)
            if rel.hasSuffix(".snapshot.json") || (rel.hasPrefix("/snapshots/") && rel.hasSuffix(".json")) { out.append(u) }
        }
        return out.sorted { $0.path < $1.path }
    }()

    func fast(_ text: String) throws -> Snapshot { try SnapshotReader.decodeWithoutFallback(Data(text.utf8), name: "f.json") }
    func fast(_ data: Data) throws -> Snapshot { try SnapshotReader.decodeWithoutFallback(data, name: "f.json") }
    func reference(_ data: Data) throws -> Snapshot { try SnapshotReader.decodeWithFoundation(data, name: "f.json") }
    func error(_ text: String) -> SnapshotError? {
        do { _ = try SnapshotReader.decodeWithoutFallback(Data(text.utf8), name: "f.json"); return nil } catch let e as SnapshotError { return e } catch { return nil }
    }
    func detail(_ text: String) -> String {
        guard case .invalid(_, let d) = error(text) else { return "(not .invalid: \(String(describing: error(text))))" }
        return d
    }
    var sampleJSON: String { String(decoding: SnapshotWriter.encode(SampleSnapshot.full()), as: UTF8.self) }

    @Test func fixturesAreFound() {
        #expect(Self.fixtures.count >= 100, "snapshots, pcaps and routeget fixtures")
    }

    @Test(arguments: fixtures)
    func fixtureDecodesLikeJSONDecoder(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        let f = try fast(data)
        #expect(f == (try reference(data)))
    }

    @Test func writerOutputRoundTrips() throws {
        #expect(try fast(sampleJSON) == SampleSnapshot.full())
    }

    // MARK: layout

    /// Re-serializes JSON with every object's members shuffled (seeded), optionally pretty
    /// and with unknown members added; leaves go through JSONSerialization unchanged.
    func reshape(_ text: String, seed: UInt64, pretty: Bool, unknown: Bool) throws -> String {
        var rng = SplitMix64(seed: seed)
        func leaf(_ v: Any) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: v, options: .fragmentsAllowed), as: UTF8.self)
        }
        func emit(_ v: Any, _ indent: String, map: Bool = false) throws -> String {
            let nl = pretty ? "\n" + indent + "  " : "", end = pretty ? "\n" + indent : ""
            if let d = v as? [String: Any] {
                var members = try d.keys.map { "\(try leaf($0)) \(pretty ? " " : ""): \(try emit(d[$0]!, indent + "  ", map: ["nsids", "sysctls", "metrics"].contains($0)))" }
                if unknown && !map {
                    members.append(#""zz_extra": {"a": [1, -2.5e3, true, false, null, "x\u00e9\"", {}, []], "b": {"c": "d"}}"#)
                }
                members.shuffle(using: &rng)
                return "{" + nl + members.joined(separator: "," + nl) + end + "}"
            }
            if let a = v as? [Any] {
                if a.isEmpty { return pretty ? "[ ]" : "[]" }
                return "[" + nl + (try a.map { try emit($0, indent + "  ") }).joined(separator: "," + nl) + end + "]"
            }
            return try leaf(v)
        }
        return try emit(try JSONSerialization.jsonObject(with: Data(text.utf8)), "")
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func membersInAnyOrderPrettyAndUnknown(_ seed: UInt64) throws {
        let expected = SampleSnapshot.full()
        for (pretty, unknown) in [(false, false), (true, false), (false, true), (true, true)] {
            let text = try reshape(sampleJSON, seed: seed, pretty: pretty, unknown: unknown)
            #expect(try fast(text) == expected, "pretty \(pretty) unknown \(unknown)")
        }
    }

    @Test func fixturesReshaped() throws {
        for url in Self.fixtures.prefix(12) {
            let text = try reshape(String(decoding: try Data(contentsOf: url), as: UTF8.self), seed: 7, pretty: true, unknown: true)
            #expect(try fast(text) == (try reference(Data(text.utf8))), "\(url.lastPathComponent)")
        }
    }

    @Test func jsonEncoderOutputSortedAndPretty() throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try enc.encode(SampleSnapshot.full())   // nil optionals are left out
        #expect(try fast(data) == SampleSnapshot.full())
    }

    // MARK: values

    static let minimal = #"{"schema":"nsaudit.snapshot/v1","generator":"g","host":"h","kernel":"k","taken_at":"t","namespaces":[NS]}"#
    static let minimalNS = #"{"id":"x","names":[],"inode":1,"found_by":[],"status":"ok","consistent":true,"dump_retries":0,"nsids":{},"links":[],"addresses":[],"rules":[],"routes":[ROUTES],"nexthops":[],"sysctls":{},"sockets":[]}"#
    static let minimalRoute = #"{"family":"inet","table":254,"type":"unicast","dst":"10.0.0.0/8","tos":0,"protocol":4,"scope":0,"metric":0,"flags":0}"#
    func doc(routes: [String] = [minimalRoute]) -> String {
        Self.minimal.replacingOccurrences(of: "NS", with: Self.minimalNS.replacingOccurrences(of: "ROUTES", with: routes.joined(separator: ",")))
    }

    @Test func absentOptionalsAndNull() throws {
        let withNulls = Self.minimalRoute.replacingOccurrences(of: "}", with: #","gateway":null,"src":null,"prefsrc":null,"oif":null,"nexthops":null,"nhid":null,"metrics":null,"pref":null}"#)
        let text = doc(routes: [Self.minimalRoute, withNulls]).replacingOccurrences(of: #""namespaces""#, with: #""metadata":null,"namespaces""#)
        let s = try fast(text)
        #expect(s == (try reference(Data(text.utf8))))
        #expect(s.metadata == nil && s.namespaces[0].routes.count == 2)
        #expect(s.namespaces[0].routes[1].gateway == nil && s.namespaces[0].routes[1].nexthops == nil)
    }

    /// Snapshots from before neighbours, FDBs and netfilter were recorded read them as nil
    /// (not recorded), which differs from recorded and empty.
    @Test func linkLayerStateAbsentNullOrEmpty() throws {
        let absent = try fast(doc())
        #expect(absent.namespaces[0].neighbors == nil && absent.namespaces[0].fdb == nil && absent.namespaces[0].netfilter == nil)
        let nulls = doc().replacingOccurrences(of: #""sockets":[]"#, with: #""sockets":[],"neighbors":null,"fdb":null,"netfilter":null"#)
        #expect(try fast(nulls) == absent)
        let empty = doc().replacingOccurrences(of: #""sockets":[]"#, with: #""sockets":[],"neighbors":[],"fdb":[],"netfilter":{"nftables":{"source":"nfnetlink","tables":[]},"iptables_legacy":{"source":"p","unknown":"why"},"ip6tables_legacy":{"source":"p","tables":[]},"arptables_legacy":{"source":"p","tables":[]}}"#)
        let e = try fast(empty)
        #expect(e == (try reference(Data(empty.utf8))))
        #expect(e.namespaces[0].neighbors == [] && e.namespaces[0].fdb == [])
        let nf = try #require(e.namespaces[0].netfilter)
        #expect(nf.hasTables == nil, "no table found, one source unknown")
        #expect(nf.iptablesLegacy.unknown == "why" && nf.iptablesLegacy.tables == nil)
        #expect(detail(empty.replacingOccurrences(of: #""nftables":{"source":"nfnetlink","tables":[]},"#, with: "")).contains("nftables"))
    }

    @Test func escapes() throws {
        let text = Self.minimal
            .replacingOccurrences(of: #""host":"h""#, with: #""ho\u0073t":"a\"b\\c\/d\be\ff\ng\rh\ti\u00e9\u20ac\ud83d\ude00""#)
            .replacingOccurrences(of: "NS", with: Self.minimalNS.replacingOccurrences(of: "ROUTES", with: "")
                .replacingOccurrences(of: #""id":"x""#, with: #""id":"\u0078""#)
                .replacingOccurrences(of: #""sysctls":{}"#, with: #""sysctls":{"net.ipv4.conf.eth\u002e0.rp_filter":2}"#))
        let s = try fast(text)
        #expect(s.host == "a\"b\\c/d\u{8}e\u{c}f\ng\rh\ti\u{e9}\u{20ac}\u{1F600}")
        #expect(s.namespaces[0].id == "x")
        #expect(s.namespaces[0].settings.ipv4.devices["eth.0"]?.rpFilter == 2)
        #expect(s == (try reference(Data(text.utf8))))
    }

    @Test func addressesAndPrefixes() throws {
        let routes = [
            Self.minimalRoute.replacingOccurrences(of: "10.0.0.0/8", with: "10.1.2.3/8"),           // masked
            Self.minimalRoute.replacingOccurrences(of: "10.0.0.0/8", with: "10.1.2.3"),             // host prefix
            Self.minimalRoute.replacingOccurrences(of: #""inet""#, with: #""inet6""#)
                .replacingOccurrences(of: "10.0.0.0/8", with: "2001:db8::/32")
                .replacingOccurrences(of: "}", with: #","gateway":"fe80::1","prefsrc":"::ffff:10.0.0.1"}"#),
            Self.minimalRoute.replacingOccurrences(of: "}", with: #","gateway":"010.0.0.1","metrics":{"mtu":1400}}"#),
        ]
        let text = doc(routes: routes)
        let s = try fast(text)
        #expect(s == (try reference(Data(text.utf8))))
        #expect(s.namespaces[0].routes[0].dst == IPPrefix("10.0.0.0/8"))
        #expect(s.namespaces[0].routes[1].dst == IPPrefix("10.1.2.3/32"))
        #expect(s.namespaces[0].routes[2].gateway == IPAddress("fe80::1"))
        #expect(s.namespaces[0].routes[3].metrics == ["mtu": 1400])
    }

    /// Addresses and prefixes in many spellings, valid and not: the fast reader agrees with
    /// JSONDecoder (same value, or both reject).
    @Test func addressSpellingsAgreeWithJSONDecoder() throws {
        let addrs = ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "fe80::1:2",
                     "FE80::ABCD", "2001:db8:0:0:0:0:2:1", "2001:0db8::0001", "::ffff:10.0.0.1", "::10.0.0.1",
                     "1:2:3:4:5:6:7:8:9", "1::2::3", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", ":::", "12345::", "g::1",
                     "1:2:3:4:5:6:7", "0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3", "1.2.3.4.5", "01.02.03.004",
                     "1.2.3.4 ", "", ":", "1.2.3.4/24"]
        for a in addrs {
            let text = doc(routes: [Self.minimalRoute.replacingOccurrences(of: "}", with: #","gateway":"\#(a)"}"#)])
            let f = try? fast(text), r = try? reference(Data(text.utf8))
            #expect(f == r, "gateway \"\(a)\": fast \(String(describing: f?.namespaces[0].routes[0].gateway)) JSONDecoder \(String(describing: r?.namespaces[0].routes[0].gateway))")
        }
        let prefixes = ["::/0", "2001:db8::1/32", "2001:db8::/128", "2001:db8::/129", "fe80::/010", "10.0.0.0/33",
                        "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/-1", "10.0.0.0/8/8", "/8", "::ffff:10.0.0.0/104", "1::2::3/64"]
        for pfx in prefixes {
            let text = doc(routes: [Self.minimalRoute.replacingOccurrences(of: "10.0.0.0/8", with: pfx)])
            let f = try? fast(text), r = try? reference(Data(text.utf8))
            #expect(f == r, "dst \"\(pfx)\": fast \(String(describing: f?.namespaces[0].routes[0].dst)) JSONDecoder \(String(describing: r?.namespaces[0].routes[0].dst))")
        }
    }

    /// Past 4096 elements the reader sizes the array from the bytes left.
    @Test func longRouteArray() throws {
        let routes = (0 ..< 9000).map { k in
            Self.minimalRoute.replacingOccurrences(of: "10.0.0.0/8", with: "10.\(k / 256 % 256).\(k % 256).0/24")
                .replacingOccurrences(of: #""metric":0"#, with: #""metric":\#(k)"#)
        }
        let text = doc(routes: routes)
        let s = try fast(text)
        #expect(s.namespaces[0].routes.count == 9000 && s.namespaces[0].routes[8999].metric == 8999)
        #expect(s == (try reference(Data(text.utf8))))
    }

    @Test func integerLimits() throws {
        let ok = doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""table":254"#, with: #""table":4294967295"#)])
        #expect(try fast(ok).namespaces[0].routes[0].table == UInt32.max)
        let big = detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""table":254"#, with: #""table":4294967296"#)]))
        #expect(big.contains(".namespaces[0].routes[0].table") && big.contains("4294967296"), "\(big)")
        let neg = detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""tos":0"#, with: #""tos":-1"#)]))
        #expect(neg.contains("routes[0].tos") && neg.contains("-1"), "\(neg)")
        let huge = detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""metric":0"#, with: #""metric":123456789012345678901234567890"#)]))
        #expect(huge.contains("routes[0].metric"), "\(huge)")
        let signed = doc().replacingOccurrences(of: #""links":[]"#, with: #""links":[{"index":-5,"name":"a","flags":0,"operstate":"UP","mtu":1,"link_type":1,"group":0,"link_netnsid":-1}]"#)
        #expect(try fast(signed).namespaces[0].links[0].index == -5)
        #expect(try fast(signed) == (try reference(Data(signed.utf8))))
    }

    // MARK: errors

    @Test func truncatedAnywhere() {
        let full = sampleJSON
        for cut in [1, 10, full.count / 3, full.count / 2, full.count - 2] {
            let e = error(String(full.prefix(cut)))
            #expect(e == .truncated("f.json"), "cut at \(cut)")
            #expect(e?.description.contains("truncated") == true)
        }
    }

    @Test func notJSON() {
        for text in ["hello, world", "", "{\"schema\": nsaudit}", "{} {}", #"{"schema":"nsaudit.snapshot/v1",}"#, "{'a': 1}"] {
            guard case .notJSON = error(text) else { Issue.record("expected notJSON for \(text): \(String(describing: error(text)))"); continue }
        }
        #expect(error("")?.description.contains("not a JSON snapshot") == true)
    }

    @Test func schemaErrors() {
        #expect(error(#"{"schema": "nsaudit.snapshot/v0", "namespaces": []}"#) == .wrongSchema("f.json", found: "nsaudit.snapshot/v0"))
        #expect(detail(#"{"namespaces": []}"#).contains("schema"))
        #expect(detail(#"{"schema": null, "namespaces": []}"#).contains("schema"))
        #expect(detail(#"{"schema": 1, "namespaces": []}"#).contains("schema"))
        #expect(detail("[1, 2]").contains("top level"))
        // The schema outranks a field error, even when it comes last.
        let v0 = doc(routes: [#"{"bogus": true}"#]).replacingOccurrences(of: "nsaudit.snapshot/v1", with: "nsaudit.snapshot/v0")
        #expect(error(v0) == .wrongSchema("f.json", found: "nsaudit.snapshot/v0"))
        // A syntax error outranks both.
        #expect(error(v0 + "]") == .notJSON("f.json", detail: "syntax error"))
        // A correct schema after the body is still read.
        let last = #"{"generator":"g","host":"h","kernel":"k","taken_at":"t","namespaces":[],"schema":"nsaudit.snapshot/v1"}"#
        #expect((try? fast(last))?.schema == Snapshot.schemaVersion)
    }

    @Test func badFieldsNameThePathAndValue() {
        var json = sampleJSON.replacingOccurrences(of: "\"10.0.0.254\"", with: "\"10.0.0.999\"")
        let d = detail(json)
        #expect(d.contains(".namespaces[0].routes[0].gateway") && d.contains("10.0.0.999"), "\(d)")
        json = sampleJSON.replacingOccurrences(of: "\"2001:db8::/32\"", with: "\"2001:db8::/129\"")
        #expect(detail(json).contains("routes[1].dst: not an IP prefix: \"2001:db8::/129\": prefix length 129 is longer than an inet6 address (at most 128)"))
        #expect(detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: "unicast", with: "bogus")])).contains("routes[0].type: unknown route type bogus"))
        #expect(detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""inet""#, with: #""inet4""#)])).contains("routes[0].family"))
        #expect(detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""table":254"#, with: #""table":"main""#)])).contains("routes[0].table: expected an integer, found a string"))
        #expect(detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""table":254,"#, with: "")])).contains(#"routes[0]: missing field "table""#))
        #expect(detail(doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""table":254"#, with: #""table":null"#)])).contains("routes[0].table"))
        #expect(detail(doc().replacingOccurrences(of: #""status":"ok""#, with: #""status":"gone""#)).contains(".namespaces[0].status"))
        #expect(detail(doc(routes: []).replacingOccurrences(of: #""routes":[]"#, with: #""routes":{}"#)).contains(".namespaces[0].routes: expected an array, found an object"))
        #expect(error("nothing") == .notJSON("f.json", detail: "syntax error"))
        #expect(error("nul") == .notJSON("f.json", detail: "syntax error"))
    }

    @Test func unsupportedJSONFallsBackToJSONDecoder() throws {
        // A number with a fraction: the fast reader hands it to JSONDecoder, whose verdict stands.
        let text = doc(routes: [Self.minimalRoute.replacingOccurrences(of: #""metric":0"#, with: #""metric":1.0"#)])
        guard case .invalid(_, let d) = error(text) else { Issue.record("expected the fast reader to decline"); return }
        #expect(d.contains("fast reader does not handle"))
        #expect(sameOutcome(Data(text.utf8)))
        // A UTF-8 byte order mark.
        #expect(sameOutcome(Data([0xEF, 0xBB, 0xBF]) + Data(sampleJSON.utf8)))
    }

    /// `decode` and JSONDecoder give equal values, or the same error.
    func sameOutcome(_ data: Data) -> Bool {
        switch (Result { try SnapshotReader.decode(data, name: "f.json") }, Result { try reference(data) }) {
        case (.success(let a), .success(let b)): return a == b
        case (.failure(let a), .failure(let b)): return "\(a)" == "\(b)"
        default: return false
        }
    }
}

/// A small seeded generator for reproducible shuffles.

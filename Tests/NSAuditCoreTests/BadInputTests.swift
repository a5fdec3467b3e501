import Foundation
@_spi(Testing) import NSAuditCore
import Testing

/// The "Bad input" rule (README): outside input (snapshot files, `--apply` and `--flows`
/// files) never reaches a trap or an endless loop; every parse error names the file, line or
/// field and what was expected, on one line. Each test here was a defect of issue 12.
@Suite struct BadInputTests {
    static let lab = "mgmt-broken"
    static let server = "nsarec-server"

    /// The lab snapshot as JSON objects, changed by `edit`, then read back as a file.
    func mutated(_ edit: (inout [String: Any]) -> Void) throws -> Data {
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: Repo.file("fixtures/snapshots/\(Self.lab).json"))) as! [String: Any]
        edit(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    func readError(_ data: Data) -> String? {
        do { _ = try SnapshotReader.decode(data, name: "bad.json"); return nil } catch { return "\(error)" }
    }

    /// Edits namespace `k` of the lab snapshot's JSON.
    func editNamespace(_ json: inout [String: Any], _ k: Int, _ body: (inout [String: Any]) -> Void) {
        var nss = json["namespaces"] as! [[String: Any]]
        body(&nss[k])
        json["namespaces"] = nss
    }

    // MARK: defect 1: a prefix length beyond the family's width

    @Test func addressPrefixLengthBeyondTheFamilyIsAFieldError() throws {
        let data = try mutated { json in
            editNamespace(&json, 4) { ns in
                var addrs = ns["addresses"] as! [[String: Any]]
                let i = addrs.firstIndex { $0["family"] as? String == "inet" && $0["local"] as? String != "127.0.0.1" }!
                addrs[i]["prefixlen"] = 33
                ns["addresses"] = addrs
            }
        }
        let e = try #require(readError(data))
        #expect(e.hasPrefix("bad.json: invalid snapshot: at .namespaces[4].addresses["))
        #expect(e.contains("].prefixlen: prefix length 33 is longer than an inet address (at most 32)"))
        // The JSONDecoder path says the same.
        #expect(throws: SnapshotError.self) { try SnapshotReader.decodeWithFoundation(data, name: "bad.json") }
    }

    @Test func routeAndRuleOfTheOtherFamilyAreFieldErrors() throws {
        let route = try mutated { json in
            editNamespace(&json, 4) { ns in
                var rs = ns["routes"] as! [[String: Any]]
                rs[0]["dst"] = "2001:db8::/64"
                ns["routes"] = rs
            }
        }
        #expect(readError(route) == "bad.json: invalid snapshot: at .namespaces[4].routes[0].dst: 2001:db8::/64 is not an inet prefix (family is \"inet\")")
        let rule = try mutated { json in
            editNamespace(&json, 4) { ns in
                var rs = ns["rules"] as! [[String: Any]]
                rs[0]["src"] = "2001:db8::/64"
                ns["rules"] = rs
            }
        }
        #expect(readError(rule) == "bad.json: invalid snapshot: at .namespaces[4].rules[0].src: 2001:db8::/64 is not an inet prefix (family is \"inet\")")
    }

    /// A model built from such an address anyway (a snapshot made in code) does not trap.
    @Test func maskIsTotal() throws {
        #expect(IPPrefix.mask(33, 32) == 0xffff_ffff)
        #expect(IPPrefix.mask(200, 128) == UInt128.max)
        #expect(IPPrefix.mask(-1, 32) == 0)
        var snap = try Lab.snapshot(Self.lab)
        let k = snap.namespaces.firstIndex { $0.id == Self.server }!
        for i in snap.namespaces[k].addresses.indices where snap.namespaces[k].addresses[i].family == .v4 {
            snap.namespaces[k].addresses[i].prefixlen = 40
        }
        let model = RoutingModel(snap.namespaces[k])
        // Reaching the answer is the test (this trapped in IPPrefix.mask); the source is the
        // address of the egress device, as with the full-length mask.
        let r = try model.routeGet(line: "1.1.1.1")
        #expect(r.error == nil && r.prefsrc != nil)
    }

    // MARK: defect 2: empty and slash-only prefixes

    @Test(arguments: ["", "/", "10.0.0.0/", "/24", "10.0.0.0/33", "::/129", "10.0.0.0//8", "10.0.0.0/ 8", "10.0.0.0/-1", "10.0.0.0/0x8"])
    func prefixTextIsRejected(_ text: String) {
        #expect(IPPrefix(text) == nil)
    }

    @Test(arguments: ["", "/", "10.0.0.0/"])
    func prefixTextInEverySourceIsAnError(_ text: String) throws {
        // a snapshot route's dst
        let data = try mutated { json in
            editNamespace(&json, 4) { ns in
                var rs = ns["routes"] as! [[String: Any]]
                rs[0]["dst"] = text
                ns["routes"] = rs
            }
        }
        #expect(readError(data) == "bad.json: invalid snapshot: at .namespaces[4].routes[0].dst: not an IP prefix: \(text)")
        // --apply: route add and rule add
        var editor = SnapshotEditor(try Lab.snapshot(Self.lab), defaultNamespace: Self.server)
        #expect(throws: EditError.self) { try editor.apply(script: "ip route add \(text) dev ens19\n") }
        #expect(throws: EditError.self) { try editor.apply(script: "ip rule add from \(text) table 100\n") }
        // --flows: a client and the destination
        let flows = "flows:\n  - name: x\n    netns: \(Self.server)\n    clients: [\"\(text)\"]\n    to: 10.99.0.40\n    ingress: ens19\n"
        #expect(throws: FlowIntentError.self) { try FlowIntent.parse(yaml: flows, name: "f.yaml") }
        let to = "flows:\n  - name: x\n    clients: [10.0.0.0/8]\n    to: \"\(text)\"\n    ingress: ens19\n"
        #expect(throws: FlowIntentError.self) { try FlowIntent.parse(yaml: to, name: "f.yaml") }
    }
}

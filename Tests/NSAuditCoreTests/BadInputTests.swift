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
        #expect(throws: IPPrefixError.self) { try IPPrefix(validating: text) }
    }

    @Test func prefixErrorsSayWhatWasExpected() {
        #expect(IPPrefix.diagnose("") == .empty)
        #expect(IPPrefix.diagnose("/") == .noAddress("/"))
        #expect(IPPrefix.diagnose("10.0.0.0/") == .noLength("10.0.0.0/"))
        #expect(IPPrefix.diagnose("10.0.0.0/x") == .badLength("10.0.0.0/x"))
        #expect(IPPrefix.diagnose("10.0.0.0/33") == .tooLong("10.0.0.0/33", length: 33, family: .v4))
        #expect(IPPrefix.diagnose("::/129") == .tooLong("::/129", length: 129, family: .v6))
        #expect(IPPrefix.diagnose("10.0.0.300/8") == .badAddress("10.0.0.300/8"))
        #expect("\(IPPrefix.diagnose("10.0.0.0/33"))" == "\"10.0.0.0/33\": prefix length 33 is longer than an inet address (at most 32)")
        #expect("\(IPPrefix.diagnose("10.0.0.0/"))" == "\"10.0.0.0/\" has no length after the slash (expected ADDRESS/LENGTH or ADDRESS, e.g. 10.0.0.0/8)")
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
        #expect(readError(data) == "bad.json: invalid snapshot: at .namespaces[4].routes[0].dst: not an IP prefix: \(IPPrefix.diagnose(text))")
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

    // MARK: defect 3: a goto that does not point forward

    func serverEditor() throws -> SnapshotEditor { SnapshotEditor(try Lab.snapshot(Self.lab), defaultNamespace: Self.server) }

    @Test(arguments: ["ip rule add pref 10 goto 10", "ip rule add pref 10 goto 9", "ip rule add goto 5"])
    func editorRefusesABackwardGoto(_ command: String) throws {
        var editor = try serverEditor()
        do {
            try editor.apply(script: command + "\n")
            Issue.record("accepted: \(command)")
        } catch {
            #expect(error.line == 1)
            #expect(error.message.hasPrefix("Error: Backward goto not supported"), "\(error.message)")
        }
    }

    @Test func editorAcceptsAForwardGoto() throws {
        var editor = try serverEditor()
        try editor.apply(script: "ip rule add pref 10 goto 11\n")
        #expect(editor.snapshot.namespace(Self.server)!.rules.contains { $0.priority == 10 && $0.gotoTarget == 11 })
    }

    /// A snapshot holding backward and self gotos anyway: lookups and the report end, and a
    /// goto that does not point forward is passed over like an unresolved one.
    @Test func lookupAndReportEndWithABackwardGotoInASnapshot() throws {
        var snap = try Lab.snapshot(Self.lab)
        let k = snap.namespaces.firstIndex { $0.id == Self.server }!
        let plain = RoutingModel(snap.namespaces[k])
        for (prio, target) in [(10, 10), (20, 10), (30, 0)] as [(UInt32, UInt32)] {
            for f in [IPAddress.Family.v4, .v6] {
                var r = Rule(family: f, priority: prio, table: 0)
                r.action = RuleAction.goto; r.gotoTarget = target
                snap.namespaces[k].rules.insert(r, at: 1)
            }
        }
        let model = RoutingModel(snap.namespaces[k])
        for q in ["1.1.1.1", "10.99.0.40 from 192.168.127.10 iif ens19", "2001:db8::1"] {
            let a = try model.routeGet(line: q), b = try plain.routeGet(line: q)
            // (the table may differ in name only: with custom rules the kernel keeps local
            // and main apart, and says so)
            #expect(a.error == b.error && a.dev == b.dev && a.gateway == b.gateway && a.prefsrc == b.prefsrc, "\(q)")
        }
        let out = Audit(snap).run()
        #expect(out.namespaces.contains { $0.name == Self.server })
    }

    // MARK: CRLF --apply files

    @Test func crlfScriptIsReadAsLines() throws {
        var editor = try serverEditor()
        try editor.apply(script: "ip route add 10.9.0.0/16 dev ens19\r\nip route add 10.8.0.0/16 dev ens19\r\n")
        let routes = editor.snapshot.namespace(Self.server)!.routes.map(\.dst.description)
        #expect(routes.contains("10.9.0.0/16") && routes.contains("10.8.0.0/16"))
        do {
            try editor.apply(script: "ip route add 10.7.0.0/16 dev ens19\r\nip route add 10.6.0.0/16 dev nosuch\r\n")
            Issue.record("accepted a route on a missing device")
        } catch {
            #expect(error.line == 2)
            #expect(error.description == "line 2 (ip route add 10.6.0.0/16 dev nosuch): Cannot find device \"nosuch\"")
            #expect(!error.description.contains(where: { $0.isNewline }))
        }
    }

    // MARK: defect 4: a declared flow that applies to no namespace

    @Test func flowForAMissingNamespaceIsAnError() throws {
        let yaml = """
        flows:
          - name: typo
            netns: nosuch
            clients: [10.0.0.0/8]
            to: 10.99.0.40
            ingress: ens19
          - name: nowhere
            clients: [10.0.0.0/8]
            to: 10.99.0.40
            ingress: eth99
          - name: fine
            netns: \(Self.server)
            clients: [10.99.0.0/24]
            to: 10.99.0.40
            ingress: ens19
        """
        let intents = try FlowIntent.parse(yaml: yaml, name: "f.yaml")
        let out = Audit(try Lab.snapshot(Self.lab), options: .init(intents: intents, remediate: false)).run()
        let flagged = out.findings.filter { $0.kind == .intentViolated }
        let typo = try #require(flagged.first { $0.details?["intent"] == "typo" })
        #expect(typo.severity == .error)
        #expect(typo.summary == "Declared flow \"typo\" cannot be checked: the snapshot has no namespace \"nosuch\".")
        let nowhere = try #require(flagged.first { $0.details?["intent"] == "nowhere" })
        #expect(nowhere.summary.contains("no namespace has its ingress interface \"eth99\""))
        #expect(!flagged.contains { $0.details?["intent"] == "fine" })
        // Restricting the audit to one namespace does not hide it either.
        let only = Audit(try Lab.snapshot(Self.lab), options: .init(intents: intents, remediate: false)).run(namespaces: [Self.server])
        #expect(only.findings.contains { $0.details?["intent"] == "typo" })
    }

    // MARK: defect 6: names from the system reach the terminal escaped, JSON exactly

    static let hostile = "evil\u{1b}]0;owned\u{07}\nERROR fake-row"

    @Test func textReportEscapesNamesAndJSONKeepsThem() throws {
        var snap = try Lab.snapshot(Self.lab)
        let k = snap.namespaces.firstIndex { $0.id == Self.server }!
        snap.namespaces[k].id = Self.hostile
        snap.namespaces[k].names = [Self.hostile]
        snap.host = "host\u{1b}[2J"
        let report = Lab.report(snap, source: "x\ny")
        #expect(report.findings.contains { $0.netns == Self.hostile })
        let text = ReportRenderer.render(report, as: .text)
        #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7f })
        #expect(text.contains("evil\\x1b]0;owned\\x07\\nERROR fake-row"))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("ERROR fake-row") })
        #expect(text.hasPrefix("nsaudit — host\\x1b[2J at "))
        // JSON: the exact name, in JSON's own escapes.
        let json = ReportRenderer.render(report, as: .json)
        let back = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let findings = try #require(back["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["netns"] as? String == Self.hostile })
        #expect(back["host"] as? String == snap.host)
    }

    @Test func routeGetTextEscapesDeviceNames() {
        var m = IPRouteMessage(family: .v4, type: .unicast, dst: IPAddress("10.9.0.1"), dstLength: 32)
        m.dev = "eth\u{1b}[31m0"
        let text = IPRouteText.text(m)
        #expect(text.contains("dev eth\\x1b[31m0"))
        #expect(!text.unicodeScalars.contains { $0.value == 0x1b })
    }

    // MARK: YAML errors name the line and column, on one line

    func flowsError(_ yaml: String) -> String {
        do { _ = try FlowIntent.parse(yaml: yaml, name: "f.yaml"); return "(accepted)" } catch { return "\(error)" }
    }

    @Test func yamlErrorsNameLineAndColumn() throws {
        #expect(flowsError("flows: notalist\n") == "f.yaml: expected a list at .flows (line 1, column 8)")
        #expect(flowsError("- a\n- b\n") == "f.yaml: expected a mapping at top level (line 1, column 1)")
        #expect(flowsError("flows:\n  - name: x\n    clients: [10.0.0.0/8]\n    ingress: eth0\n")
                == "f.yaml: missing \"to\" at .flows[0] (line 2, column 5)")
        #expect(flowsError("flows:\n  - name: x\n    clients: [10.0.0.0/8]\n    to: 10.0.0.1\n    ingress: eth0\n    port: seventy\n").hasPrefix("f.yaml: expected a port number (0 to 65535) at .flows[0].port (line 6, column 11)"))
        let syntax = flowsError("flows:\n  - name: x\n    clients: [10.0.0.0/8\n")
        #expect(syntax.hasPrefix("f.yaml: not valid YAML: line 4, column 1: "), "\(syntax)")
        #expect(flowsError("flows: [a, b]\n") == "f.yaml: expected a mapping at .flows[0] (line 1, column 9)")
        #expect(flowsError("flows:\n  - name: x\n    ingres: eth0\n").hasPrefix("f.yaml: unknown field \"ingres\" at .flows[0] (line 3, column 5)"))
        // anchors and aliases for scalars and lists
        let anchored = """
        flows:
          - name: a
            netns: s
            clients: &mgmt [192.168.127.0/24]
            to: 10.99.0.40
            ingress: &in ens19
          - name: b
            netns: s
            clients: *mgmt
            to: 10.99.0.41
            ingress: *in
            port: ~
        """
        #expect(flowsError(anchored) == "(accepted)")
        #expect(try FlowIntent.parse(yaml: anchored, name: "f.yaml")[1] ==
                FlowIntent(name: "b", netns: "s", clients: ["192.168.127.0/24"], to: "10.99.0.41", ingress: "ens19"))
        #expect(!syntax.contains { $0.isNewline })
        #expect(flowsError("") == "f.yaml: the file is empty; expected a mapping with a `flows:` list")
        // Checks after decoding name the flow's line.
        #expect(flowsError("flows:\n  - name: x\n    clients: [10.0.0.0/8]\n    to: 10.0.0.0/8\n    ingress: eth0\n")
                == "f.yaml: flow 1 (x, line 2): to must be one local address (or set transit: true)")
    }
}

import Foundation
@testable import NSAuditCore
import Testing

/// `nsaudit diff` on recorded fixture pairs: the exact configuration changes, the finding
/// transitions they explain, reports and mixed inputs, bad input, the JSON schema and the
/// text layout.
@Suite struct DiffTests {
    static let server = "nsarec-server"

    static func diff(_ a: Snapshot, _ b: Snapshot, remediate: Bool = true) -> Diff {
        Diff.compare(old: .snapshot(a), oldFile: "old.json", new: .snapshot(b), newFile: "new.json",
                     options: .init(remediate: remediate))
    }

    /// A snapshot with `script` (ip commands) applied in the server namespace.
    static func edited(_ lab: String, _ script: String) throws -> Snapshot {
        let snap = try Lab.snapshot(lab)
        var editor = SnapshotEditor(snap, defaultNamespace: server)
        try editor.apply(script: script)
        return editor.snapshot
    }

    /// Changes that steer routing, without the link-local addresses and their local routes
    /// that every recorded lab has anew (the veths were created again between recordings).
    static func routingChanges(_ d: Diff, in netns: String) -> [String] {
        d.changes.filter { c in
            c.netns == netns && c.reach.routing && !(c.old ?? c.new ?? "").contains("fe80:")
        }.map(\.line)
    }

    @Test func sourceRoutingFixAddsRulesAndTablesAndResolvesTheFindings() throws {
        let d = Self.diff(try Lab.snapshot("mgmt-broken"), try Lab.snapshot("mgmt-srcroute"))
        #expect(Self.routingChanges(d, in: Self.server) == [
            "rule 32765 from 10.99.0.40 lookup 100 added",
            "rule 32765 from fd00:99::40 lookup 100 added",
            "route default via 10.99.0.1 dev ens19 table 100 added",
            "route default via fd00:99::1 dev ens19 table 100 metric 1024 pref medium added",
        ])
        // The other namespaces only got new link-local addresses and MAC addresses.
        for ns in ["nsarec-left-router", "nsarec-right-router", "nsarec-left-client", "nsarec-right-client"] {
            #expect(Self.routingChanges(d, in: ns) == [], "\(ns)")
            #expect(d.changes.contains { $0.netns == ns && $0.object == .link && $0.fields == ["mac"] && !$0.reach.routing })
        }
        #expect(d.newFindings.isEmpty && d.changedFindings.isEmpty)
        let resolved = d.resolvedFindings
        // One finding per (address, ingress, kind) since report v2: IPv4's and IPv6's.
        #expect(Set(resolved.map(\.id)) == ["asymmetric-reply:45bbeba2b3490035", "asymmetric-reply:4cd1037fcd6c2b29"])
        // Each is explained by its own family's rule and route, nothing else.
        for t in resolved {
            let lines = t.explainedBy.map { d.changes[$0].line }
            #expect(t.attribution == .reaching)
            if t.localAddress?.family == .v4 {
                #expect(lines == ["rule 32765 from 10.99.0.40 lookup 100 added", "route default via 10.99.0.1 dev ens19 table 100 added"])
            } else {
                #expect(lines == ["rule 32765 from fd00:99::40 lookup 100 added",
                                  "route default via fd00:99::1 dev ens19 table 100 metric 1024 pref medium added"])
            }
        }
        #expect(d.behaviouralSeverities.isEmpty, "only resolved findings: no behavioural change")
    }

    @Test func strictRPFilterTurnsTheAsymmetryIntoDrops() throws {
        let d = Self.diff(try Lab.snapshot("mgmt-broken"), try Lab.snapshot("mgmt-rpfilter"))
        #expect(Self.routingChanges(d, in: Self.server) == ["sysctl net.ipv4.conf.ens19.rp_filter 0 → 1"])
        let sysctl = d.changes.firstIndex { $0.object == .sysctl }!
        #expect(d.changes[sysctl].old == "net.ipv4.conf.ens19.rp_filter = 0" && d.changes[sysctl].new == "net.ipv4.conf.ens19.rp_filter = 1")
        #expect(Set(d.resolvedFindings.map(\.id)) == ["asymmetric-reply:45bbeba2b3490035"])
        #expect(d.newFindings.map(\.id) == ["rp-filter-drop:4024b28e97cc6d75"])
        #expect(d.newFindings.map(\.severity) == [.warning])
        #expect(d.changedFindings.isEmpty)
        for t in d.findings { #expect(t.explainedBy == [sysctl] && t.attribution == .reaching, "\(t.id)") }
        #expect(d.behaviouralSeverities.max() == .warning)
    }

    @Test func aSnapshotAgainstItselfHasNoChanges() throws {
        let s = try Lab.snapshot("router-ecmp")
        let d = Self.diff(s, s)
        #expect(d.changes.isEmpty && d.findings.isEmpty && d.namespacesCompared.isEmpty)
    }

    /// Devices are matched by name: the same configuration under other ifindexes is no change.
    @Test func ifindexesAreTranslatedToNames() throws {
        let a = try Lab.snapshot("mgmt-broken")
        var b = a
        let k = b.namespaces.firstIndex { $0.id == Self.server }!
        func renumber(_ i: Int32) -> Int32 { i == 1 ? 1 : i + 40 }
        var ns = b.namespaces[k]
        for i in ns.links.indices { ns.links[i].index = renumber(ns.links[i].index); ns.links[i].master = ns.links[i].master.map(renumber) }
        for i in ns.addresses.indices { ns.addresses[i].index = renumber(ns.addresses[i].index) }
        for i in ns.routes.indices {
            ns.routes[i].oif = ns.routes[i].oif.map(renumber)
            if let hops = ns.routes[i].nexthops { ns.routes[i].nexthops = hops.map { var h = $0; h.oif = h.oif.map(renumber); return h } }
        }
        b.namespaces[k] = ns
        #expect(ConfigDiff.changes(old: a, new: b).isEmpty)
        // A route moved to another device is a change of that route.
        b.namespaces[k].routes[b.namespaces[k].routes.firstIndex { $0.table == Table.main && $0.dst.length == 0 && $0.family == .v4 }!].oif = 41 + 2
        let c = ConfigDiff.changes(old: a, new: b)
        #expect(c.count == 1 && c[0].object == .route && c[0].fields == ["dev"], "\(c.map(\.line))")
    }

    /// A route that sends part of the clients back through the ingress: the same finding
    /// (same id) with fewer sources — `changed`, with the blocks that left it.
    @Test func aNarrowerAsymmetryIsAChangedFinding() throws {
        let a = try Lab.snapshot("mgmt-broken")
        let b = try Self.edited("mgmt-broken", "ip route add 192.168.0.0/16 via 10.99.0.1 dev ens19")
        let d = Self.diff(a, b, remediate: false)
        #expect(Self.routingChanges(d, in: Self.server) == ["route 192.168.0.0/16 via 10.99.0.1 dev ens19 added"])
        // 10.20.30.40's finding on ens18 gains a part (replies to 192.168.0.0/16 now leave
        // through ens19 via 10.99.0.1): another egress and gateway, so another id (report v2
        // ids name them): the old one resolved, the new one below.
        #expect(d.resolvedFindings.map(\.id) == ["asymmetric-reply:af72973feeb2b1b1"])
        // The warning for 10.99.0.40 on ens19 loses 192.168.0.0/16 (its replies now leave
        // through ens19); the info finding (sources not reached by a default route) stays.
        let changed = d.changedFindings
        #expect(changed.map(\.id) == ["asymmetric-reply:45bbeba2b3490035"])
        #expect(changed.first?.fields == ["sources", "summary"])
        #expect(changed.first?.sourcesRemoved == [IPPrefix("192.168.0.0/16")!] && changed.first?.sourcesAdded == [])
        #expect(changed.first?.attribution == .reaching && changed.first?.explainedBy.map { d.changes[$0].object } == [.route])
        // ... and 10.20.30.40's replies to 192.168.0.0/16 now leave through ens19.
        #expect(d.newFindings.map(\.id).count == 1 && d.newFindings.first?.localAddress?.description == "10.20.30.40")
        #expect(d.newFindings.first?.new?.egress == "ens19")
        #expect(d.behaviouralSeverities.contains(.warning))
        let text = DiffRenderer.text(d)
        #expect(text.contains("""
          route 192.168.0.0/16 via 10.99.0.1 dev ens19 added
          → asymmetric-reply 10.99.0.40 on ens19 changed: sources -192.168.0.0/16

        """), "\(text)")
    }

    @Test func routesAreMatchedByTheirKernelIdentity() throws {
        let a = try Self.edited("mgmt-broken", "ip route add 203.0.113.0/24 via 10.20.30.1 dev ens18 metric 10")
        // Same table, prefix, tos and metric: the type and gateway changed.
        let b = try Self.edited("mgmt-broken", "ip route add blackhole 203.0.113.0/24 metric 10")
        // Another metric: another FIB entry.
        let c = try Self.edited("mgmt-broken", "ip route add 203.0.113.0/24 via 10.20.30.1 dev ens18 metric 20")
        let ab = ConfigDiff.changes(old: a, new: b).filter { $0.object == .route && $0.netns == Self.server }
        #expect(ab.count == 1 && ab[0].change == .changed && ab[0].fields == ["type", "gateway", "dev"])
        #expect(ab[0].new == "blackhole 203.0.113.0/24 metric 10")
        let ac = ConfigDiff.changes(old: a, new: c).filter { $0.object == .route && $0.netns == Self.server }
        #expect(ac.map(\.change) == [.removed, .added])
    }

    /// The side-by-side walk over two route dumps finds what matching by hash finds, for
    /// lists with insertions, deletions and replaced routes scattered through them.
    @Test func walkingInOrderMatchesLikeHashing() {
        var g = SeededRandom(11)
        for _ in 0..<20 {
            let n = 2000 + Int(g.next() % 2000)
            let old = (0..<n).map { i in
                var r = Route(family: .v4, table: [254, 100][i % 2], type: .unicast, dst: IPPrefix(IPAddress(v4: UInt32(0x1000_0000 + i * 256)), 24))
                r.gateway = IPAddress(v4: 0x0a00_0001 + UInt32(i % 7)); r.oif = 2
                return r
            }
            var new = old
            for _ in 0..<Int(g.next() % 60) {
                let k = Int(g.next() % UInt64(new.count))
                switch g.next() % 3 {
                case 0: new.removeSubrange(k..<min(new.count, k + Int(1 + g.next() % 30)))
                case 1: new[k].gateway = IPAddress(v4: 0x0a00_00fe); new[k].metric = new[k].metric  // replaced
                default:
                    // a block of new routes (up to 40)
                    for _ in 0..<Int(1 + g.next() % 40) {
                        var r = new[k]; r.dst = IPPrefix(IPAddress(v4: 0xc000_0000 + UInt32(g.next() % 100_000) * 256), 24)
                        new.insert(r, at: k)
                    }
                }
            }
            if g.next() % 4 == 0 { new.shuffle(using: &g) }  // another order altogether
            let names = ConfigDiff.DeviceNames(NamespaceSnapshot(id: "x"))
            let diff = { (a: Route, b: Route) in ConfigDiff.routeFields(a, names, b, names) }
            let hashed = ConfigDiff.match(old, new, key: ConfigDiff.RouteKey.init, differences: diff)
            let walked = ConfigDiff.matchInOrder(old, new, key: ConfigDiff.RouteKey.init, window: 8, differences: diff)
            #expect(Set(walked.removed) == Set(hashed.removed), "\(g.seedNote)")
            #expect(Set(walked.added) == Set(hashed.added), "\(g.seedNote)")
            #expect(walked.changed.map { "\($0.0) \($0.1) \($0.2)" }.sorted() == hashed.changed.map { "\($0.0) \($0.1) \($0.2)" }.sorted(), "\(g.seedNote)")
        }
    }

    @Test func twoReportsCompareFindingsOnly() throws {
        func report(_ lab: String) throws -> Report {
            try JSONDecoder().decode(Report.self, from: Data(contentsOf: Repo.file("fixtures/reports/\(lab).json")))
        }
        let fromReports = Diff.compare(old: .report(try report("mgmt-broken")), oldFile: "a", new: .report(try report("mgmt-srcroute")), newFile: "b")
        let fromSnapshots = Self.diff(try Lab.snapshot("mgmt-broken"), try Lab.snapshot("mgmt-srcroute"))
        #expect(fromReports.changes.isEmpty)
        #expect(fromReports.notes == ["configuration changes need two snapshots: both are reports"])
        #expect(fromReports.findings.map(\.id) == fromSnapshots.findings.map(\.id))
        #expect(fromReports.findings.allSatisfy { $0.attribution == .unavailable && $0.explainedBy.isEmpty })
        // A snapshot against a report: findings from the audit of the snapshot.
        let mixed = Diff.compare(old: .snapshot(try Lab.snapshot("mgmt-broken")), oldFile: "a", new: .report(try report("mgmt-rpfilter")), newFile: "b.json")
        #expect(mixed.changes.isEmpty && mixed.notes.first == "configuration changes need two snapshots: NEW (b.json) is a report")
        let rp = Self.diff(try Lab.snapshot("mgmt-broken"), try Lab.snapshot("mgmt-rpfilter"))
        #expect(mixed.findings.map(\.id) == rp.findings.map(\.id))
        #expect(mixed.findings.map(\.state) == rp.findings.map(\.state))
    }

    @Test func badInputNamesTheFileAndTheProblem() throws {
        let full = try Data(contentsOf: Repo.file("fixtures/snapshots/mgmt-broken.json"))
        let cases: [(Data, String)] = [
            (Data(), "x.json: the file is empty"),
            (full.prefix(full.count / 2), "x.json: the JSON ends early (truncated)"),
            (Data("not json".utf8), "x.json: not JSON (syntax error)"),
            (Data(#"{"a": 1}"#.utf8), "x.json: no \"schema\" member"),
            (Data(#"{"schema": "nsaudit.report/v9"}"#.utf8), "x.json: schema \"nsaudit.report/v9\" is neither"),
            (Data(#"{"schema": "nsaudit.report/v1", "findings": 3}"#.utf8), "x.json: invalid report: at "),
            (Data(#"{"schema": "nsaudit.snapshot/v1", "namespaces": 3}"#.utf8), "x.json: invalid snapshot"),
        ]
        for (data, expected) in cases {
            #expect(throws: DiffInputError.self) { try DiffInput.read(data, name: "x.json") }
            do { _ = try DiffInput.read(data, name: "x.json"); Issue.record("no error for \(expected)") } catch {
                #expect(error.description.hasPrefix(expected), "\(error)")
                #expect(error.description.contains("give two snapshots"))
            }
        }
        if case .report(let r) = try DiffInput.read(try Data(contentsOf: Repo.file("fixtures/reports/mgmt-broken.json")), name: "r") {
            #expect(r.findings.count == 20)
        } else { Issue.record("a report read as something else") }
        guard case .snapshot = try DiffInput.read(full, name: "s") else { Issue.record("a snapshot read as something else"); return }
    }

    /// A file's bytes (what the command reads) give what its `Data` gives: a snapshot with its
    /// schema first is decoded in one pass, one with its schema last the careful way, to the
    /// same snapshot; a truncated or inconsistent snapshot, a report and every bad input give
    /// the same answer or error.
    @Test func fileBytesReadAsTheirData() throws {
        let full = try Data(contentsOf: Repo.file("fixtures/snapshots/mgmt-broken.json"))
        let head = #"{"schema":"nsaudit.snapshot/v1","#
        var text = String(decoding: full, as: UTF8.self)
        #expect(text.hasPrefix(head))
        while text.last?.isWhitespace == true { text.removeLast() }
        let schemaLast = Data(("{" + text.dropFirst(head.count).dropLast() + #","schema":"nsaudit.snapshot/v1"}"#).utf8)
        var badRoute = text.replacingOccurrences(of: #""dst":"10.99.0.0/24""#, with: #""dst":"fd00::/64""#)
        badRoute += "\n"
        let inputs: [Data] = [full, schemaLast, Data(badRoute.utf8), full.prefix(full.count / 2), Data(), Data("not json".utf8),
                              Data(#"{"schema": "nsaudit.snapshot/v1", "namespaces": 3}"#.utf8),
                              Data(#"{"schema": "nsaudit.report/v9"}"#.utf8),
                              try Data(contentsOf: Repo.file("fixtures/reports/mgmt-broken.json"))]
        #expect(badRoute != text + "\n", "the fixture has a route to 10.99.0.0/24 to break")
        func outcome(_ x: () throws(DiffInputError) -> DiffInput) -> String {
            do throws(DiffInputError) {
                switch try x() {
                case .snapshot(let s): return "snapshot \(s.namespaces.map { "\($0.id) \($0.routes.count)" })"
                case .report(let r): return "report \(r.findings.map(\.id))"
                }
            } catch { return "error \(error)" }
        }
        for (k, data) in inputs.enumerated() {
            let bytes = outcome { () throws(DiffInputError) in try DiffInput.read([UInt8](data), name: "x.json") }
            #expect(bytes == outcome { () throws(DiffInputError) in try DiffInput.read(data, name: "x.json") }, "input \(k)")
            if k < 2 { #expect(bytes.hasPrefix("snapshot "), "input \(k): \(bytes)") } else { #expect(!bytes.hasPrefix("snapshot "), "input \(k)") }
        }
        let a = try DiffInput.read([UInt8](full), name: "a"), b = try DiffInput.read([UInt8](schemaLast), name: "b")
        if case .snapshot(let x) = a, case .snapshot(let y) = b { #expect(x == y) } else { Issue.record("not snapshots") }
    }

    @Test func jsonFollowsTheSchema() throws {
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/diff.schema.json"))
        let a = try Lab.snapshot("mgmt-broken")
        let diffs = [
            Self.diff(a, try Lab.snapshot("mgmt-rpfilter")),
            Self.diff(a, try Self.edited("mgmt-broken", "ip route add 192.168.0.0/16 via 10.99.0.1 dev ens19")),
            Self.diff(a, a),
            Diff.compare(old: .snapshot(a), oldFile: "a", new: .report(Lab.report(a, source: "x")), newFile: "b"),
        ]
        for d in diffs {
            let text = DiffRenderer.json(d)
            let json = try JSONSerialization.jsonObject(with: Data(text.utf8))
            #expect(v.validate(json) == [])
            let o = json as! [String: Any]
            #expect(o["schema"] as? String == "nsaudit.diff/v1")
            let f = o["findings"] as! [String: [Any]]
            #expect(f["new"]!.count == d.newFindings.count && f["resolved"]!.count == d.resolvedFindings.count
                    && f["changed"]!.count == d.changedFindings.count)
            #expect((o["changes"] as! [Any]).count == d.changes.count)
        }
    }

    @Test func textPutsTheChangesBeforeWhatTheyExplainAndFits80Columns() throws {
        let d = Self.diff(try Lab.snapshot("mgmt-broken"), try Lab.snapshot("mgmt-srcroute"))
        let text = DiffRenderer.text(d)
        #expect(text.contains("""
        nsarec-server
          rule 32765 from 10.99.0.40 lookup 100 added
          route default via 10.99.0.1 dev ens19 table 100 added
          → asymmetric-reply 10.99.0.40 on ens19 resolved (was warning)
          rule 32765 from fd00:99::40 lookup 100 added
          route default via fd00:99::1 dev ens19 table 100 metric 1024 pref medium added
          → asymmetric-reply fd00:99::40 on ens19 resolved (was warning)

        """), "\(text)")
        #expect(text.contains("findings: 0 new, 2 resolved, 0 changed; 44 configuration changes in 5 namespaces\n"))
        for line in text.split(separator: "\n") { #expect(line.count <= 80, "\(line)") }
        // Names from the files are escaped.
        var evil = d
        evil.findings[0].netns = "ns\u{1b}]0;x\u{7}"
        evil.changes[0].netns = evil.findings[0].netns
        #expect(!DiffRenderer.text(evil).contains("\u{1b}"))
    }
}

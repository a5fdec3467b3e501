import FIBReference
import Foundation
@testable import NSAuditCore
import Testing

/// The plain reference model (Tests/FIBReference) against the recorded kernel answers, and
/// RoutingModel with each of its accelerators against the reference: the output block index
/// (forced onto small tables too), the leaves and their fast flag, the merged local/main
/// table, the output rule program, the touch tables of the bulk lookups and the analysis'
/// batched decisions (ReplyDecision4), on every recorded corpus namespace and on generated
/// tables.
@Suite("reference model")
struct ReferenceModelTests {
    struct Namespace {
        let name: String
        let ns: NamespaceSnapshot
        let cases: [RouteGetCase]
    }

    static func corpus(_ dirs: [String]) throws -> [Namespace] {
        var out: [Namespace] = []
        for dir in dirs {
            for f in LookupCorpusReplayTests.corpusFiles(dir) {
                let (header, cases) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
                let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
                let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
                guard let ns = snap.namespace(header.namespace) else { continue }
                out.append(Namespace(name: dir + "/" + (f as NSString).lastPathComponent, ns: ns, cases: cases))
            }
        }
        return out
    }

    /// Where two answers differ on what the reference decides (error, rule, type, device,
    /// gateway, table, the candidate paths, the IPv4 source).
    static func differences(_ m: RouteResult, _ r: RouteResult) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ what: String, _ a: T, _ b: T) { if a != b { out.append("\(what) model=\(a) reference=\(b)") } }
        check("error", m.error, r.error)
        check("rule", m.rule, r.rule)
        check("type", m.type, r.type)
        if m.error != nil || r.error != nil { return out }
        check("dev", m.dev, r.dev)
        check("gateway", m.gateway, r.gateway)
        check("table", m.table, r.table)
        let v4 = m.family == .v4
        func paths(_ x: RouteResult) -> [String] {
            x.multipath.map { "\($0.dev) \($0.gateway?.description ?? "-") \($0.error?.rawValue ?? "ok") #\($0.nexthop) \($0.route ?? -1) "
                + (v4 ? $0.prefsrc?.description ?? "-" : "") }
        }
        check("multipath", paths(m), paths(r))
        if v4 { check("prefsrc", m.prefsrc, r.prefsrc) }
        return out
    }

    /// IPv4 decisions of RoutingModel (decideOutput4) against the reference's answer to
    /// `DST` alone.
    static func differences(_ d: RoutingModel.OutputDecision4, _ model: RoutingModel, _ r: RouteResult) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ what: String, _ a: T, _ b: T) { if a != b { out.append("\(what) model=\(a) reference=\(b)") } }
        check("error", d.error, r.error)
        check("rule", d.rule, r.rule)
        if d.error != nil { check("reject type", d.rejectType, r.type); return out }
        check("type", d.type, r.type)
        check("table", d.hit.flatMap { $0.table == 0 ? nil : $0.table }, r.table)
        if !(d.multipath || d.defaultAlternatives) {
            check("dev", model.name(of: d.devOut), r.dev)
            check("source", d.saddr, r.prefsrc?.v4 ?? 0)
            if let h = d.hit, !d.local, d.type == .unicast { check("gateway", model.gateway4(d, h), r.gateway) }
        }
        return out
    }

    /// The analysis' decision for the reply `DST from SRC` against the reference's answer.
    static func differences(_ d: ReplyDecision4, _ model: RoutingModel, _ r: RouteResult) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ what: String, _ a: T, _ b: T) { if a != b { out.append("\(what) model=\(a) reference=\(b)") } }
        check("error", d.error, r.error)
        check("rule", d.rule, r.rule)
        if d.error != nil { check("reject type", d.rejectType, r.type); return out }
        check("type", d.type, r.type)
        check("table", d.table.flatMap { $0 == 0 ? nil : $0 }, r.table)
        if d.candidatesOf < 0 {
            check("dev", model.name(of: d.egressDevice), r.dev)
            if !d.local && d.type == .unicast { check("gateway", d.gateway, r.gateway) }
        }
        return out
    }

    /// The model configurations checked, each with the reference it must agree with.
    static func configurations(_ ns: NamespaceSnapshot) -> [(String, RoutingModel, ReferenceFIB)] {
        let kernel = ReferenceFIB(ns), unmerged = ReferenceFIB(ns, mergeLocalAndMain: false)
        var forced = LookupAccelerator4.Options.standard
        forced.outputIndexMinimum = 0
        var none = LookupAccelerator4.Options.standard
        none.outputIndexMinimum = Int.max; none.leaves = false; none.outputRuleProgram = false
        return [("standard", RoutingModel(ns), kernel),
                ("output index forced", RoutingModel(ns, forceUnmerged: false, accelerators: forced), kernel),
                ("no accelerators", RoutingModel(ns, forceUnmerged: false, accelerators: none), kernel),
                ("unmerged, output index forced", RoutingModel(ns, forceUnmerged: true, accelerators: forced), unmerged)]
    }

    /// Compares one model with the reference on `lines` (routeGet), on the IPv4
    /// destinations `dsts` (decideOutput4 one at a time and in bulk) and on the replies from
    /// each local IPv4 address to some of them (replyDecision4). Returns the comparisons made
    /// and the disagreements.
    static func compare(_ label: String, _ model: RoutingModel, _ ref: ReferenceFIB, lines: [String], dsts: [UInt32],
                        sources: [UInt32]) -> (Int, [String]) {
        var n = 0, bad: [String] = []
        for l in lines {
            guard let q = try? RouteQuery.parse(l), let want = ref.routeGet(q), let got = try? model.routeGet(q) else { continue }
            n += 1
            let d = differences(got, want)
            if !d.isEmpty { bad.append("\(label) `\(l)`: " + d.joined(separator: "; ")) }
        }
        var wants: [RouteResult] = []
        for a in dsts {
            let want = ref.routeGet(RouteQuery(dst: IPAddress(v4: a)))!
            wants.append(want)
            n += 1
            let d = differences(model.decideOutput4(dst: a), model, want)
            if !d.isEmpty { bad.append("\(label) decideOutput4 \(IPAddress(v4: a)): " + d.joined(separator: "; ")) }
        }
        // in bulk (the touch tables read ahead): the same decisions
        let out = UnsafeMutablePointer<RoutingModel.OutputDecision4>.allocate(capacity: dsts.count)
        defer { out.deinitialize(count: dsts.count); out.deallocate() }
        dsts.withUnsafeBufferPointer { _ = model.decideOutput4(destinations: $0, into: out) }
        for (i, a) in dsts.enumerated() {
            n += 1
            let d = differences(out[i], model, wants[i])
            if !d.isEmpty { bad.append("\(label) bulk decideOutput4 \(IPAddress(v4: a)): " + d.joined(separator: "; ")) }
        }
        for s in sources {
            for a in dsts.enumerated().filter({ $0.offset % 11 == 0 }).map(\.element) {
                var q = RouteQuery(dst: IPAddress(v4: a))
                q.src = IPAddress(v4: s)
                guard let want = ref.routeGet(q) else { continue }
                let d = model.replyDecision4(dst: a, src: s, oif: 0, mark: 0, tos: 0, proto: 0, sport: 0, dport: 0, uid: 0, lookup: nil)
                n += 1
                let x = differences(d, model, want)
                if !x.isEmpty { bad.append("\(label) replyDecision4 \(IPAddress(v4: a)) from \(IPAddress(v4: s)): " + x.joined(separator: "; ")) }
            }
        }
        return (n, bad)
    }

    @Test("the reference reproduces the recorded kernel answers", arguments: ["generated", "generated-v857", "vrf"])
    func referenceAgreesWithKernel(_ dir: String) throws {
        var total = 0, skipped = 0, refused = 0, failures: [String] = []
        for c in try Self.corpus([dir]) {
            let ref = ReferenceFIB(c.ns)
            for k in c.cases {
                total += 1
                guard let r = ref.routeGet(line: k.query) else {
                    // a device the namespace does not have (ip refuses the query), or an answer the
                    // reference leaves out
                    if let q = try? RouteQuery.parse(k.query), [q.oif, q.iif, q.vrf].contains(where: { $0 != nil && c.ns.link(named: $0!) == nil }) {
                        refused += 1
                    } else { skipped += 1 }
                    continue
                }
                let d = RouteGetComparison.disagreements(r, k.kernel)
                if !d.isEmpty { failures.append("\(c.name) `\(k.query)`: " + d.joined(separator: "; ")) }
            }
        }
        print("reference model, \(dir): \(total - skipped - refused) recorded kernel answers compared, \(refused) queries on a missing device, "
              + "\(skipped) left out, \(failures.count) disagreements")
        #expect(total >= (dir == "vrf" ? 10 : 20_000))
        #expect(skipped == 0, "the reference leaves out \(skipped) of \(total)")
        #expect(failures.isEmpty, "\(failures.count) disagreements: \(failures.prefix(20))")
    }

    @Test("every accelerator decides as the reference on the recorded corpus namespaces")
    func acceleratorsOnCorpus() throws {
        var total = 0, bad: [String] = []
        for c in try Self.corpus(["generated", "generated-v857", "vrf"]) {
            var lines = c.cases.map(\.query)
            let dsts = OutputBlockIndexTests.probes(c.ns, random: 10)
            lines += dsts.enumerated().filter { $0.offset % 8 == 0 }.map { IPAddress(v4: $0.element).description }
            let sources = c.ns.addresses.filter { $0.family == .v4 && $0.local.v4 >> 24 != 127 }.prefix(2).map(\.local.v4)
            for (name, model, ref) in Self.configurations(c.ns) {
                let (n, b) = Self.compare("\(c.name) [\(name)]", model, ref, lines: lines, dsts: dsts, sources: sources)
                total += n; bad += b
            }
        }
        print("reference model: \(total) comparisons with RoutingModel on the recorded corpus namespaces, \(bad.count) disagreements")
        #expect(total >= 150_000)
        #expect(bad.isEmpty, "\(bad.count) disagreements: \(bad.prefix(20))")
    }

    @Test("every accelerator decides as the reference on large generated tables")
    func acceleratorsOnGeneratedTables() {
        let seeds: [UInt64] = [7, UInt64.random(in: 0...UInt64.max)]
        func r(_ p: UInt32, _ t: UInt32, action: UInt8 = RuleAction.toTable, dst: String? = nil, src: String? = nil,
               invert: Bool = false, suppress: Int32? = nil, goto: UInt32? = nil) -> Rule {
            OutputBlockIndexTests.rule(p, t, action: action, dst: dst, src: src, invert: invert, suppress: suppress, goto: goto)
        }
        let defaults = [r(0, Table.local), r(32766, Table.main), r(32767, Table.default)]
        let ruleSets: [(String, [Rule])] = [
            ("default rules", defaults),
            ("custom rules", [r(0, Table.local), r(10, 200, dst: "198.18.0.0/15"),
                              r(11, 0, action: RuleAction.unreachable, dst: "198.20.5.0/24"),
                              r(12, 0, action: RuleAction.prohibit, dst: "203.0.113.128/25"),
                              r(13, 0, action: RuleAction.goto, dst: "100.64.0.0/10", goto: 32767),
                              r(14, 201, src: "10.1.0.1/32"), r(15, 202), r(16, 0, action: RuleAction.nop),
                              r(32766, Table.main), r(32767, Table.default)]),
            ("a suppressing main rule first", [r(0, Table.local), r(5, Table.main, suppress: 0), r(6, 200), r(32766, Table.main)]),
            ("an inverted rule", [r(0, Table.local), r(5, 200, dst: "10.0.0.0/8", invert: true), r(32766, Table.main)]),
        ]
        var total = 0
        for seed in seeds {
            for (name, rules) in ruleSets {
                let ns = OutputBlockIndexTests.generated(5_000, rules: rules, seed: seed)
                var rng = SplitMix64(seed: seed ^ 0x5eed)
                let dsts = OutputBlockIndexTests.probes(ns, random: 2_000).enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
                var lines: [String] = []
                for (i, a) in dsts.enumerated() where i % 5 == 0 {
                    let d = IPAddress(v4: a).description
                    switch rng.next() % 8 {
                    case 0: lines.append("\(d) oif eth1")
                    case 1: lines.append("\(d) mark 7")
                    case 2: lines.append("\(d) tos 0x10")
                    case 3: lines.append("\(d) from 10.1.0.1")
                    case 4: lines.append("\(d) from 10.0.0.7 iif eth0")
                    case 5: lines.append("\(d) from 198.18.\(rng.next() % 4).\(rng.next() % 256) iif eth1")
                    case 6: lines.append("\(d) from 10.1.0.9 oif eth0")
                    default: lines.append(d)
                    }
                }
                var bad: [String] = []
                for (config, model, ref) in Self.configurations(ns) {
                    let (n, b) = Self.compare("\(name) [\(config)]", model, ref, lines: lines, dsts: dsts,
                                              sources: [0x0A00_0001, 0x0A01_0001, 0x0A01_0009])
                    total += n; bad += b
                }
                #expect(bad.isEmpty, "seed \(seed), \(name): \(bad.count) disagreements: \(bad.prefix(10))")
            }
        }
        print("reference model: \(total) comparisons with RoutingModel on generated tables (seeds \(seeds))")
        #expect(total >= 100_000)
    }
}

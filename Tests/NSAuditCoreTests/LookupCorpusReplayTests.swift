import Foundation
import NSAuditCore
import Testing

/// Offline replay of the recorded route-get differential corpus (fixtures/routeget): every
/// recorded kernel answer must be reproduced by the model from the recorded snapshot. Runs
/// without root on every `swift test`.
@Suite("route-get corpus replay (offline)")
struct LookupCorpusReplayTests {
    static var fixtureRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fixtures/routeget").path
    }

    static func corpusFiles(_ sub: String) -> [String] {
        let dir = fixtureRoot + "/" + sub
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".queries.jsonl") }.sorted().map { dir + "/" + $0 }
    }

    static func replay(_ files: [String], title: String,
                       model makeModel: (NamespaceSnapshot) -> RoutingModel = { RoutingModel($0) }) throws -> (AgreementTally, [String]) {
        var tally = AgreementTally()
        var failures: [String] = []
        for f in files {
            let (header, cases) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
            let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
            let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            guard let ns = snap.namespace(header.namespace) else {
                failures.append("\(f): namespace \(header.namespace) missing from the snapshot"); continue
            }
            let model = makeModel(ns)
            for c in cases {
                do {
                    let r = try model.routeGet(line: c.query)
                    let d = RouteGetComparison.disagreements(r, c.kernel)
                    tally.add(tags: AgreementTally.categories(r, c.kernel, queryTags: c.tags, rules: ns.rules), agree: d.isEmpty,
                              prefsrc: RouteGetComparison.prefsrcAgrees(r, c.kernel))
                    if !d.isEmpty { failures.append("\((f as NSString).lastPathComponent) `\(c.query)`: " + d.joined(separator: "; ")) }
                } catch {
                    failures.append("\((f as NSString).lastPathComponent) `\(c.query)`: \(error)")
                }
            }
        }
        print(tally.report(title: title))
        return (tally, failures)
    }

    /// Every recorded configuration is replayed with the kernel facts of the machine that
    /// recorded it (they are in its snapshot), so the replay holds on any machine.
    @Test("recorded kernel answers (generated configurations) are reproduced",
          arguments: ["generated", "generated-v857"])
    func generatedCorpus(_ dir: String) throws {
        let files = Self.corpusFiles(dir)
        #expect(files.count >= 100, "expected the recorded corpus in \(Self.fixtureRoot)/\(dir)")
        for f in files {
            let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
            let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            #expect(snap.kernelFacts.recorded && snap.kernelFacts.release == snap.kernel, "\(snapPath) must carry the recording kernel's facts")
        }
        let (tally, failures) = try Self.replay(files, title: "route-get offline replay (\(dir)): \(files.count) recorded configurations")
        #expect(tally.total >= 20_000)
        #expect(failures.isEmpty, "\(failures.count) disagreements: \(failures.prefix(20))")
    }

    /// The kernel facts decide answers: the same recorded configuration replayed with the
    /// other value of a fact gives other answers where the kernel's behaviour depends on it.
    @Test func factsDecideMulticastInputAnswers() throws {
        let files = Self.corpusFiles("generated-v857")
        var checked = 0
        for f in files {
            let (header, cases) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
            let mc = cases.filter { $0.query.hasPrefix("ff0") && $0.query.contains(" iif ") && $0.kernel.error == "EMSGSIZE" }
            guard !mc.isEmpty else { continue }
            let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
            var snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            snap.kernelFacts.ipv6MulticastRouting = false
            let model = RoutingModel(try #require(snap.namespace(header.namespace)))
            for c in mc {
                let r = try model.routeGet(line: c.query)
                #expect(r.error == nil && r.type == .multicast, "without IPv6 multicast routing `\(c.query)` is the multicast route")
                checked += 1
            }
        }
        #expect(checked > 10)
    }

    @Test("VRF fixtures written from the kernel's documented behaviour are reproduced")
    func vrfCorpus() throws {
        let files = Self.corpusFiles("vrf")
        #expect(!files.isEmpty, "expected hand-written VRF fixtures in \(Self.fixtureRoot)/vrf")
        for f in files {
            let (header, _) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
            #expect(header.source.hasPrefix("hand-written"), "\(f) must say it is hand-written")
        }
        let (_, failures) = try Self.replay(files, title: "route-get VRF fixtures (hand-written)")
        #expect(failures.isEmpty, "\(failures)")
    }
}

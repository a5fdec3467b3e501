import Foundation
import NSAuditCore
import Testing

/// The recorded trace differential (fixtures/trace/generated, written by
/// fixtures/trace/record-differential.sh): every flow that was sent for real through a
/// generated topology, with where captures saw it, replayed through the trace engine. The
/// predicted crossings and dispositions must equal what was observed for every flow.
@Suite struct TraceDifferentialReplayTests {
    static let snapshots = Repo.files(in: "fixtures/trace/generated", ext: "json").filter { $0.lastPathComponent.hasSuffix(".snapshot.json") }

    static func observations(_ snapshotURL: URL) throws -> [ProbeObservation] {
        let url = URL(fileURLWithPath: snapshotURL.path.replacingOccurrences(of: ".snapshot.json", with: ".flows.jsonl"))
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(ProbeObservation.self, from: Data($0.utf8)) }
    }

    @Test func corpusIsLargeAndVaried() throws {
        var flows = 0
        var answers = Set<String>(), legs = Set<ProbeLeg>()
        for url in Self.snapshots {
            for o in try Self.observations(url) {
                flows += 1
                answers.insert(o.answer.summary.split(separator: " ").first.map(String.init) ?? "")
                legs.formUnion(o.crossings.map(\.leg))
            }
        }
        #expect(flows >= 500, "the recorded corpus should hold at least 500 flows")
        #expect(answers.isSuperset(of: ["reply", "refused", "nothing", "send"]), "\(answers)")
        #expect(legs == Set(ProbeLeg.allCases), "\(legs)")
    }

    /// Flows where the engine is known to disagree with the kernel, by corpus file and flow
    /// (`netns: arguments` as the disagreement line starts), with the docs/trace-mismatches.md section
    /// that explains them. They must still disagree (a fix makes this test fail until the
    /// entry is removed); every other flow must agree. None today: all 528 agree.
    static let knownMismatches: [String: [(flow: String, why: String)]] = [:]

    @Test(arguments: snapshots)
    func everyRecordedFlowAgrees(_ url: URL) throws {
        let snapshot = try SnapshotReader.decode(Data(contentsOf: url), name: url.lastPathComponent)
        let observations = try Self.observations(url)
        #expect(!observations.isEmpty)
        let c = ProbeComparison.check(observations, against: snapshot)
        let topology = url.lastPathComponent.replacingOccurrences(of: ".snapshot.json", with: "")
        let known = Self.knownMismatches[topology] ?? []
        let unexpected = c.disagreements.filter { d in !known.contains { d.hasPrefix($0.flow + ":") } }
        let report = "\(unexpected.count) of \(observations.count) disagree:\n" + unexpected.joined(separator: "\n")
        #expect(unexpected.isEmpty, "\(report)")
        for k in known {
            withKnownIssue("\(k.flow): \(k.why)") {
                #expect(!c.disagreements.contains { $0.hasPrefix(k.flow + ":") })
            }
        }
        #expect(c.agree + c.disagreements.count == observations.count)
    }
}

import Foundation
import NSAuditCore
import NSAuditLinux
import Testing

/// Differential test of `nsaudit trace` against the live kernel: generated topologies
/// (TraceTopologyGenerator: trees of namespaces over veth pairs and bridges, forwarding off,
/// missing and null routes, policy rules around a shortcut, rp_filter, duplicate addresses,
/// loops) are built in throwaway namespaces, and each generated flow is sent for real
/// (LiveProbe: one probe, captures in every namespace). The predicted crossings and
/// dispositions must equal what was seen (ProbeComparison), for every flow.
///
/// Environment: NSAUDIT_TRACE_TOPOLOGIES (default 8), NSAUDIT_TRACE_FLOWS (per topology,
/// default 12), NSAUDIT_TRACE_SEED (first seed, default 1001), NSAUDIT_RECORD_TRACE=1 to
/// (re)write the offline corpus in fixtures/trace/generated/ (fixtures/trace/record-differential.sh).
@Suite("trace differential (live kernel)", .serialized)
struct TraceDifferentialTests {
    static let env = ProcessInfo.processInfo.environment
    static var generatedDir: String { RouteGetFixtures.root + "/fixtures/trace/generated" }

    @Test("generated topologies: trace agrees with what the kernel does", .enabled(if: Live.isRoot, Live.skipReason))
    func generatedAgreeWithKernel() throws {
        let topologies = Int(Self.env["NSAUDIT_TRACE_TOPOLOGIES"] ?? "") ?? 8
        let perTopology = Int(Self.env["NSAUDIT_TRACE_FLOWS"] ?? "") ?? 12
        let firstSeed = UInt64(Self.env["NSAUDIT_TRACE_SEED"] ?? "") ?? 1001
        let record = Self.env["NSAUDIT_RECORD_TRACE"] == "1"
        if record { try FileManager.default.createDirectory(atPath: Self.generatedDir, withIntermediateDirectories: true) }
        var flows = 0, agree = 0
        var failures: [String] = []
        let start = Date()
        for i in 0..<topologies {
            let seed = firstSeed + UInt64(i)
            var gen = TraceTopologyGenerator(seed: seed)
            let topo = gen.make(flowCount: perTopology)
            let run = try TraceDifferentialRun.run(topo)
            let c = ProbeComparison.check(run.observations, against: run.snapshot)
            flows += run.observations.count
            agree += c.agree
            failures += c.disagreements.map { "seed \(seed) [\(topo.description.joined(separator: "; "))] \($0)" }
            if record { try Self.write(seed: seed, topology: topo, run: run) }
        }
        print("trace live differential: \(topologies) topologies, \(flows) flows, \(agree) agree (\(String(format: "%.1f", 100 * Double(agree) / Double(max(1, flows))))%), \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
        for f in failures { print("DISAGREE " + f) }
        #expect(flows == topologies * perTopology)
        #expect(failures.isEmpty, "\(failures.count) disagreements (first: \(failures.first ?? ""))")
    }

    /// topo-SEED.snapshot.json (the snapshot, compact) and topo-SEED.flows.jsonl (one
    /// ProbeObservation a line, after a header line describing the topology).
    static func write(seed: UInt64, topology: TraceTopology, run: TraceDifferentialRun.Result) throws {
        var snap = run.snapshot
        snap.metadata = SnapshotMetadata(source: "kernel", lab: "trace differential",
                                         note: "TraceTopologyGenerator seed \(seed): " + topology.description.joined(separator: "; "))
        let name = String(format: "topo-%05llu", seed)
        try Data(SnapshotWriter.encode(snap)).write(to: URL(fileURLWithPath: "\(generatedDir)/\(name).snapshot.json"))
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var lines: [String] = []
        for o in run.observations { lines.append(String(decoding: try enc.encode(o), as: UTF8.self)) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: "\(generatedDir)/\(name).flows.jsonl"))
    }
}

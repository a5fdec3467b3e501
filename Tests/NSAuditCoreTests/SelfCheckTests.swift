import Foundation
@_spi(Testing) @testable import NSAuditCore
import Testing

/// The self-check's samples and comparisons offline, on every fixture snapshot, with the
/// honest model standing in for the kernel (the live check is in SelfCheckLiveTests).
@Suite struct SelfCheckTests {
    static let labs = ReportGoldenTests.labs
    static let returnPathKinds: Set<FindingKind> = [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit]

    /// Answers queries with the honest model, as the Linux layer reports the kernel's answers
    /// (for a multipath route: the first path, as if the kernel's hash chose it).
    static func modelAsKernel(_ models: [String: RoutingModel]) -> SelfCheck.Ask {
        { batch in
            batch.map { ns, queries in
                let model = models[ns.id] ?? RoutingModel(ns)
                return try? queries.map { q in
                    let r = try model.routeGet(q)
                    if let e = r.error { return KernelRouteAnswer(error: e.rawValue) }
                    var k = KernelRouteAnswer()
                    k.type = r.type
                    k.oif = (r.dev ?? r.multipath.first?.dev).flatMap { ns.link(named: $0)?.index }
                    k.gateway = r.multipath.first?.gateway ?? r.gateway
                    k.table = r.table
                    return k
                }
            }
        }
    }

    /// Namespaces (report names) with at least one audited address.
    static func audited(_ out: Audit.Outcome) -> Set<String> {
        Set(out.namespaces.filter { $0.addressesAudited > 0 }.map(\.name))
    }

    @Test func picksSpreadOverTheRanges() throws {
        var one = AddressRanges(family: .v4)
        let net = try #require(IPAddress("10.1.2.0")).bits
        one.append(net, net + 255)
        #expect(SelfCheck.picks(one, 3).map(\.description) == ["10.1.2.1", "10.1.2.127", "10.1.2.254"])
        var many = AddressRanges(family: .v4)
        for k: UInt128 in 0..<5 { many.append(net + k * 16, net + k * 16 + 3) }
        #expect(SelfCheck.picks(many, 3).map(\.description) == ["10.1.2.1", "10.1.2.33", "10.1.2.66"])
        var single = AddressRanges(family: .v4)
        single.append(net + 7, net + 7)
        #expect(SelfCheck.picks(single, 3).map(\.description) == ["10.1.2.7"])
        // never a special source, even where a class would hold one
        var special = AddressRanges(family: .v4)
        special.append(try #require(IPAddress("127.0.0.0")).bits, try #require(IPAddress("127.0.0.0")).bits + 9)
        #expect(SelfCheck.picks(special, 3).isEmpty)
    }

    /// Every verdict class but not applicable, of every (address, ingress) of every namespace,
    /// gets between one and three samples, each inside its class's ranges; the audit hands out
    /// exactly these samples.
    @Test(arguments: labs)
    func everyClassIsSampled(_ lab: String) throws {
        let snap = try Lab.snapshot(lab)
        var expected: [SelfCheckSample] = []
        var spread = 0  // classes sampled at three places
        for ns in snap.namespaces where ns.status == .ok {
            let results = ReturnPathAnalysis(ns).run()
            let samples = SelfCheck.samples(ns, results)
            let locals = Set(ns.addresses.map(\.local))
            for s in samples {
                #expect(s.verdict != .notApplicable)
                #expect(!locals.contains(s.source), "\(lab): \(s.source) is local")
                #expect(!ReturnPathAnalysis.specialPrefixes(s.source.family).contains { $0.contains(s.source) })
            }
            for r in results {
                for (v, ranges) in [(ReturnPathAnalysis.Verdict.symmetric, r.symmetric)] + r.byVerdict where v != .notApplicable && !ranges.isEmpty {
                    let mine = samples.filter { $0.address == r.address.local && $0.ingress == r.ingress && $0.verdict == v }
                    #expect((1...SelfCheck.samplesPerClass).contains(mine.count), "\(lab) \(ns.id) \(r.address.local) iif \(r.ingress) \(v): \(mine.count) samples")
                    if mine.count == SelfCheck.samplesPerClass { spread += 1 }
                    for s in mine { #expect(ranges.contains(s.source), "\(lab): \(s.source) outside its class \(v)") }
                }
            }
            expected += samples
        }
        #expect(!expected.isEmpty)
        #expect(spread > 0)
        #expect(Audit(snap).run().samples == expected)
    }

    /// The honest model agrees with itself on every sampled query, and its answers put every
    /// sample in the class the analysis gave it; every return-path finding is checked.
    @Test(arguments: labs)
    func honestModelHasNoMismatch(_ lab: String) throws {
        let snap = try Lab.snapshot(lab)
        let out = Audit(snap).run()
        let checked = SelfCheck.run(out.findings, samples: out.samples, snapshot: snap, models: out.models,
                                    ask: Self.modelAsKernel(out.models))
        let mismatches = checked.filter { $0.kind == .modelMismatch }
        #expect(mismatches.isEmpty, "\(lab): \(mismatches.map(\.summary))")
        #expect(checked.count == out.findings.count)
        #expect(checked.filter { Self.returnPathKinds.contains($0.kind) }.allSatisfy { $0.kernelChecked })
    }

    /// A model with a deliberate fault is caught in every namespace with an audited address,
    /// also in those without any finding (where re-asking findings alone finds nothing): one
    /// model-mismatch per (namespace, address, ingress, check), naming the query and both
    /// answers.
    @Test(arguments: labs, SelfCheck.Fault.allCases)
    func faultyModelIsCaughtEverywhere(_ lab: String, _ fault: SelfCheck.Fault) throws {
        let snap = try Lab.snapshot(lab)
        let out = Audit(snap).run()
        let checked = SelfCheck.run(out.findings, samples: out.samples, snapshot: snap, models: out.models, fault: fault,
                                    ask: Self.modelAsKernel(out.models))
        let mismatches = checked.filter { $0.kind == .modelMismatch }
        let expectedCheck = fault == .wrongReplyEgress ? "reply" : "request"
        #expect(Set(mismatches.map(\.netns)) == Self.audited(out), "\(lab) \(fault)")
        var seen: Set<[String]> = []
        for m in mismatches {
            #expect(m.severity == .error)
            let d = try #require(m.details)
            #expect(d["check"] == expectedCheck, "\(m.summary)")
            let query = try #require(d["query"])
            #expect(m.summary.contains(query), "\(m.summary)")
            #expect(d["kernel"] != nil && d["model"] != nil && d["kernel"] != d["model"], "\(d)")
            let key = [m.netns, m.localAddress?.description ?? "", m.ingress ?? "", d["check"] ?? ""]
            #expect(seen.insert(key).inserted, "duplicate: \(m.summary)")
        }
        // A disagreement inside a finding's sources names the finding.
        if out.findings.contains(where: { Self.returnPathKinds.contains($0.kind) }) {
            #expect(mismatches.contains { $0.details?["findings"] != nil })
        }
        // Many sampled queries, few findings: they are merged.
        #expect(mismatches.contains { Int($0.details?["disagreements"] ?? "") ?? 0 > 1 })
        #expect(mismatches.count < out.samples.count)

        // Re-asking only the findings' flows misses the fault in the namespaces without
        // findings (every lab has some).
        let findingsOnly = SelfCheck.run(out.findings, samples: [], snapshot: snap, models: out.models, fault: fault,
                                         ask: Self.modelAsKernel(out.models)).filter { $0.kind == .modelMismatch }
        let withFindings = Set(out.findings.filter { Self.returnPathKinds.contains($0.kind) }.map(\.netns))
        // (A one-namespace snapshot, such as the physical server's, has no elsewhere; in
        // arp-check every namespace has findings by design: unanswered ARP, rp_filter.)
        if Self.audited(out).count > 1 && lab != "arp-check" {
            #expect(!Self.audited(out).subtracting(withFindings).isEmpty, "\(lab): every namespace has findings")
        }
        #expect(Set(findingsOnly.map(\.netns)).isSubset(of: withFindings))
    }

    /// Kernel answers that put a sample in another class than the audit did are a mismatch of
    /// their own (classification), even where model and kernel agree on each query.
    @Test func classContradictionIsCaught() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        let out = Audit(snap).run()
        var samples = out.samples
        let i = try #require(samples.firstIndex { $0.verdict == .symmetric })
        samples[i].verdict = .asymmetric(egress: "nowhere0", gateway: nil, table: nil, rule: nil, route: .default)
        let j = try #require(samples.firstIndex { $0.verdict != .symmetric && $0.netns != samples[i].netns })
        samples[j].verdict = .rpFilterDrop(error: "EXDEV", rule: nil, reverse: .default)
        let mismatches = SelfCheck.run([], samples: samples, snapshot: snap, models: out.models,
                                       ask: Self.modelAsKernel(out.models)).filter { $0.kind == .modelMismatch }
        #expect(mismatches.count == 2, "\(mismatches.map(\.summary))")
        #expect(mismatches.allSatisfy { $0.details?["check"] == "classification" })
        #expect(mismatches.contains { $0.summary.contains("class asymmetric-reply") && $0.summary.contains("sends the reply through") })
        #expect(mismatches.contains { $0.summary.contains("class rp-filter-drop") && $0.summary.contains("delivers the request") })
    }

    /// A namespace the kernel cannot be asked in stays unchecked (no finding is marked).
    @Test func unaskableNamespaceStaysUnchecked() throws {
        let snap = try Lab.snapshot("mgmt-broken")
        let out = Audit(snap).run()
        let checked = SelfCheck.run(out.findings, samples: out.samples, snapshot: snap, models: out.models,
                                    ask: { batch in batch.map { _ in nil } })
        #expect(checked == out.findings)
    }
}

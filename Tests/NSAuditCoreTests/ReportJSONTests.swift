import Foundation
@testable import NSAuditCore
import Testing

/// The report's JSON, written by `JSONWriter`, is byte for byte what `JSONEncoder` writes with
/// the report's options (`.prettyPrinted, .sortedKeys, .withoutEscapingSlashes`), and reads
/// back with `JSONDecoder` to an equal report: every lab, with `--max-sources` cuts, kernel
/// facts, a duration, capture confirmations, model mismatches, every optional member, and a
/// big report written in pieces on every core.
@Suite struct ReportJSONTests {
    static func encoded(_ r: Report) throws -> [UInt8] {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try enc.encode(r))
    }

    /// Same bytes as JSONEncoder's, and decodes back to `r`.
    func check(_ r: Report, _ label: String) throws {
        let mine = ReportRenderer.jsonBytes(r)
        let theirs = try Self.encoded(r)
        if mine != theirs {
            let at = (0..<min(mine.count, theirs.count)).first { mine[$0] != theirs[$0] } ?? min(mine.count, theirs.count)
            let lo = max(0, at - 120)
            Issue.record("\(label): differs at byte \(at)\nwriter:  \(String(decoding: mine[lo..<min(mine.count, at + 80)], as: UTF8.self))\nencoder: \(String(decoding: theirs[lo..<min(theirs.count, at + 80)], as: UTF8.self))")
        }
        let back = try JSONDecoder().decode(Report.self, from: Data(mine))
        #expect(back == r, "\(label): decoded back")
        #expect(ReportRenderer.json(r) == String(decoding: theirs, as: UTF8.self) + "\n", "\(label)")
    }

    @Test(arguments: ReportGoldenTests.labs)
    func labReports(_ lab: String) throws {
        let snap = try Lab.snapshot(lab)
        var r = Lab.report(snap, source: "fixtures/snapshots/\(lab).json")
        try check(r, lab)
        r.kernel = ReportKernel(snap.kernelFacts)
        r.durationSeconds = 0.123
        try check(r, "\(lab) with kernel facts")
        r.kernel = ReportKernel(KernelFacts(release: "6.18.44-fc-v857", ipv6MulticastRouting: true))
        r.durationSeconds = 4
        try check(r, "\(lab) with recorded kernel facts")
        for cut in [0, 1, 3] {
            try check(Lab.report(snap, source: "live", options: .init(maxSources: cut)), "\(lab) --max-sources \(cut)")
        }
        try check(Lab.report(snap, source: "x", options: .init(remediate: false)), "\(lab) without remediation")
    }

    func captured(_ lab: String, pcap: String, dropDefaults: Bool = false) throws -> Report {
        var snap = try SnapshotReader.decode(Data(contentsOf: Repo.file("fixtures/pcaps/\(lab).snapshot.json")), name: lab)
        let bytes = [UInt8](try Data(contentsOf: Repo.file("fixtures/pcaps/\(lab).\(pcap)")))
        let server = try #require(snap.namespaces.first { $0.id.hasSuffix("-server") })
        let flows = CaptureAnalysis.observe(try PcapFile.parse(bytes), netns: server.id, snapshot: snap).flows
        if dropDefaults {
            let k = try #require(snap.namespaces.firstIndex { $0.id.hasSuffix("-server") })
            snap.namespaces[k].routes.removeAll { $0.dst.length == 0 && $0.table == Table.main }
        }
        let out = Audit(snap, options: .init()).run()
        var findings = out.findings
        let verdicts = CaptureEvidence.apply(flows, snapshot: snap, to: &findings)
        var r = Report(generatedAt: "fixed", host: snap.host, source: "capture", snapshotTakenAt: snap.takenAt,
                       namespaces: out.namespaces, findings: findings)
        r.observedFlows = verdicts
        r.kernel = ReportKernel(snap.kernelFacts)
        r.durationSeconds = 1.5e-07
        return r
    }

    @Test func captureConfirmations() throws {
        for lab in ["mgmt-broken", "mgmt-netns", "mgmt-rpfilter", "mgmt-srcroute"] {
            for pcap in ["server.pcap", "nsaudit.pcapng"] {
                let r = try captured(lab, pcap: pcap)
                #expect(!(r.observedFlows ?? []).isEmpty)
                try check(r, "\(lab) \(pcap)")
            }
        }
        let r = try captured("mgmt-broken", pcap: "server-ifaces.pcapng")
        try check(r, "mgmt-broken server-ifaces.pcapng")
    }

    @Test func modelMismatch() throws {
        let r = try captured("mgmt-broken", pcap: "server.pcap", dropDefaults: true)
        #expect(r.findings.contains { $0.kind == .modelMismatch })
        #expect(r.observedFlows?.contains { $0.verdict == .modelMismatch } == true)
        try check(r, "model mismatch")
    }

    /// Every optional member set, strings that need escaping, data keys in every order.
    @Test func everyMember() throws {
        let base = Lab.report(try Lab.snapshot("mgmt-broken"), source: "x")
        let fix = try #require(base.findings.first { !$0.remediation.isEmpty }).remediation
        var f = Finding(kind: .rpFilterMismatch, severity: .warning, netns: "ns \"q\" \\ /x\t\u{1}\u{7f}é\u{2028}", summary: "a/b\n\r\u{8}\u{c}")
        f.localAddress = IPAddress("2001:db8::1"); f.ingress = "eth10,eth9"; f.egress = "Eth2"
        f.gateway = IPAddress("192.0.2.1"); f.table = 4_294_967_295; f.rule = 0
        f.sources = [IPPrefix("0.0.0.0/0")!, IPPrefix("10.0.0.0/8")!, IPPrefix("::/0")!, IPPrefix("fe80::/64")!]
        f.sourcesTotal = 12; f.sourcesTruncated = true
        f.evidence = ["model", "kernel", "capture"]; f.remediation = fix
        f.services = ["tcp/22", "udp/53"]
        f.details = ["rp_filter.eth10": "1", "rp_filter.eth9": "2", "rp_filter.all": "0", "rp_filter.Eth2": "x", "key": "é\"", "a-b": "", "a_b": "", "a10": "", "a2": ""]
        f.kernelChecked = true; f.confirmed = false
        let flow = ObservedFlow(netns: "n", protocol: "tcp", family: .v6, client: IPAddress("2001:db8::9")!, clientPort: 41234,
                                server: IPAddress("2001:db8::1")!, serverPort: 22, icmpID: 7, role: .forwarder, inferredDirection: true,
                                requestPackets: 3, replyPackets: 2, requestIngress: ["a", "b"], requestEgress: ["c"],
                                replyIngress: ["d"], replyEgress: ["e"], firstSeenNs: 1_700_000_000_123_456_789, lastSeenNs: UInt64.max / 2)
        var flow2 = flow
        flow2.sawSYN = true; flow2.sawSYNACK = false; flow2.clientPort = nil; flow2.serverPort = nil; flow2.icmpID = nil
        f.observed = ObservedSummary([flow, flow2])
        var part = FindingPart(egress: "Eth2", gateway: IPAddress("192.0.2.1"), severity: .warning)
        part.table = 100; part.rule = 5; part.route = "default"; part.unroutable = "blackhole"
        part.sources = [IPPrefix("10.0.0.0/8")!]; part.sourcesTotal = 1; part.sourcesTruncated = false
        part.sourcesExcept = [IPPrefix("192.168.0.0/16")!]
        f.parts = [part, FindingPart()]
        f.sourcesExcept = []
        f.baselineState = .updated; f.firstSeen = "2026-12-01T02:00:00Z"
        f.accepted = Acceptance(reason: "r\"é", expires: "2027-01-31", expired: true)
        f.assignID()
        var g = f
        g.confirmed = true; g.details = [:]; g.services = []; g.observed = ObservedSummary([])
        var r = base
        r.findings = [f, g, Finding(kind: .collectionError, severity: .error, netns: "", summary: "")]
        r.recomputeSummary()
        r.kernel = ReportKernel(.assumed(release: "6.1.0"))
        r.namespaces[0].errors = ["e1", "e\"2"]
        r.namespaces[0].interfaces.append(ReportInterface(name: "v", state: "UP", addresses: [], vrf: "blue", rpFilter: 2))
        r.namespaces[0].interfaces[0].lower = ["a", "b"]
        r.baseline = ReportBaseline(path: "/var/lib/nsaudit/report.json", generatedAt: "2026-12-01T02:00:00Z")
        r.resolved = [ResolvedFinding(id: "arp-flux:0123456789abcdef", kind: .arpFlux, netns: "n", summary: "s", firstSeen: nil),
                      ResolvedFinding(id: "x", kind: .ecmpSplit, netns: "", summary: "", firstSeen: "t")]
        r.observedFlows = [
            FlowConfirmation(verdict: .modelMismatch, netns: "n", ingress: "a", observedEgress: ["e"], predictedEgress: ["a", "b"],
                             predictedDrop: nil, detail: "d", flow: flow),
            FlowConfirmation(verdict: .noReply, netns: "n", ingress: "a", observedEgress: [], predictedEgress: nil,
                             predictedDrop: "rp_filter", detail: "", flow: flow2),
        ]
        for d in [nil, 0.0, 4.0, 0.123, 12.5, 1e-7, 86_400.000_001, 1e16, 3.0e21] as [Double?] {
            r.durationSeconds = d
            try check(r, "every member, duration \(String(describing: d))")
        }
        r.observedFlows = []
        r.findings = []; r.recomputeSummary()
        try check(r, "no findings")
    }

    /// Findings with many sources: written in pieces on every core.
    @Test func bigReportInPieces() throws {
        var r = Lab.report(try Lab.snapshot("router-ecmp"), source: "x")
        let all = r.findings
        for counts in [[30_000], [1, 25_000], [900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 900, 0]] {
            r.findings = all
            for (i, n) in counts.enumerated() {
                var f = all.isEmpty ? Finding(kind: .asymmetricReply, severity: .warning, netns: "n", summary: "s") : all[i % all.count]
                f.sources = Self.sources(n, seed: UInt32(i))
                f.sourcesTotal = n
                r.findings.append(f)
            }
            r.recomputeSummary()
            try check(r, "big report \(counts.count) findings")
        }
    }

    /// `n` CIDR blocks of one finding: every other /32 of a block of addresses, and an IPv6 run.
    static func sources(_ n: Int, seed: UInt32) -> [IPPrefix] {
        let v4 = (0..<(n / 2 + n % 2)).map { k in IPPrefix(IPAddress(v4: 0x0a00_0000 &+ seed << 20 &+ UInt32(2 * k)), 32) }
        let v6 = (0..<(n / 2)).map { k in IPPrefix(IPAddress("2001:db8:\(String(seed, radix: 16))::\(String(2 * k, radix: 16))")!, 128) }
        return AddressRanges(union: v4, family: .v4).prefixes + AddressRanges(union: v6, family: .v6).prefixes
    }

    /// `JSONWriter.double` writes what JSONEncoder writes, for many values.
    @Test func doubles() throws {
        var rng = SeededRandom(10_3)
        var values: [Double] = [0, -0.0, 1, 4, 100, 1e15, 1e16, 1e21, 1e22, 0.1, 0.2, 0.3, 0.1 + 0.2, 1.5e-7, 1e-6, 1e-5, 1e-4, 0.001,
                                .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                Double(Int64.max), Double(1 << 53), Double(1 << 53) + 2, 123456789.125, 86_400.5]
        for i in -1000...1000 { values.append(Double(i)); values.append(Double(i) / 1000); values.append(Double(i) * 1e6) }
        for e in -320...308 { values.append(Double(sign: .plus, exponent: 0, significand: 1) * pow(10, Double(e))) }
        for _ in 0..<20_000 {
            values.append(Double.random(in: 0..<1000, using: &rng))
            values.append(Double.random(in: 0..<1, using: &rng) / 1e6)
            let bits = Double(bitPattern: rng.next())
            if bits.isFinite { values.append(bits) }
        }
        let enc = JSONEncoder()
        var bad = 0
        for v in values {
            let theirs = String(decoding: try enc.encode([v]), as: UTF8.self)
            let mine = JSONWriter<[UInt8]>.text(escaping: .foundation) { w in w.beginArray(); w.element(); w.double(v); w.endArray() }
            if mine != theirs && bad < 10 { bad += 1; Issue.record("\(v.bitPattern): writer \(mine), encoder \(theirs)") }
        }
        #expect(bad == 0, rng.seedNote)
        #expect(JSONWriter<[UInt8]>.text(escaping: .foundation) { $0.double(.nan) } == "null")
    }
}

import Foundation
import NSAuditCore
import Testing

/// The fast paths of the lookup must give exactly what the general paths give: the /24
/// direct index of large IPv4 prefix tables against an exact oracle, and `route-get --batch`
/// (which renders destination-only IPv4 lines straight from the decision) against the
/// answers of `routeGet` rendered by RouteGetFormat, on every recorded corpus namespace.
@Suite("route-get fast paths")
struct RouteGetFastPathTests {
    @Test("PrefixTable with the /24 direct index agrees with an exact longest prefix match")
    func directIndexMatchesOracle() {
        var rng = SeededRandom(31)
        var items: [(key: UInt32, length: UInt8, item: Int32)] = []
        var known = Set<UInt64>()
        // clustered prefixes (many /25../32 inside the same /24 blocks) and scattered ones
        let lens: [UInt8] = [0, 8, 12, 16, 20, 23, 24, 24, 25, 26, 27, 28, 29, 30, 31, 32, 32]
        var i: Int32 = 0
        while items.count < PrefixTable<UInt32>.dirThreshold + 2000 {
            let len = lens.randomElement(using: &rng)!
            let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << (32 - UInt32(len))
            let base: UInt32 = Bool.random(using: &rng) ? 0x0A00_0000 | UInt32.random(in: 0...0x3FF, using: &rng) << 8
                : UInt32.random(in: 0...UInt32.max, using: &rng)
            let key = (base | UInt32.random(in: 0...0xff, using: &rng)) & mask
            known.insert(UInt64(key) << 8 | UInt64(len))
            items.append((key, len, i)); i += 1
        }
        let t = PrefixTable(items)
        func oracle(_ a: UInt32) -> (UInt32, UInt8)? {
            for len in stride(from: 32, through: 0, by: -1) {
                let mask: UInt32 = len == 0 ? 0 : ~UInt32(0) << (32 - UInt32(len))
                if known.contains(UInt64(a & mask) << 8 | UInt64(len)) { return (a & mask, UInt8(len)) }
            }
            return nil
        }
        var probes: [UInt32] = []
        for it in items.prefix(3000) {
            let end = it.length == 0 ? UInt32.max : it.key | (UInt32.max >> UInt32(it.length))
            probes += [it.key, it.key &- 1, it.key &+ 1, end, end &+ 1]
        }
        for _ in 0..<5000 { probes.append(0x0A00_0000 | UInt32.random(in: 0...0x3_FFFF, using: &rng)) }
        for _ in 0..<5000 { probes.append(UInt32.random(in: 0...UInt32.max, using: &rng)) }
        var bad = 0
        for a in probes {
            let e = t.lookup(a)
            if let (k, l) = oracle(a) {
                if e < 0 || t.entries[Int(e)].key != k || t.entries[Int(e)].length != l { bad += 1 }
            } else if e != -1 { bad += 1 }
        }
        #expect(bad == 0, "\(bad) of \(probes.count) lookups disagree; \(rng.seedNote)")
    }

    @Test("route-get --batch answers destination-only lines exactly as routeGet + RouteGetFormat")
    func batchMatchesGeneralPath() throws {
        var files = LookupCorpusReplayTests.corpusFiles("generated") + LookupCorpusReplayTests.corpusFiles("vrf")
        #expect(files.count >= 100)
        files.sort()
        var rng = SeededRandom(58)
        var checked = 0, mismatches: [String] = []
        for f in files {
            let (header, cases) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
            let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
            let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            guard let ns = snap.namespace(header.namespace) else { continue }
            let model = RoutingModel(ns)
            var dsts: [String] = []
            for c in cases {
                let first = c.query.split(separator: " ").first.map(String.init) ?? ""
                if let a = IPAddress(first), a.family == .v4 { dsts.append(a.description) }
            }
            for r in ns.routes where r.family == .v4 {
                let k = UInt32(truncatingIfNeeded: r.dst.address.bits)
                let end = r.dst.length == 0 ? UInt32.max : k | (UInt32.max >> UInt32(r.dst.length))
                for a in [k, k &+ 1, end, end &+ 1] { dsts.append(IPAddress(v4: a).description) }
            }
            for _ in 0..<50 { dsts.append(IPAddress(v4: UInt32.random(in: 0...UInt32.max, using: &rng)).description) }
            dsts += ["0.0.0.0", "255.255.255.255", "127.0.0.1", "224.0.0.1", "239.1.2.3"]
            let input = Array(dsts.joined(separator: "\n").utf8)
            for json in [false, true] {
                var gotOut: [UInt8] = [], gotErr: [UInt8] = []
                _ = RouteGetBatch.run(model: model, input: input, json: json) { bytes, toStderr in
                    if toStderr { gotErr += bytes } else { gotOut += bytes }
                }
                var wantOut: [UInt8] = [], wantErr: [UInt8] = []
                for d in dsts {
                    let r = try model.routeGet(line: d)
                    if json { RouteGetFormat.appendJSON(r, to: &wantOut); wantOut.append(10) }
                    else if r.error != nil { RouteGetFormat.appendText(r, model: model, to: &wantErr); wantErr.append(10) }
                    else { RouteGetFormat.appendText(r, model: model, to: &wantOut); wantOut.append(10) }
                }
                checked += dsts.count
                // The same batch answered on 3 workers in many small rounds: the same bytes.
                var parOut: [UInt8] = [], parErr: [UInt8] = []
                let pc = RouteGetBatch.run(model: model, input: input, json: json, workers: 3, minParallelBytes: 0,
                                           bytesPerWorker: 97) { bytes, toStderr in
                    if toStderr { parErr += bytes } else { parOut += bytes }
                }
                #expect(parOut == gotOut && parErr == gotErr, "\((f as NSString).lastPathComponent) json=\(json): parallel batch differs")
                #expect(pc.answered == dsts.count)
                if gotOut != wantOut || gotErr != wantErr {
                    let g = String(decoding: gotOut + gotErr, as: UTF8.self).split(separator: "\n")
                    let w = String(decoding: wantOut + wantErr, as: UTF8.self).split(separator: "\n")
                    let diff = zip(g, w).first { $0 != $1 }.map { "got \($0.0) want \($0.1)" } ?? "lengths \(g.count) vs \(w.count)"
                    mismatches.append("\((f as NSString).lastPathComponent) json=\(json): \(diff)")
                }
            }
        }
        #expect(checked > 10_000)
        #expect(mismatches.isEmpty, "\(mismatches.count) namespaces differ: \(mismatches.prefix(10)); \(rng.seedNote)")
    }

    @Test("route-get --batch --ip-compat prints, line by line, what the ip drop-in prints (fast path included)")
    func ipCompatBatchMatchesDropIn() throws {
        var files = LookupCorpusReplayTests.corpusFiles("generated").prefix(30).map { $0 }
        files += (try? FileManager.default.contentsOfDirectory(atPath: RouteGetTextReplayTests.textDir))?
            .filter { $0.hasSuffix(".text.jsonl") }.map { RouteGetTextReplayTests.textDir + "/" + $0 } ?? []
        var checked = 0, mismatches: [String] = []
        for f in files {
            let model: RoutingModel
            var lines: [String]
            if f.hasSuffix(".text.jsonl") {
                let (h, cases) = try RouteGetTextCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
                let snapPath = f.replacingOccurrences(of: ".text.jsonl", with: ".snapshot.json")
                let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
                guard let ns = snap.namespace(h.namespace) else { continue }
                model = RoutingModel(ns)
                lines = cases.filter { $0.args.hasPrefix("route get ") }.map { String($0.args.dropFirst("route get ".count)) }
            } else {
                let (header, cases) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
                let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
                let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
                guard let ns = snap.namespace(header.namespace) else { continue }
                model = RoutingModel(ns)
                lines = cases.map(\.query)
            }
            lines += ["0.0.0.0", "255.255.255.255", "224.0.0.1", "239.1.2.3", "127.0.0.1", "10.0.0.300", "8.8.8.8 mark zz"]
            for json in [false, true] {
                var gotOut: [UInt8] = [], gotErr: [UInt8] = []
                _ = RouteGetBatch.run(model: model, input: Array(lines.joined(separator: "\n").utf8), json: json,
                                      options: .init(ipCompat: true)) { b, toStderr in
                    if toStderr { gotErr += b } else { gotOut += b }
                }
                var wantOut: [UInt8] = [], wantErr: [UInt8] = []
                let ctx = IPRouteGetDropIn.Context(model: model, json: json)
                for l in lines {
                    _ = IPRouteGetDropIn.routeGet(l.split(separator: " ").map(String.init), family: nil, ctx: ctx) { b, toStderr in
                        if toStderr { wantErr += b } else { wantOut += b }
                    }
                }
                checked += lines.count
                if gotOut != wantOut || gotErr != wantErr {
                    let g = String(decoding: gotOut, as: UTF8.self).split(separator: "\n"), w = String(decoding: wantOut, as: UTF8.self).split(separator: "\n")
                    let d = zip(g, w).first { $0 != $1 }.map { "got \($0.0) want \($0.1)" } ?? "stderr or length differs"
                    mismatches.append("\((f as NSString).lastPathComponent) json=\(json): \(d)")
                }
            }
        }
        #expect(checked > 5_000)
        #expect(mismatches.isEmpty, "\(mismatches.count) differ: \(mismatches.prefix(5))")
    }

    static func interestingV6(_ rng: inout SeededRandom) -> [UInt128] {
        var out: [UInt128] = [0, 1, 2, 0xffff_0a00_0001, 0x0a00_0001, 0x1_0000_0000_0000, UInt128.max,
                              UInt128(0x2001_0db8) << 96, (UInt128(0x2001_0db8) << 96) | 1, UInt128(0xfe80) << 112 | 1]
        for _ in 0..<3000 {
            // random words, many of them zero, so every compression case comes up
            var v: UInt128 = 0
            for _ in 0..<8 {
                let w: UInt16 = Int.random(in: 0..<3, using: &rng) == 0 ? UInt16.random(in: 0...UInt16.max, using: &rng)
                    : (Int.random(in: 0..<4, using: &rng) == 0 ? UInt16.random(in: 0...0xf, using: &rng) : 0)
                v = v << 16 | UInt128(w)
            }
            out.append(v)
        }
        return out
    }

    @Test("the byte-level IPv6 printer writes what IPAddress.description writes")
    func v6Printer() {
        var rng = SeededRandom(180)
        let empty = RoutingModel(NamespaceSnapshot(id: "empty"))
        for v in Self.interestingV6(&rng) {
            let a = IPAddress(v6: v)
            var r = RouteResult(query: "x", family: .v6, dst: a)
            r.type = .unicast
            let text = RouteGetFormat.text(r, model: empty)
            #expect(text.split(separator: " ").first.map(String.init) == a.description, "\(a.description); \(rng.seedNote)")
        }
    }

    @Test("route-get --batch parses IPv6 lines as the general parser does")
    func batchV6Lines() throws {
        var rng = SeededRandom(193)
        var lines = Self.interestingV6(&rng).prefix(800).map { IPAddress(v6: $0).description }
        // spellings the RFC 5952 form never uses, and malformed ones
        lines += ["2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "::", "::1", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
                  "1:2:3:4:5:6:7:8", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4::5:6:7:8", "12345::1", ":1::", "1:", ":",
                  ":::", "::ffff:10.0.0.1", "::10.0.0.1", "fe80::1%eth0", "g::1", "+1::2", "1:2:3:4:5:6:7", "0::0"]
        for f in LookupCorpusReplayTests.corpusFiles("generated").prefix(12) {
            let (header, _) = try RouteGetCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: f)))
            let snapPath = String(f.dropLast(".queries.jsonl".count)) + ".snapshot.json"
            let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            guard let ns = snap.namespace(header.namespace) else { continue }
            let model = RoutingModel(ns)
            var got: [UInt8] = []
            _ = RouteGetBatch.run(model: model, input: Array(lines.joined(separator: "\n").utf8), json: true) { b, _ in got += b }
            var want: [UInt8] = []
            for l in lines {
                do {
                    RouteGetFormat.appendJSON(try model.routeGet(line: l), to: &want)
                } catch {
                    want += RouteGetFormat.problemJSON(query: l, problem: error.description).utf8
                }
                want.append(10)
            }
            #expect(String(decoding: got, as: UTF8.self) == String(decoding: want, as: UTF8.self), rng.seedNote)
        }
    }
}

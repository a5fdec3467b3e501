import Foundation
import Glibc
import NSAuditCore
import Testing

/// The text replay against the kernel running the tests: fixtures/routeget/record-text.sh
/// builds its configurations in fresh namespaces (nsatext-PID-...), records the kernel's
/// `ip route get` output and snapshots, and every case is answered by nsaudit — in process
/// (the drop-in), through the binary run as `ip` (a symlink), and through
/// contrib/ip-route-get-dropin first in PATH — and must print what the kernel's ip printed.
@Suite("route-get text (live kernel)", .serialized)
struct RouteGetTextLiveTests {
    struct Run { var status: Int32; var stdout: String; var stderr: String }

    /// Runs `executable args` with extra environment, in `cwd`.
    static func exec(_ executable: String, _ args: [String], env: [String: String] = [:], cwd: String? = nil) throws -> Run {
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("nsatext-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("nsatext-\(UUID().uuidString).err")
        try Data().write(to: outURL); try Data().write(to: errURL)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, stdout: String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self),
                   stderr: String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self))
    }

    struct Recorded { var file: String; var header: RouteGetTextCorpus.Header; var namespace: NamespaceSnapshot; var cases: [RouteGetTextCorpus.Case] }

    static func load(_ dir: String) throws -> [Recorded] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".text.jsonl") }.sorted()
        return try names.compactMap { n in
            let (header, cases) = try RouteGetTextCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: dir + "/" + n)))
            let snapPath = dir + "/" + n.replacingOccurrences(of: ".text.jsonl", with: ".snapshot.json")
            let snap = try SnapshotReader.decode(try Data(contentsOf: URL(fileURLWithPath: snapPath)), name: snapPath)
            guard let ns = snap.namespace(header.namespace) else { Issue.record("\(n): no namespace \(header.namespace)"); return nil }
            return Recorded(file: n, header: header, namespace: ns, cases: cases)
        }
    }

    @Test("fresh namespaces: nsaudit prints what the kernel's ip route get prints", .enabled(if: Live.isRoot, Live.skipReason))
    func freshNamespaces() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("nsatext-live-\(getpid())").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let script = Binary.repo.appendingPathComponent("fixtures/routeget/record-text.sh").path
        let rec = try Self.exec("/bin/bash", [script, "-o", tmp, "-b", Binary.url.path])
        #expect(rec.status == 0, "record-text.sh failed: \(rec.stderr)")
        let left = try Live.sh("ip netns list").split(separator: "\n").filter { $0.range(of: #"^nsatext-[0-9]+-"#, options: .regularExpression) != nil }
        #expect(left.isEmpty, "record-text.sh left namespaces behind: \(left)")
        let sets = try Self.load(tmp)
        #expect(sets.count >= 3)
        var identical = 0, hash = 0, total = 0
        var failures: [String] = []
        for s in sets {
            let model = RoutingModel(s.namespace)
            for c in s.cases {
                total += 1
                switch RouteGetTextCorpus.replay(c, model: model) {
                case .identical: identical += 1
                case .hashCandidate: hash += 1
                case .different(let got):
                    failures.append("\(s.file) `ip \(c.args)`:\n  kernel  status \(c.status), stdout \(c.stdout.debugDescription), stderr \(c.stderr.debugDescription)\n  nsaudit \(got)")
                }
            }
        }
        let kernel = sets.first.map { "\($0.header.kernel), \($0.header.iproute2)" } ?? "?"
        print("route-get text, live (fresh namespaces, \(kernel)): \(total) cases, \(identical) byte-identical, \(hash) hash-dependent answers matched by one of nsaudit's candidates, \(failures.count) disagreements")
        #expect(total >= 500)
        #expect(failures.isEmpty, "\(failures.count) disagreements:\n\(failures.prefix(10).joined(separator: "\n"))")

        // The binary as `ip` (a symlink of that name) and the contrib wrapper in PATH, on a
        // sample of the cases the drop-in reproduces exactly (every batch among them).
        let bin = tmp + "/bin", wrap = tmp + "/wrap"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: wrap, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/ip", withDestinationPath: Binary.url.path)
        try FileManager.default.copyItem(atPath: Binary.repo.appendingPathComponent("contrib/ip-route-get-dropin").path, toPath: wrap + "/ip")
        var checked = 0
        var bad: [String] = []
        for s in sets {
            let model = RoutingModel(s.namespace)
            let snap = tmp + "/" + s.file.replacingOccurrences(of: ".text.jsonl", with: ".snapshot.json")
            for (k, c) in s.cases.enumerated() where k % 9 == 0 || c.batch != nil {
                guard RouteGetTextCorpus.replay(c, model: model) == .identical else { continue }
                if let b = c.batch { try b.write(toFile: tmp + "/queries.batch", atomically: true, encoding: .utf8) }
                let args = ["-n", s.header.namespace] + c.args.split(separator: " ").map(String.init)
                let env = ["NSAUDIT_SNAPSHOT": snap, "NSAUDIT_BIN": Binary.url.path, "PATH": wrap + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")]
                for (how, exe) in [("symlink", bin + "/ip"), ("wrapper", wrap + "/ip")] {
                    let r = try Self.exec(exe, args, env: env, cwd: tmp)
                    checked += 1
                    if r.status != c.status || r.stdout != c.stdout || r.stderr != c.stderr {
                        bad.append("\(how) `ip \(args.joined(separator: " "))`: status \(r.status) vs \(c.status), stdout \(r.stdout.debugDescription) vs \(c.stdout.debugDescription), stderr \(r.stderr.debugDescription) vs \(c.stderr.debugDescription)")
                    }
                }
            }
        }
        print("route-get text, live: \(checked) runs of the binary as `ip` and of contrib/ip-route-get-dropin, \(bad.count) differences")
        #expect(checked >= 100)
        #expect(bad.isEmpty, "\(bad.prefix(5).joined(separator: "\n"))")
        // Every other command goes to the real ip.
        let real = try Self.exec("/bin/sh", ["-c", "ip -V"])
        let viaWrapper = try Self.exec(wrap + "/ip", ["-V"], env: ["NSAUDIT_SNAPSHOT": tmp + "/plain.snapshot.json"])
        #expect(viaWrapper.status == 0 && viaWrapper.stdout == real.stdout, "the wrapper must hand `ip -V` to the real ip: \(viaWrapper)")
    }
}

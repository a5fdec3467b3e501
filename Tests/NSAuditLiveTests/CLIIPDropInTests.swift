import Foundation
import Glibc
import NSAuditCore
import Testing

/// The `ip` personality and `route-get --ip-compat` through the binary, on the checked-in
/// text fixtures (no root needed): what the kernel's ip printed, exit status included.
@Suite struct CLIIPDropInTests {
    static let fixtures = Binary.repo.appendingPathComponent("fixtures/routeget/text").path

    static func cases() throws -> [(namespace: String, snapshot: String, cases: [RouteGetTextCorpus.Case])] {
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures).filter { $0.hasSuffix(".text.jsonl") }.sorted()
        return try names.map { n in
            let (h, cs) = try RouteGetTextCorpus.decode(try Data(contentsOf: URL(fileURLWithPath: fixtures + "/" + n)))
            return (h.namespace, fixtures + "/" + n.replacingOccurrences(of: ".text.jsonl", with: ".snapshot.json"), cs)
        }
    }

    @Test func binaryAsIPPrintsWhatTheKernelPrinted() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-ipdropin-\(getpid())").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        try? FileManager.default.removeItem(atPath: tmp + "/ip")
        try FileManager.default.createSymbolicLink(atPath: tmp + "/ip", withDestinationPath: Binary.url.path)
        var checked = 0, bad: [String] = []
        for set in try Self.cases() {
            for (k, c) in set.cases.enumerated() where k % 6 == 0 || c.batch != nil {
                if let b = c.batch { try b.write(toFile: tmp + "/queries.batch", atomically: true, encoding: .utf8) }
                let args = ["-n", set.namespace] + c.args.split(separator: " ").map(String.init)
                for (exe, pre) in [(tmp + "/ip", [String]()), (Binary.url.path, ["ip"])] {
                    let r = try RouteGetTextLiveTests.exec(exe, pre + args, env: ["NSAUDIT_SNAPSHOT": set.snapshot], cwd: tmp)
                    checked += 1
                    let hashNote = r.stderr.contains("by a hash no snapshot holds")
                    if r.status != c.status || (!hashNote && (r.stdout != c.stdout || r.stderr != c.stderr)) {
                        bad.append("\(exe) \((pre + args).joined(separator: " ")): \(r.status) \(r.stdout.debugDescription) \(r.stderr.debugDescription) vs \(c.status) \(c.stdout.debugDescription) \(c.stderr.debugDescription)")
                    }
                }
            }
        }
        #expect(checked >= 150)
        #expect(bad.isEmpty, "\(bad.count) differ: \(bad.prefix(3))")
    }

    @Test func ipCompatExitStatusAndMessages() throws {
        let set = try #require(Self.cases().first { $0.snapshot.hasSuffix("plain.snapshot.json") })
        let base = ["route-get", "--snapshot", set.snapshot, "--netns", set.namespace, "--ip-compat"]
        var (rc, out, err) = try Binary.run(base + ["192.0.2.1"])
        #expect(rc == 2 && out.isEmpty && err == "RTNETLINK answers: No route to host\n")
        (rc, out, err) = try Binary.run(base + ["10.0.0.300"])
        #expect(rc == 1 && err == "Error: any valid prefix is expected rather than \"10.0.0.300\".\n")
        (rc, out, err) = try Binary.run(base + ["8.8.8.8", "mark", "zz"])
        #expect(rc == 255 && err.hasPrefix("Error: argument \"zz\" is wrong: invalid mark value"))
        (rc, out, err) = try Binary.run(base + ["fibmatch", "10.1.0.5"])
        #expect(rc == 0 && out == "10.1.0.0/24 dev e0 proto kernel scope link src 10.1.0.1 ", "\(out)")
        (rc, out, err) = try Binary.run(base + ["198.51.100.1"])
        #expect(rc == 0 && err.contains("by a hash no snapshot holds") && out.hasPrefix("198.51.100.1 via 10.1.0.2 dev e0 "))
        (rc, out, err) = try Binary.run(["route-get", "--help"])
        #expect(out.contains("--ip-compat") && out.contains("fibmatch") && out.contains("contrib/ip-route-get-dropin"))
    }
}

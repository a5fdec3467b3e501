import Foundation
import Glibc
import NSAuditCore
import Testing

/// The command line's help: every subcommand teaches on --help (exit 0, on standard output),
/// including route-get, whose query words are taken as they come; a bad query is a one-line
/// error on standard error with exit 2.
@Suite struct CLIHelpTests {
    @Test(arguments: [["--help"], ["snapshot", "--help"], ["route-get", "--help"], ["route-get", "-h"],
                      ["report", "--help"], ["capture", "--help"]])
    func helpTeaches(_ args: [String]) throws {
        let (rc, out, err) = try Binary.run(args)
        #expect(rc == 0, "\(args): \(err)")
        #expect(out.contains("OVERVIEW:") && out.contains("USAGE:"), "\(args)")
    }

    @Test func negativeMaxSourcesIsRefused() throws {
        let (rc, out, err) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-broken.json", "--max-sources", "-1"])
        #expect(rc == 2 && out.isEmpty, "a usage error exits 2")
        #expect(err.contains("--max-sources"), "\(err)")
    }

    /// A failed write to standard output is an error with the errno, not a silent stop:
    /// route-get exits 2, the `ip` personality 1 (ip's status for a failed command).
    @Test func failedWriteToStandardOutputIsReported() throws {
        guard access("/dev/full", W_OK) == 0 else { return }
        let snap = "fixtures/snapshots/mgmt-broken.json"
        for (args, status) in [("route-get --snapshot \(snap) --netns nsarec-server 192.168.127.10", 2),
                               ("route-get --snapshot \(snap) --netns nsarec-server --ip-compat 192.168.127.10", 2),
                               ("ip -n nsarec-server route get 192.168.127.10", 1)] {
            let env = args.hasPrefix("ip ") ? "NSAUDIT_SNAPSHOT=\(snap) " : ""
            let out = try Live.sh("cd '\(Binary.repo.path)' && \(env)'\(Binary.url.path)' \(args) 2>&1 >/dev/full | tr '\\n' ' '; echo \"rc=${PIPESTATUS[0]}\"")
            #expect(out.contains("write standard output: No space left on device (ENOSPC)") && out.hasSuffix("rc=\(status)\n"), "\(args): \(out)")
        }
    }

    @Test func badQueryIsOneLineOnStandardError() throws {
        let (rc, out, err) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-broken.json",
                                             "--netns", "nsarec-server", "10.0.0.300"])
        #expect(rc == 2)
        #expect(out.isEmpty)
        #expect(err.split(separator: "\n").count == 1 && err.contains("10.0.0.300"), "\(err)")
    }
}

/// Snapshots without kernel facts are answered with the documented defaults, and the output
/// says so; snapshots with facts say nothing.
@Suite struct KernelFactsCLITests {
    @Test func routeGetSaysWhatWasAssumed() throws {
        // mgmt-vrf is hand-written and records no kernel facts.
        let (rc, out, err) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-vrf.json",
                                             "--netns", "nsarec-server", "192.168.127.10"])
        #expect(rc == 0 && !out.isEmpty)
        #expect(err.contains("records no kernel facts") && err.contains("assumed Linux 6.18"), "\(err)")
        let (rc2, _, err2) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-broken.json",
                                             "--netns", "nsarec-server", "192.168.127.10"])
        #expect(rc2 == 0 && err2.isEmpty, "\(err2)")
    }

    @Test func reportCarriesTheFacts() throws {
        let (_, out, _) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-vrf.json", "--format", "json", "--fail-on", "never"])
        let r = try JSONDecoder().decode(Report.self, from: Data(out.utf8))
        #expect(r.kernel?.assumed == true && r.kernel?.ipv6MulticastRouting == true)
        let (_, text, _) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-vrf.json", "--format", "text", "--fail-on", "never"])
        #expect(text.contains("note: the snapshot records no kernel facts"))
        let (_, out2, _) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-broken.json", "--format", "json", "--fail-on", "never"])
        let r2 = try JSONDecoder().decode(Report.self, from: Data(out2.utf8))
        #expect(r2.kernel == ReportKernel(KernelFacts(release: "6.18.44-fc-v857", ipv6MulticastRouting: true)))
    }
}

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

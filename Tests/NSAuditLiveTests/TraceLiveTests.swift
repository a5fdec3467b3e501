import Foundation
import Glibc
import NSAuditCore
import Testing

/// `nsaudit trace` on the labs built live: each lab's snapshot taken while its listeners run
/// (the lab's `serve`), then traced with the binary; the dispositions the issue names for
/// each lab (the offline TraceTests check the same on the recorded fixtures).
@Suite(.enabled(if: Live.isRoot, Live.skipReason), .serialized)
struct TraceLiveTests {
    /// A snapshot of `namespaces` of the lab, taken with the lab's listeners running (or
    /// without them).
    static func snapshot(_ built: LabScript, namespaces: [String]? = nil, listeners: Bool = true) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-trace-\(getpid())-\(UUID().uuidString).json")
        let script = Binary.repo.appendingPathComponent("fixtures/labs/\(built.lab).sh").path
        let args = (namespaces ?? built.namespaces).map { "--netns '\($0)'" }.joined(separator: " ")
        let snap = "'\(Binary.url.path)' snapshot --no-root \(args) -o '\(file.path)'"
        _ = try Live.sh(listeners ? "'\(script)' serve '\(built.prefix)' \(snap) >/dev/null" : "\(snap) >/dev/null")
        return file
    }

    static func trace(_ file: URL, _ netns: String, _ flow: String) throws -> (Int32, [String: Any]) {
        let (rc, out, err) = try Binary.run(["trace", "--snapshot", file.path, "--netns", netns, "--json"] + flow.split(separator: " ").map(String.init))
        #expect(rc == 0 || rc == 1, "\(err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        return (rc, obj)
    }

    /// "role:in>out" for each hop of a path object.
    static func hops(_ built: LabScript, _ path: Any?) -> [String] {
        ((path as? [String: Any])?["hops"] as? [[String: Any]] ?? []).map {
            "\(built.role($0["netns"] as? String ?? "")):\($0["in"] as? String ?? "-")>\($0["out"] as? String ?? "-")"
        }
    }

    static func disposition(_ path: Any?) -> String? { (path as? [String: Any])?["disposition"] as? String }

    static let ssh = "10.99.0.40 ipproto tcp sport 40000 dport 22"

    @Test func mgmtBroken() throws {
        let built = try LabScript("mgmt-broken")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, t) = try Self.trace(file, built.prefix + "right-client", Self.ssh)
        #expect(rc == 1)
        #expect(Self.hops(built, t["forward"]) == ["right-client:->eth0", "right-router:eth0>eth1", "server:ens19>-"])
        #expect(Self.disposition(t["forward"]) == "accepted")
        #expect(Self.hops(built, t["reverse"]) == ["server:->ens18", "left-router:eth1>eth0", "left-client:eth0>-"])
        #expect(Self.disposition(t["reverse"]) == "misdelivered")
        #expect(t["symmetric"] as? Bool == false)
        let d = try #require(t["divergence"] as? [String: Any])
        #expect(built.role(d["netns"] as? String ?? "") == "server" && d["out"] as? String == "ens18")

        // without the lab's listeners: no-listener at the server
        let bare = try Self.snapshot(built, listeners: false)
        defer { try? FileManager.default.removeItem(at: bare) }
        let (rc2, n) = try Self.trace(bare, built.prefix + "right-client", Self.ssh)
        #expect(rc2 == 1 && Self.disposition(n["forward"]) == "no-listener")
        #expect(n["reverse"] is NSNull)
    }

    @Test func mgmtNetnsFix() throws {
        let built = try LabScript("mgmt-netns")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, t) = try Self.trace(file, built.prefix + "right-client", "10.20.30.40 ipproto tcp sport 40000 dport 22")
        #expect(rc == 0)
        #expect(Self.hops(built, t["forward"]).last == "mgmt:ens19>-" && Self.disposition(t["forward"]) == "accepted")
        #expect(Self.disposition(t["reverse"]) == "delivered" && t["symmetric"] as? Bool == true)
    }

    @Test func mgmtSourceRoutingFix() throws {
        let built = try LabScript("mgmt-srcroute")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, t) = try Self.trace(file, built.prefix + "right-client", Self.ssh)
        #expect(rc == 0 && t["symmetric"] as? Bool == true && Self.disposition(t["reverse"]) == "delivered")
    }

    @Test func mgmtStrictRPFilter() throws {
        let built = try LabScript("mgmt-rpfilter")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, t) = try Self.trace(file, built.prefix + "right-client", Self.ssh)
        #expect(rc == 1 && Self.disposition(t["forward"]) == "rp-filter-drop")
        #expect(Self.hops(built, t["forward"]).last == "server:ens19>-")
    }

    @Test func dockerHost() throws {
        let built = try LabScript("docker-host")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, t) = try Self.trace(file, built.prefix + "ctr3", "172.17.0.2 ipproto tcp sport 33000 dport 80")
        #expect(rc == 0)
        let bridge = ((t["forward"] as? [String: Any])?["hops"] as? [[String: Any]])?[1]
        #expect(bridge?["kind"] as? String == "bridge" && bridge?["out_port"] as? String == "veth3f9a1c1")
        let (rc2, h) = try Self.trace(file, built.prefix + "ctr2", "172.17.0.1")
        #expect(rc2 == 0 && Self.hops(built, h["forward"]).last == "host:docker0>-")
        // the host without the lab's stand-in for the outside network
        let hostOnly = try Self.snapshot(built, namespaces: built.namespaces.filter { !$0.hasSuffix("upstream") })
        defer { try? FileManager.default.removeItem(at: hostOnly) }
        let (_, o) = try Self.trace(hostOnly, built.prefix + "ctr2", "198.51.100.7 ipproto tcp sport 40000 dport 443")
        #expect(Self.disposition(o["forward"]) == "exits-host")
        #expect(((o["forward"] as? [String: Any])?["exit"] as? [String: Any])?["device"] as? String == "eth0")
    }

    @Test func routerECMPBranches() throws {
        let built = try LabScript("router-ecmp")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let (rc, t) = try Self.trace(file, built.prefix + "lan", "198.18.0.1 from 192.168.50.10 ipproto tcp sport 40000 dport 22")
        #expect(rc == 0)
        let branches = (t["forward"] as? [String: Any])?["branches"] as? [[String: Any]] ?? []
        #expect(branches.count == 2)
        #expect(Set(branches.map { Self.hops(built, $0).last ?? "" }) == ["isp-a:eth0>-", "isp-b:eth0>-"])
    }

    /// `--probe`: the management flow of the broken lab sent for real; the captures see the
    /// request and the reply where the trace says (the reply at the left client).
    @Test func probeSeesWhatTheTracePredicts() throws {
        let built = try LabScript("mgmt-broken")
        let script = Binary.repo.appendingPathComponent("fixtures/labs/mgmt-broken.sh").path
        let only = built.namespaces.map { "--only-netns '\($0)'" }.joined(separator: " ")
        let out = try Live.sh("'\(script)' serve '\(built.prefix)' '\(Binary.url.path)' trace \(only) --netns '\(built.prefix)right-client' --json --probe \(Self.ssh); echo \" rc=$?\"")
        let rc = out.components(separatedBy: " rc=").last?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(rc == "1")
        let json = String(out[..<out.range(of: " rc=", options: .backwards)!.lowerBound])
        let t = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let probe = try #require(t["probe"] as? [String: Any])
        #expect(probe["agrees"] as? Bool == true, "\(probe["mismatches"] ?? "")")
        let reply = probe["reply"] as? [[String: Any]] ?? []
        #expect(reply.contains { built.role($0["netns"] as? String ?? "") == "left-client" && $0["seen"] as? Bool == true })
    }

    /// ARP as the kernel answers it (the arp-check lab): the lab's own `check` shows with
    /// real pings and the sender's neighbour table which requests go unanswered, and the
    /// trace of each case on the live snapshot says the same.
    @Test func unansweredARPAgreesWithTheKernel() throws {
        let built = try LabScript("arp-check")
        let script = Binary.repo.appendingPathComponent("fixtures/labs/arp-check.sh").path
        let checked = try Live.sh("'\(script)' check '\(built.prefix)' 2>&1; echo \" rc=$?\"")
        #expect(checked.hasSuffix(" rc=0\n") || checked.hasSuffix(" rc=0"), "\(checked)")
        let file = try Self.snapshot(built)
        defer { try? FileManager.default.removeItem(at: file) }
        let a = built.prefix + "a"
        for (flow, hops, disposition) in [
            ("10.77.0.2 from 10.77.9.9", ["a:->eth0"], "neighbor-unknown"),
            ("10.77.0.2 from 10.77.0.1", ["a:->eth0", "b:eth0>-"], "accepted"),
            ("10.78.0.2 from 10.77.8.8", ["a:->eth1"], "neighbor-unknown"),
            ("10.79.0.2 from 10.77.9.9", ["a:->eth2", "d:eth0>-"], "rp-filter-drop"),
        ] {
            let (_, t) = try Self.trace(file, a, flow)
            #expect(Self.hops(built, t["forward"]) == hops, "\(flow)")
            #expect(Self.disposition(t["forward"]) == disposition, "\(flow)")
        }
    }

    /// `--format dot` draws a graph Graphviz accepts (when graphviz is installed).
    @Test func dotIsAcceptedByGraphviz() throws {
        guard (try? Live.sh("command -v dot")) != nil else { return }
        let file = Binary.repo.appendingPathComponent("fixtures/snapshots/mgmt-broken.json").path
        let (rc, out, _) = try Binary.run(["trace", "--snapshot", file, "--netns", "nsarec-right-client", Self.ssh, "--format", "dot"])
        #expect(rc == 1 && out.hasPrefix("digraph"))
        let dot = FileManager.default.temporaryDirectory.appendingPathComponent("nsat-trace-\(getpid()).dot")
        defer { try? FileManager.default.removeItem(at: dot) }
        try out.write(to: dot, atomically: true, encoding: .utf8)
        let svg = try Live.sh("dot -Tsvg '\(dot.path)'")
        #expect(svg.contains("<svg") && svg.contains("misdelivered"))
    }

    /// Usage errors exit 2 with one line naming the problem.
    @Test func badInputExitsTwo() throws {
        let file = Binary.repo.appendingPathComponent("fixtures/snapshots/mgmt-broken.json").path
        for (args, words) in [(["--netns", "nope", "10.0.0.1"], "no namespace"),
                              (["--netns", "nsarec-server", "10.0.0.1", "iif", "ens19"], "from SRC"),
                              (["--netns", "nsarec-server", "10.0.0.1", "from", "1.2.3.4", "iif", "eth9"], "eth9"),
                              (["--netns", "nsarec-server", "10.0.0.1", "--format", "svg"], "--format")] {
            let (rc, out, err) = try Binary.run(["trace", "--snapshot", file] + args)
            #expect(rc == 2 && out.isEmpty && err.contains(words), "\(args): \(err)")
        }
    }
}

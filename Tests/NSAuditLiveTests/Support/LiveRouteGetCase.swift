import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux
import Testing

/// Builds one generated case live and collects the kernel's answers and the snapshot.
enum LiveRouteGetCase {
    struct Run { var snapshot: Snapshot; var namespace: NamespaceSnapshot; var answers: [KernelAnswer] }

    static func run(_ c: GeneratedCase, tag: String) throws -> Run {
        let m = "nsafib-\(getpid())-\(tag)m", p = "nsafib-\(getpid())-\(tag)p"
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("nsafib-\(getpid())-\(tag)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let keep = ProcessInfo.processInfo.environment["NSAUDIT_ROUTEGET_KEEP"] == "1"
        defer {
            if keep { print("kept namespaces \(m) \(p) (NSAUDIT_ROUTEGET_KEEP=1): delete them with ip netns del") }
            else { _ = try? Live.sh("ip netns del \(m) 2>/dev/null; ip netns del \(p) 2>/dev/null; true") }
            try? FileManager.default.removeItem(at: tmp)
        }
        try Live.sh("ip netns add \(m) && ip netns add \(p) && ip -n \(m) link set lo up && ip netns exec \(m) sh -c 'echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad; echo 0 > /proc/sys/net/ipv6/conf/all/accept_dad'")
        let setup = c.setup.map { $0.replacingOccurrences(of: "%M", with: m).replacingOccurrences(of: "%P", with: p) + " || true" }
        try Live.sh(setup.joined(separator: "; "))
        // `ip -batch` lines take no options: IPv6 lines ("-6 ...") go to a second batch run
        // with `ip -6`, after the first (links, addresses, nexthop objects, IPv4).
        let batchURL = tmp.appendingPathComponent("setup.batch"), batch6URL = tmp.appendingPathComponent("setup6.batch")
        let v4Lines = c.batch.filter { !$0.hasPrefix("-6 ") }, v6Lines = c.batch.filter { $0.hasPrefix("-6 ") }.map { String($0.dropFirst(3)) }
        try (v4Lines.joined(separator: "\n") + "\n").write(to: batchURL, atomically: true, encoding: .utf8)
        try (v6Lines.joined(separator: "\n") + "\n").write(to: batch6URL, atomically: true, encoding: .utf8)
        try Live.sh("ip -n \(m) -force -batch \(batchURL.path) >/dev/null 2>&1; ip -6 -n \(m) -force -batch \(batch6URL.path) >/dev/null 2>&1; true")
        if !c.sysctls.isEmpty {
            let cmds = c.sysctls.map { "echo \($0.1) > /proc/sys/\($0.0)" }.joined(separator: "; ")
            try Live.sh("ip netns exec \(m) sh -c '\(cmds)' 2>/dev/null; true")
        }
        // Wait for carrier and addrconf to settle: one fe80::/64 route per up link with carrier.
        for _ in 0..<60 {
            let out = (try? Live.sh("ip -n \(m) -6 route show table main")) ?? ""
            if out.components(separatedBy: "fe80::/64").count - 1 >= c.carrierLinks { break }
            usleep(50_000)
        }
        usleep(20_000)
        let snap = try Collector.collect(CollectOptions(netns: [m], includeRoot: false, sockets: false))
        guard let ns = snap.namespace(m), ns.status == .ok else { throw ShellError(command: "collect \(m)", status: 1, stderr: "namespace not recorded") }
        // Ask the kernel, all queries in one ip -batch.
        let qURL = tmp.appendingPathComponent("queries.batch")
        try (c.queries.map { "route get \($0.line)" }.joined(separator: "\n") + "\n").write(to: qURL, atomically: true, encoding: .utf8)
        let errURL = tmp.appendingPathComponent("queries.err")
        let out = try Live.sh("ip -n \(m) -j -force -batch \(qURL.path) 2>\(errURL.path); true")
        let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        var failedLines: [Int: String] = [:]
        var last = ""
        for line in err.split(separator: "\n").map(String.init) {
            if line.hasPrefix("Command failed "), let n = Int(line.split(separator: ":").last ?? "") {
                failedLines[n] = last
            } else { last = line }
        }
        var objects: [[String: Any]] = []
        for line in out.split(separator: "\n") where line.hasPrefix("[") {
            let arr = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [[String: Any]] ?? []
            objects.append(arr.first ?? [:])
        }
        var answers: [KernelAnswer] = []
        var next = 0
        for k in 1...c.queries.count {
            if let msg = failedLines[k] { answers.append(KernelAnswer(errorMessage: msg)); continue }
            answers.append(next < objects.count ? KernelAnswer(ipJSON: objects[next]) : KernelAnswer(error: "?missing"))
            next += 1
        }
        return Run(snapshot: snap, namespace: ns, answers: answers)
    }
}

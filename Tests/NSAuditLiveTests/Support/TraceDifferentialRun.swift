import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux

/// Builds a generated topology in throwaway namespaces (prefix nsaTD-PID-SEED), starts its
/// listeners, snapshots it with the collector and sends every generated flow for real with
/// LiveProbe, capturing in every namespace. Namespaces and listeners are removed on return,
/// also when something fails.
enum TraceDifferentialRun {
    static let listenerProgram = """
    import select, socket, sys
    socks = []
    for spec in sys.argv[1:]:
        proto, addr, port = spec.split(':')
        if proto == 'tcp':
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((addr, int(port))); s.listen(128)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((addr, int(port)))
        socks.append((proto, s))
    sys.stdout.write('ready\\n'); sys.stdout.flush()
    while True:
        r, _, _ = select.select([s for _, s in socks], [], [])
        for proto, s in socks:
            if s in r:
                try:
                    if proto == 'tcp':
                        c, _ = s.accept(); c.close()
                    else:
                        d, a = s.recvfrom(2048); s.sendto(d, a)
                except OSError:
                    pass  # a reply the namespace cannot route (unreachable, prohibit): the kernel says so
    """

    struct Result { var snapshot: Snapshot; var observations: [ProbeObservation]; var seconds: Double }

    static func run(_ t: TraceTopology, timeout: Double = 0.5) throws -> Result {
        let t0 = Date()
        let prefix = "nsaTD-\(getpid())-\(t.seed)"
        let names = t.roles.map { prefix + $0 }
        var pids: [String] = []
        defer {
            for p in pids where !p.isEmpty { _ = try? Live.sh("kill \(p) 2>/dev/null; true") }
            for n in names { _ = try? Live.sh("[ -e /run/netns/\(n) ] && ip netns del \(n); true") }
        }
        let script = t.commands.map { $0.replacingOccurrences(of: "%", with: prefix) }.joined(separator: "\n")
        try Live.sh("set -e\n" + script)
        let programFile = FileManager.default.temporaryDirectory.appendingPathComponent("nsaTD-listener-\(getpid()).py")
        try Data(listenerProgram.utf8).write(to: programFile)
        defer { try? FileManager.default.removeItem(at: programFile) }
        for role in t.roles {
            guard let l = t.listeners[role] else { continue }
            var specs = l.tcp.map { "tcp:0.0.0.0:\($0)" }
            for port in l.udp { specs += (t.addresses[role] ?? []).map { "udp:\($0):\(port)" } }
            let ready = FileManager.default.temporaryDirectory.appendingPathComponent("nsaTD-\(getpid())-\(t.seed)\(role).ready").path
            let pid = try Live.sh("ip netns exec \(prefix + role) python3 \(programFile.path) \(specs.joined(separator: " ")) > \(ready) 2>&1 & echo $!")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            pids.append(pid)
            var waited = 0
            while (try? String(contentsOfFile: ready, encoding: .utf8))?.contains("ready") != true {
                usleep(20_000); waited += 1
                if waited > 250 {
                    let err = (try? String(contentsOfFile: ready, encoding: .utf8)) ?? ""
                    throw ShellError(command: "listener in \(prefix + role)", status: 1, stderr: "did not start: \(err)")
                }
            }
            try? FileManager.default.removeItem(atPath: ready)
        }
        // Every flow starts from the state the snapshot records: no neighbour entries (the
        // model follows a flow's own ARP exchanges, not those of the flows before it).
        let flush = names.map { "ip -n \($0) neigh flush all" }.joined(separator: "; ")
        try Live.sh(flush)
        let snapshot = try Collector.collect(CollectOptions(netns: names, includeRoot: false))
        let plans = t.flows.map { ProbePlan(flow: $0.flow, netns: prefix + $0.role, captureNetns: names, timeout: timeout) }
        let observations = try LiveProbe.run(plans) { _ = try? Live.sh(flush) }
        return Result(snapshot: snapshot, observations: observations, seconds: Date().timeIntervalSince(t0))
    }
}

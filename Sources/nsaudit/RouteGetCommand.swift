import ArgumentParser
import Foundation
import NSAuditCore
import NSAuditLinux

struct RouteGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route-get",
        abstract: "Answer `ip route get` offline from a snapshot (or from a fresh one of the live host).",
        discussion: """
        Query arguments use the syntax of `ip route get`:
          [fibmatch] DST [from SRC] [iif DEV] [oif DEV] [mark N] [tos N] [uid N]
            [ipproto tcp|udp|icmp|ipv6-icmp] [sport N] [dport N] [vrf NAME]
            [connected] [notify]

        Without --json the answer is printed as `ip route get` prints it, byte for \
        byte (checked against the kernel: fixtures/routeget/text), errors as \
        `RTNETLINK answers: ...` on standard error. `fibmatch` prints the FIB entry \
        that matched, as `ip route show` lists it: its nexthops with their flags \
        (dead, linkdown, onlink), nhid, proto, scope, metric. One thing differs on \
        purpose: where the kernel picks one path of a multipath route (or of equal \
        default routes) by a hash no snapshot holds, nsaudit lists every candidate: \
        `nexthop-candidates [via A dev X weight 1] [via B dev Y weight 1]`.

        With --json, one object per query: query, error (errno name or null), type, \
        dev, gateway, table, prefsrc, rule, multipath (every path the kernel's hash \
        may choose), and for fibmatch queries "fibmatch" (the matched entry's text, \
        null if none).

        --ip-compat answers exactly as `ip` would, for scripts that parse its \
        output: the words are read as `ip` reads them (abbreviations such as `f` for \
        from, `10.1` for 10.1.0.0) with `ip`'s own messages for bad ones; a \
        multipath answer prints the first possible path and a note on standard \
        error; a query without `uid` is asked as the calling user, as `ip` does. \
        Exit status 0; 2 for the kernel's errors (`RTNETLINK answers: Network is \
        unreachable`); 1 or 255 for `ip`'s argument errors. With --json it prints \
        `ip -j` JSON; with --batch every line is read and answered that way.

        As a drop-in for `ip` itself: run nsaudit through a symlink named `ip`, or \
        as `nsaudit ip ARGS`, and it takes ip's own command line, `ip [-4|-6] [-j] \
        [-o] [-n NETNS] [-force] [-batch FILE] route get ...` (also `ip r g ...`, \
        `ip ro get ...`), answering from the snapshot file in NSAUDIT_SNAPSHOT \
        (else a fresh snapshot of the live host), in the namespace given by -n or \
        NSAUDIT_NETNS. contrib/ip-route-get-dropin is a wrapper to put first in \
        PATH as `ip`: it sends `ip route get` to nsaudit and every other command to \
        the real ip, so that a test script (fib_tests.sh style) runs against a \
        snapshot:
          mkdir -p /tmp/dropin && cp contrib/ip-route-get-dropin /tmp/dropin/ip
          NSAUDIT_SNAPSHOT=ns.json PATH=/tmp/dropin:$PATH ./route-checks.sh

        Examples:
          nsaudit route-get --snapshot h.json --netns srv 192.0.2.10 from 10.9.0.4
          nsaudit route-get --snapshot h.json --netns srv fibmatch 198.51.100.7
          nsaudit route-get --snapshot h.json --netns srv --ip-compat 10.1 f 10.9.0.4
          nsaudit route-get --snapshot h.json --netns srv --json 10.9.0.4 iif eth1
          nsaudit route-get --snapshot h.json --netns srv --batch queries.txt --json
          NSAUDIT_SNAPSHOT=h.json nsaudit ip -n srv -j route get 10.9.0.4
        """
    )

    @Option(help: ArgumentHelp("Snapshot file from `nsaudit snapshot` (default: snapshot the live host first).", valueName: "FILE"))
    var snapshot: String?

    @Option(help: ArgumentHelp("Namespace to query: a name or snapshot id (default: root, or the only namespace).", valueName: "NAME"))
    var netns: String?

    @Option(help: ArgumentHelp("Answer one query per line of FILE (`-`: standard input); empty lines and # comments are skipped. Answers come in input order; a big batch is answered on every core.", valueName: "FILE"))
    var batch: String?

    @Flag(help: "Print one JSON object per query (with --ip-compat: `ip -j` JSON).")
    var json = false

    @Flag(name: .customLong("ip-compat"), help: "Answer exactly as `ip route get` would: its argument syntax and messages, its exit status, the first path of a multipath answer (see below).")
    var ipCompat = false

    @Flag(help: ArgumentHelp("Print load, build and answer times on standard error.", visibility: .hidden))
    var timing = false

    @Option(help: ArgumentHelp("Benchmark: answer N random IPv4 and N/10 random IPv6 output lookups in-process and print the rates.", visibility: .hidden))
    var benchmarkLookups: Int?

    @Option(help: ArgumentHelp("Benchmark on a synthetic in-memory namespace with N IPv4 routes (N/10 IPv6, 50 rules) instead of a snapshot.", visibility: .hidden))
    var syntheticRoutes: Int?

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp("The `ip route get` arguments.", valueName: "QUERY"))
    var query: [String] = []

    func validate() throws {
        // The query takes `ip route get` words as they come, so ask for help here.
        if let w = query.first, w == "--help" || w == "-h" || w == "help" { throw CleanExit.helpRequest(Self.self) }
        if benchmarkLookups != nil { return }
        if batch == nil && query.isEmpty { throw ValidationError("give a query (e.g. `10.0.0.1 from 10.99.0.40`) or --batch FILE") }
        if batch != nil && !query.isEmpty { throw ValidationError("give either a query or --batch, not both") }
    }

    func run() throws {
        let clock = ContinuousClock()
        let t0 = clock.now
        let snap: Snapshot
        if let n = syntheticRoutes {
            snap = Snapshot(generator: "synthetic", host: "-", kernel: "-", takenAt: "-", namespaces: [RouteGetBenchmark.synthetic(n)])
        } else if let path = snapshot {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw fail("\(path): cannot read the snapshot file")
            }
            do { snap = try SnapshotReader.decode(data, name: path) } catch { throw fail("\(error)") }
        } else {
            do {
                snap = try Collector.collect(CollectOptions(netns: netns.map { [$0] } ?? [], includeRoot: netns == nil, sockets: false))
            } catch { throw fail("\(error)") }
        }
        let ns: NamespaceSnapshot
        if let name = netns {
            guard let n = snap.namespace(name) else {
                let known = snap.namespaces.map(\.id).joined(separator: ", ")
                throw fail("no namespace \"\(name)\" in the snapshot (it has: \(known))")
            }
            ns = n
        } else if let n = snap.namespace("root") ?? (snap.namespaces.count == 1 ? snap.namespaces[0] : nil) {
            ns = n
        } else {
            throw fail("the snapshot has several namespaces and no root: choose one with --netns")
        }
        guard ns.status == .ok else { throw fail("namespace \(ns.id) was not recorded (\(ns.status.rawValue): \(ns.error ?? ""))") }
        if let a = snap.kernelFacts.assumption { note("\(snapshot ?? "snapshot"): \(a)") }
        let t1 = clock.now
        let buildCPU0 = threadCPUSeconds()
        let model = RoutingModel(ns)
        let t2 = clock.now
        let buildCPU = threadCPUSeconds() - buildCPU0
        HugePages.advise(model)
        if timing {
            note("snapshot load \(ms(t1 - t0)) ms; lookup structures built in \(ms(t2 - t1)) ms (on-CPU \(String(format: "%.1f", buildCPU * 1000)) ms; \(ns.routes.count) routes, \(ns.rules.count) rules)")
        }
        if let n = benchmarkLookups {
            RouteGetBenchmark.run(model: model, count: n)
            return
        }
        var out = OutputBuffer()
        if let b = batch {
            let data: Data
            if b == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let d = FileManager.default.contents(atPath: b) else { throw fail("\(b): cannot read the batch file") }
                data = d
            }
            let tb = clock.now
            let cpuB = threadCPUSeconds()
            let options = RouteGetBatch.Options(names: IPDropIn.loadNames(), ipCompat: ipCompat, uid: UInt32(getuid()))
            let counts = RouteGetBatch.run(model: model, input: [UInt8](data), json: json, options: options) { bytes, toStderr in
                bytes.withUnsafeBufferPointer { p in
                    var off = 0
                    while off < p.count {
                        let n = write(toStderr ? 2 : 1, p.baseAddress! + off, p.count - off)
                        if n <= 0 { break }
                        off += n
                    }
                }
            }
            if timing {
                let d = clock.now - tb
                let cpu = threadCPUSeconds() - cpuB
                note("answered \(counts.answered) queries in \(ms(d)) ms (on-CPU \(String(format: "%.1f", cpu * 1000)) ms; \(Int(Double(counts.answered) / max(seconds(d), 1e-9))) queries/s, parsing and printing included; \(counts.kernelErrors) kernel errors, \(counts.badQueries) bad queries)")
            }
            if (!json || ipCompat) && counts.kernelErrors + counts.badQueries > 0 { throw ExitCode(1) }
        } else if ipCompat {
            let ctx = IPRouteGetDropIn.Context(model: model, names: IPDropIn.loadNames(), uid: UInt32(getuid()), json: json)
            let outcome = IPRouteGetDropIn.routeGet(query, family: nil, ctx: ctx) { bytes, toStderr in IPDropIn.write(toStderr ? 2 : 1, bytes) }
            if outcome.status != 0 { throw ExitCode(outcome.status) }
        } else {
            let line = query.joined(separator: " ")
            let ok = answer(line: line, model: model, out: &out)
            out.flush()
            if !ok { throw ExitCode(2) }
        }
    }

    /// Answers one line; false when the query was bad or the kernel would return an error.
    func answer(line: String, model: RoutingModel, out: inout OutputBuffer) -> Bool {
        let names = IPDropIn.loadNames()
        do {
            let r = try model.routeGet(line: line)
            if json {
                out.append(RouteGetFormat.json(r, model: model, names: names)); out.append("\n")
            } else if RouteGetFormat.kernelError(r) != nil {
                out.flush()
                FileHandle.standardError.write(Data((RouteGetFormat.text(r, model: model, names: names) + "\n").utf8))
                return false
            } else {
                let text = RouteGetFormat.text(r, model: model, names: names) + "\n"
                let q = try RouteQuery.parse(line)
                // `connected` without `from`: ip asks again and prints both answers
                out.append(q.connected && q.src == nil ? text + text : text)
            }
            return true
        } catch {
            if json {
                out.append(RouteGetFormat.problemJSON(query: line, problem: error.description)); out.append("\n")
            } else {
                out.flush()
                FileHandle.standardError.write(Data("nsaudit: route-get \(line): \(error.description)\n".utf8))
            }
            return false
        }
    }

    func note(_ s: String) { FileHandle.standardError.write(Data("nsaudit: \(s)\n".utf8)) }

    func fail(_ message: String) -> Error {
        FileHandle.standardError.write(Data("nsaudit: \(message)\n".utf8))
        return ExitCode(2)
    }
}

/// Backs the model's large lookup arrays with transparent huge pages where the kernel allows
/// it (MADV_HUGEPAGE, then MADV_COLLAPSE): random lookups in million-route tables otherwise
/// spend most of their time in TLB misses. Best effort; failures are ignored.
enum HugePages {
    static func advise(_ model: RoutingModel) {
        let huge = 2 << 20
        model.withLookupStorage { buf in
            guard let base = buf.baseAddress, buf.count >= 2 * huge else { return }
            let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
            let end = (Int(bitPattern: base) + buf.count) & ~(huge - 1)
            guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
            let a = madvise(p, end - start, 14 /* MADV_HUGEPAGE */)
            let b = madvise(p, end - start, 25 /* MADV_COLLAPSE */)
            if ProcessInfo.processInfo.environment["NSAUDIT_DEBUG_HUGEPAGES"] != nil {
                FileHandle.standardError.write(Data("hugepages: \(end - start) bytes: MADV_HUGEPAGE \(a), MADV_COLLAPSE \(b) errno \(errno)\n".utf8))
            }
        }
    }
}

/// CPU time of the calling thread (the "one core" figure, independent of other load).
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}
func ms(_ d: Duration) -> String { String(format: "%.1f", seconds(d) * 1000) }

/// In-process lookup benchmark: random destinations, output lookups, one core.
enum RouteGetBenchmark {
    /// A namespace like bench/route-get-bench.sh builds, made in memory.
    static func synthetic(_ n: Int) -> NamespaceSnapshot {
        var ns = NamespaceSnapshot(id: "synthetic")
        let up = LinkFlags.up | LinkFlags.lowerUp | LinkFlags.broadcast | 0x40
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.up | LinkFlags.loopback | LinkFlags.lowerUp),
                    Link(index: 2, name: "eth0", flags: up), Link(index: 3, name: "eth1", flags: up)]
        ns.addresses = [Address(index: 1, local: IPAddress("127.0.0.1")!, prefixlen: 8, scope: Scope.host),
                        Address(index: 2, local: IPAddress("10.0.0.1")!, prefixlen: 24),
                        Address(index: 3, local: IPAddress("10.1.0.1")!, prefixlen: 24),
                        Address(index: 2, local: IPAddress("2001:db8::1")!, prefixlen: 64)]
        var mix = SplitMix64(seed: 42)
        func next() -> UInt64 { mix.next() }
        let lens: [Int] = [8, 12, 12, 16, 16, 16, 16, 20, 20, 22, 22, 23, 24, 24, 24, 24, 24, 24, 24, 24, 24, 24, 28, 32]
        var routes: [Route] = []
        routes.reserveCapacity(n + n / 10 + 8)
        var def = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix("0.0.0.0/0")!)
        def.gateway = IPAddress("10.0.0.254"); def.oif = 2
        routes.append(def)
        for _ in 0..<n {
            let len = lens[Int(next() % UInt64(lens.count))]
            let a = UInt32(0x0100_0000) + UInt32(next() % 0xDEFF_FFFF)
            var r = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v4: a), len))
            switch next() % 100 {
            case 0..<2: r.type = .blackhole
            case 2..<10: r.oif = 3; r.scope = Scope.link
            case 10..<15: r.nexthops = [RouteNexthop(gateway: IPAddress("10.0.0.2"), oif: 2), RouteNexthop(gateway: IPAddress("10.1.0.2"), oif: 3)]
            default: r.oif = 2; r.gateway = IPAddress(v4: 0x0A00_0002 + UInt32(next() % 200))
            }
            routes.append(r)
        }
        for _ in 0..<(n / 10) {
            let v = (UInt128(0x2001_0db8) << 96) | (UInt128(next()) << 32) | UInt128(next() & 0xffff_ffff)
            var r = Route(family: .v6, table: 254, type: .unicast, dst: IPPrefix(IPAddress(v6: v), [40, 48, 56, 64, 64, 128][Int(next() % 6)]))
            r.oif = 2; r.gateway = IPAddress("2001:db8::2"); r.metric = 1024
            routes.append(r)
        }
        ns.routes = routes
        var rules = [Rule(family: .v4, priority: 0, table: 255)]
        for i in 0..<50 {
            var r = Rule(family: .v4, priority: UInt32(100 + i), table: UInt32(100 + i % 3))
            switch i % 5 {
            case 0: r.src = IPPrefix("192.0.2.\(i)/32")
            case 1: r.fwmark = UInt32(i + 1)
            case 2: r.dst = IPPrefix("198.18.\(i).0/24")
            case 3: r.iif = "eth1"
            default: r.ipproto = 6; r.dport = PortRange(UInt16(1000 + i), UInt16(1000 + i))
            }
            rules.append(r)
        }
        rules += [Rule(family: .v4, priority: 32766, table: 254), Rule(family: .v4, priority: 32767, table: 253),
                  Rule(family: .v6, priority: 0, table: 255), Rule(family: .v6, priority: 32766, table: 254)]
        ns.rules = rules
        return ns
    }

    static func run(model: RoutingModel, count: Int) {
        var rng = SystemRandomNumberGenerator()
        var mix = SplitMix64(seed: UInt64.random(in: 1...UInt64.max, using: &rng))
        func next() -> UInt64 { mix.next() }
        let clock = ContinuousClock()
        // 1. The output lookup (`route get DST`, iif lo): the policy rules, the table, the
        //    path and the source address, giving the decision (route, device, type, source,
        //    rule) that route-get then prints. No text is made here.
        var dsts: [UInt32] = []
        dsts.reserveCapacity(count)
        for _ in 0..<count { dsts.append(UInt32(truncatingIfNeeded: next())) }
        var routed = 0, errors = 0, check: Int64 = 0
        var t = clock.now
        var cpu0 = threadCPUSeconds()
        for a in dsts {
            let d = model.decideOutput4(dst: a)
            if d.error == nil { routed += 1; check &+= Int64(d.routeIndex) } else { errors += 1 }
        }
        var s = seconds(clock.now - t)
        var cpu = threadCPUSeconds() - cpu0
        print(String(format: "IPv4 output lookups (rules + table + path + source), one at a time: %d in %.3f s wall = %.0f lookups/s; %.3f s on-CPU = %.0f lookups per CPU-second (%d routed, %d errors, checksum %lld)",
                     count, s, Double(count) / s, cpu, Double(count) / cpu, routed, errors, check))
        // 1b. The same lookups through the bulk entry point (groups of 16 whose table reads
        //     are issued together so their cache misses overlap; each lookup is unchanged),
        //     1024 destinations per call into a reused buffer, as a batch would use it.
        let chunk = 1024
        let decisions = UnsafeMutablePointer<RoutingModel.OutputDecision4>.allocate(capacity: chunk)
        defer { decisions.deallocate() }
        let routedOne = routed, checkOne = check
        routed = 0; errors = 0; check = 0
        var touched = 0
        t = clock.now
        cpu0 = threadCPUSeconds()
        dsts.withUnsafeBufferPointer { all in
            var i = 0
            while i < count {
                let m = min(chunk, count - i)
                touched &+= model.decideOutput4(destinations: UnsafeBufferPointer(rebasing: all[i..<(i + m)]), into: decisions)
                for k in 0..<m {
                    let d = decisions[k]
                    if d.error == nil { routed += 1; check &+= Int64(d.routeIndex) } else { errors += 1 }
                }
                decisions.deinitialize(count: m)
                i += m
            }
        }
        s = seconds(clock.now - t)
        cpu = threadCPUSeconds() - cpu0
        print(String(format: "IPv4 output lookups (rules + table + path + source), bulk of 16: %d in %.3f s wall = %.0f lookups/s; %.3f s on-CPU = %.0f lookups per CPU-second (%d routed, %d errors, checksum %lld%@)",
                     count, s, Double(count) / s, cpu, Double(count) / cpu, routed, errors, check,
                     routed == routedOne && check == checkOne ? ", same decisions as one at a time" : ", DIFFERENT from one at a time"))
        _ = touched
        // 2. The same through the full route-get answer (RouteResult with names), IPv4 and IPv6.
        for (family, n) in [(IPAddress.Family.v4, max(1, count / 5)), (.v6, max(1, count / 10))] {
            var queries: [RouteQuery] = []
            queries.reserveCapacity(n)
            for _ in 0..<n {
                let a = family == .v4 ? IPAddress(v4: UInt32(truncatingIfNeeded: next()))
                    : IPAddress(v6: (UInt128(0x2001_0db8) << 96) | (UInt128(next() & 0xffff_ffff) << 64) | UInt128(next()))
                queries.append(RouteQuery(dst: a, line: "bench"))
            }
            routed = 0; errors = 0
            t = clock.now
            for q in queries {
                if let r = try? model.routeGet(q) {
                    if r.error == nil { routed += 1 } else { errors += 1 }
                }
            }
            s = seconds(clock.now - t)
            print(String(format: "%@ route-get answers (full RouteResult): %d in %.3f s = %.0f answers/s (%d routed, %d errors)",
                         family == .v4 ? "IPv4" : "IPv6", n, s, Double(n) / s, routed, errors))
        }
    }
}

/// Buffered standard output: batch answers are written in large chunks.
struct OutputBuffer {
    private var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(1 << 16) }
    mutating func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        if bytes.count >= 1 << 16 { flush() }
    }
    mutating func flush() {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { p in
            var off = 0
            while off < p.count {
                let n = write(1, p.baseAddress! + off, p.count - off)
                if n <= 0 { break }
                off += n
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

import FoundationEssentials
import Glibc
import NSAuditCore
import NSAuditLinux
import Synchronization

/// The `ip` personality: nsaudit run through a symlink (or wrapper) named `ip`, or as
/// `nsaudit ip ARGS` (what contrib/ip-route-get-dropin runs). IPRouteGetDropIn does the work;
/// this loads the namespace (NSAUDIT_SNAPSHOT, else a snapshot of the live host; `-n NAME`
/// or NSAUDIT_NETNS) and iproute2's names files, and writes the output.
enum IPDropIn {
    /// `args`: the arguments after the program name. Returns the exit status.
    static func main(_ args: [String]) -> Int32 {
        let o: IPRouteGetDropIn.Options, rest: [String]
        switch IPRouteGetDropIn.parseOptions(args) {
        case .success(let v): (o, rest) = v
        case .failure(let f): write(2, Array(f.stderr.utf8)); return f.status
        }
        if o.version {
            write(1, Array("ip utility, nsaudit-\(NSAuditInfo.version) (answers `ip route get` from a snapshot)\n".utf8))
            return 0
        }
        let ctx: IPRouteGetDropIn.Context
        switch loadContext(o) {
        case .success(let c): ctx = c
        case .failure(let f): write(2, Array(f.stderr.utf8)); return f.status
        }
        let emit: IPRouteGetDropIn.Emit = { bytes, toStderr in write(toStderr ? 2 : 1, bytes) }
        if let name = o.batch {
            let data = name == "-" ? try? readStandardInput() : FileManager.default.contents(atPath: name).map { [UInt8]($0) }
            guard let data else {
                write(2, Array("Cannot open file \"\(name)\" for reading: \(String(cString: strerror(errno)))\n".utf8))
                return 1
            }
            let status = IPRouteGetDropIn.batch(String(decoding: data, as: UTF8.self), name: name, force: o.force, family: o.family, ctx: ctx, emit: emit)
            return outputFailed.withLock { $0 } ? 1 : status
        }
        let status = IPRouteGetDropIn.command(rest, family: o.family, ctx: ctx, emit: emit).status
        return outputFailed.withLock { $0 } ? 1 : status
    }

    /// The namespace's model and the names `ip` prints with.
    static func loadContext(_ o: IPRouteGetDropIn.Options) -> Result<IPRouteGetDropIn.Context, IPRouteGetArguments.Failure> {
        let env = ProcessInfo.processInfo.environment
        let netns = o.netns ?? env["NSAUDIT_NETNS"].flatMap { $0.isEmpty ? nil : $0 }
        let snap: Snapshot
        if let path = env["NSAUDIT_SNAPSHOT"], !path.isEmpty {
            let data: [UInt8]
            do { data = try readWholeFile(path) } catch {
                // why: `open ns.json: No such file or directory (ENOENT)`
                return .failure(.init(stderr: "nsaudit: NSAUDIT_SNAPSHOT=\(path): cannot read the snapshot file: \(error)\n".terminalEscapedLine, status: 2))
            }
            do { snap = try SnapshotReader.decode(data, name: path) } catch {
                return .failure(.init(stderr: "nsaudit: \(error)\n".terminalEscapedLine, status: 2))
            }
        } else {
            do {
                snap = try Collector.collect(CollectOptions(netns: netns.map { [$0] } ?? [], includeRoot: netns == nil, sockets: false))
            } catch { return .failure(.init(stderr: "nsaudit: \(error)\n".terminalEscapedLine, status: 2)) }
        }
        let ns: NamespaceSnapshot
        if let name = netns {
            guard let n = snap.namespace(name) else {
                // what ip says for a namespace that does not exist
                return .failure(.init(stderr: "Cannot open network namespace \"\(name)\": No such file or directory\n", status: 255))
            }
            ns = n
        } else if let n = snap.namespace("root") ?? (snap.namespaces.count == 1 ? snap.namespaces[0] : nil) {
            ns = n
        } else {
            let known = snap.namespaces.map(\.id).joined(separator: ", ")
            return .failure(.init(stderr: "nsaudit: the snapshot has several namespaces and no root: choose one with -n NAME or NSAUDIT_NETNS (it has: \(known))\n", status: 2))
        }
        guard ns.status == .ok else {
            return .failure(.init(stderr: "nsaudit: namespace \(ns.id) was not recorded (\(ns.status.rawValue): \(ns.error ?? ""))\n", status: 2))
        }
        return .success(.init(model: RoutingModel(ns), names: loadNames(), uid: UInt32(getuid()), json: o.json, oneline: o.oneline))
    }

    /// iproute2's names files, as `ip` reads them: its built-in names, then /usr/share/iproute2
    /// and /etc/iproute2 (with their `.d/*.conf` directories for tables and protocols).
    static func loadNames() -> IPRouteNames {
        var names = IPRouteNames.builtin
        let fm = FileManager.default
        for dir in ["/usr/share/iproute2", "/etc/iproute2"] {
            for (file, kind) in [("rt_tables", IPRouteNames.Kind.tables), ("rt_protos", .protocols), ("rt_dsfield", .dsfields), ("rt_scopes", .scopes)] {
                var paths = [dir + "/" + file]
                if kind == .tables || kind == .protocols {
                    let d = dir + "/" + file + ".d"
                    paths += ((try? fm.contentsOfDirectory(atPath: d)) ?? []).filter { $0.hasSuffix(".conf") && !$0.hasPrefix(".") }.sorted().map { d + "/" + $0 }
                }
                for p in paths {
                    if let data = fm.contents(atPath: p) { names.merge(kind, fileText: String(decoding: data, as: UTF8.self)) }
                }
            }
        }
        return names
    }

    /// Writes to standard output (1) or standard error (2), every byte (retried on EINTR).
    /// A failed write to standard output is said once on standard error and ends the run
    /// with ip's status for a failed command, 1; a failed write to standard error is dropped.
    static func write(_ fd: Int32, _ b: [UInt8]) {
        guard !outputFailed.withLock({ $0 }) else { return }
        do { try (fd == 2 ? StandardStream.error : .output).write(b) } catch {
            guard fd != 2 else { return }
            outputFailed.withLock { $0 = true }
            try? StandardStream.error.write("nsaudit: \(error)\n")
        }
    }

    /// Set once a write to standard output failed: nothing more is written, status 1.
    static let outputFailed = Mutex(false)
}

extension String {
    /// A message line ending in a newline, its text escaped for the terminal (one line).
    var terminalEscapedLine: String { String(dropLast()).terminalEscaped + "\n" }
}

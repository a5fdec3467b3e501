import Foundation
import Glibc
import NSAuditCore
import NSAuditLinux

/// nsaudit as a drop-in for `ip route get`: run through a symlink (or wrapper) named `ip`, or
/// as `nsaudit ip ARGS` (what contrib/ip-route-get-dropin runs), it takes `ip`'s own command
/// line — `ip [-4|-6] [-j] [-o] [-n NETNS] [-force] [-batch FILE] route get ...`, with `ip`'s
/// abbreviations (`ip r g`, `ip ro get`) — and answers from a snapshot (NSAUDIT_SNAPSHOT, else
/// a fresh one of the live namespace) with the text, errors and exit status `ip` gives:
/// `RTNETLINK answers: ...` with status 2 for the kernel's errors, `ip`'s argument errors
/// (status 1 or 255), `Command failed FILE:LINE` in batches.
///
/// Where the kernel's answer depends on state no snapshot holds (the multipath hash), the
/// first possible path is printed and a note saying so goes to standard error.
enum IPDropIn {
    static let usageText = """
    Usage: ip [ -4 | -6 ] [ -j ] [ -o ] [ -n NETNS ] [ -force ] [ -batch FILE ] route get [ fibmatch ] ADDRESS
                   [ from ADDRESS ] [ iif STRING ] [ oif STRING ] [ tos TOS ] [ mark NUMBER ]
                   [ vrf NAME ] [ uid NUMBER ] [ ipproto PROTOCOL ] [ sport NUMBER ] [ dport NUMBER ]
                   [ connected ] [ notify ]
    (nsaudit answers `ip route get` from the snapshot in NSAUDIT_SNAPSHOT; run the real ip for anything else)

    """

    struct Options {
        var family: IPAddress.Family?
        var json = false
        var oneline = false
        var netns: String?
        var batch: String?
        var force = false
    }

    /// Everything one `route get` needs besides its words.
    struct Context {
        var model: RoutingModel
        var names: IPRouteNames
        var uid: UInt32
        var json: Bool
        var oneline: Bool
    }

    /// The result of one command as `ip`'s do_cmd sees it: its status, and whether `ip` would
    /// have exited at once (argument errors call exit(), even inside a batch).
    struct Outcome { var status: Int32; var fatal = false }

    /// `args`: the arguments after the program name.
    static func main(_ args: [String]) -> Int32 {
        var o = Options()
        var i = 0
        while i < args.count {
            var opt = args[i]
            if opt == "--" { i += 1; break }
            guard opt.hasPrefix("-") else { break }
            if opt.hasPrefix("--") { opt.removeFirst() }
            func value() -> String? { i += 1; return i < args.count ? args[i] : nil }
            let m = { (long: String) in IPRouteGetArguments.matches(opt, long) }
            if opt == "-4" { o.family = .v4 }
            else if opt == "-6" { o.family = .v6 }
            else if m("-family") {
                guard let f = value() else { return usage() }
                switch f {
                case "inet", "ipv4": o.family = .v4
                case "inet6", "ipv6": o.family = .v6
                default: return errorExit("Error: argument \"\(f)\" is wrong: invalid protocol family\n", 255)
                }
            } else if m("-json") { o.json = true }
            else if m("-oneline") { o.oneline = true }
            else if m("-netns") {
                guard let n = value() else { return errorExit("Command line is not complete. Try option \"help\"\n", 255) }
                o.netns = n
            } else if m("-force") { o.force = true }
            else if m("-batch") {
                guard let b = value() else { return usage() }
                o.batch = b
            } else if m("-help") && opt.count >= 3 { return usage() }
            else if m("-Version") {
                print("ip utility, nsaudit \(NSAuditInfo.version) (answers `route get` from a snapshot)")
                return 0
            } else {
                return errorExit("nsaudit: ip option \"\(args[i])\" is not supported by the route get drop-in (supported: -4, -6, -family, -json, -oneline, -netns, -batch, -force)\n", 255)
            }
            i += 1
        }
        let rest = Array(args[i...])
        let ctx: Context
        switch loadContext(o) {
        case .success(let c): ctx = c
        case .failure(let f): return errorExit(f.stderr, f.status)
        }
        if let b = o.batch { return batch(b, force: o.force, family: o.family, ctx: ctx) }
        if rest.isEmpty { return usage() }
        let r = command(rest, family: o.family, ctx: ctx)
        return r.status
    }

    /// One command line of `ip` (object, command, arguments).
    static func command(_ words: [String], family: IPAddress.Family?, ctx: Context) -> Outcome {
        guard let object = words.first else { return Outcome(status: 0) }
        let objects = ["address", "addrlabel", "maddress", "route", "rule"]
        let matched = objects.first { IPRouteGetArguments.matches(object, $0) }
        guard matched == "route" else {
            write(2, "nsaudit: as `ip` it answers only `ip route get`; run the real ip for `ip \(words.joined(separator: " "))`\n")
            return Outcome(status: 255, fatal: true)
        }
        guard words.count >= 2 else {
            write(2, "nsaudit: as `ip` it answers only `ip route get` (`ip route` lists routes: run the real ip)\n")
            return Outcome(status: 255, fatal: true)
        }
        let sub = words[1]
        let earlier = ["add", "change", "replace", "prepend", "append", "test", "delete", "list", "show", "lst"]
        if sub == "chg" || earlier.contains(where: { IPRouteGetArguments.matches(sub, $0) }) || !IPRouteGetArguments.matches(sub, "get") {
            write(2, "nsaudit: as `ip` it answers only `ip route get`; run the real ip for `ip route \(sub)`\n")
            return Outcome(status: 255, fatal: true)
        }
        return routeGet(Array(words.dropFirst(2)), family: family, ctx: ctx)
    }

    /// `ip route get WORDS`: prints as `ip` does and returns its outcome.
    static func routeGet(_ words: [String], family: IPAddress.Family?, ctx: Context) -> Outcome {
        let parsed: IPRouteGetArguments.Parsed
        switch IPRouteGetArguments.parse(words, family: family, names: ctx.names, device: ctx.model.device(named:), usage: usageText) {
        case .failure(let f):
            write(2, f.stderr)
            // exit() in ip: argument errors (255) and unparsable addresses (1, "... is expected")
            let fatal = f.status == 255 || f.stderr.contains(" is expected rather than ")
            return Outcome(status: f.status, fatal: fatal)
        case .success(let p): parsed = p
        }
        if !parsed.warnings.isEmpty { write(2, parsed.warnings) }
        var q = parsed.query
        if q.uid == nil && q.iif == nil { q.uid = ctx.uid }   // inet_rtm_getroute: the caller's uid
        let r: RouteResult
        do throws(RouteQueryError) { r = try ctx.model.routeGet(q) } catch {
            write(2, "nsaudit: route get \(q.line): \(error.description)\n")
            return Outcome(status: 2)
        }
        if let e = RouteGetFormat.kernelError(r) {
            write(2, "RTNETLINK answers: \(e.message)\n")
            return Outcome(status: 2)
        }
        let hash = RouteGetFormat.dependsOnHash(r)
        let path = hash ? RouteGetFormat.firstPath(r) : nil
        var out: [UInt8] = []
        func answer(json: Bool) {
            if json {
                out.append(UInt8(ascii: "["))
                RouteGetFormat.appendIPJSON(r, model: ctx.model, names: ctx.names, path: path, to: &out)
                out += "]\n".utf8
            } else {
                RouteGetFormat.appendText(r, model: ctx.model, names: ctx.names, path: path, oneline: ctx.oneline, to: &out)
                out.append(10)
            }
        }
        answer(json: ctx.json)
        var status: Int32 = 0
        if q.connected && q.src == nil {
            // iproute2 sends its (unchanged) request again and prints the second answer too,
            // unless the first has no source to connect from
            if r.family == .v4 && r.prefsrc == nil && (r.multipath.isEmpty || path.map { r.multipath[$0].prefsrc == nil } ?? true) {
                flushOut(out); out = []
                write(2, "Failed to connect the route\n")
                status = 1
            } else {
                // (ip's JSON writer is gone by then: the second answer comes as text)
                answer(json: false)
            }
        }
        flushOut(out)
        if hash { write(2, RouteGetFormat.hashNote(r, query: q.line)) }
        return Outcome(status: status)
    }

    /// `ip [-force] -batch FILE`: one command per line (`#` comments, `\` continuations,
    /// quoted words), `Command failed FILE:LINE` after a failing one; without -force the
    /// batch stops there. Status 1 when any command failed.
    static func batch(_ name: String, force: Bool, family: IPAddress.Family?, ctx: Context) -> Int32 {
        let data: Data?
        if name == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else { data = FileManager.default.contents(atPath: name) }
        guard let data else {
            return errorExit("Cannot open file \"\(name)\" for reading: \(String(cString: strerror(errno)))\n", 1)
        }
        var lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var status: Int32 = 0
        var n = 0
        var k = 0
        while k < lines.count {
            var line = lines[k]
            n += 1; k += 1
            if let c = line.firstIndex(of: "#") { line = String(line[..<c]) }
            while line.hasSuffix("\\") && k < lines.count {
                line.removeLast()
                var next = lines[k]
                n += 1; k += 1
                if let c = next.firstIndex(of: "#") { next = String(next[..<c]) }
                line += next
            }
            guard let words = makeargs(line) else { return errorExit("Unterminated quoted string\n", 1) }
            if words.isEmpty { continue }
            let r = command(words, family: family, ctx: ctx)
            if r.fatal { return r.status }
            if r.status != 0 {
                write(2, "Command failed \(name):\(n)\n")
                status = 1
                if !force { break }
            }
        }
        return status
    }

    /// makeargs: words split at blanks; a word starting with a quote runs to the same quote.
    static func makeargs(_ line: String) -> [String]? {
        var words: [String] = []
        var chars = Substring(line)
        let ws: Set<Character> = [" ", "\t", "\r", "\n"]
        while true {
            chars = chars.drop { ws.contains($0) }
            guard let c = chars.first else { break }
            if c == "'" || c == "\"" {
                let body = chars.dropFirst()
                guard let end = body.firstIndex(of: c) else { return nil }
                words.append(String(body[..<end]))
                chars = body[body.index(after: end)...]
            } else {
                let end = chars.firstIndex { ws.contains($0) } ?? chars.endIndex
                words.append(String(chars[..<end]))
                chars = chars[end...]
            }
        }
        return words
    }

    /// The namespace's model: from NSAUDIT_SNAPSHOT, else a snapshot of the live namespace;
    /// `-n NAME` (else NSAUDIT_NETNS) chooses it.
    static func loadContext(_ o: Options) -> Result<Context, IPRouteGetArguments.Failure> {
        let env = ProcessInfo.processInfo.environment
        let netns = o.netns ?? env["NSAUDIT_NETNS"].flatMap { $0.isEmpty ? nil : $0 }
        let snap: Snapshot
        if let path = env["NSAUDIT_SNAPSHOT"], !path.isEmpty {
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failure(.init(stderr: "nsaudit: NSAUDIT_SNAPSHOT=\(path): cannot read the snapshot file\n", status: 2))
            }
            do { snap = try SnapshotReader.decode(data, name: path) } catch {
                return .failure(.init(stderr: "nsaudit: \(error)\n", status: 2))
            }
        } else {
            do {
                snap = try Collector.collect(CollectOptions(netns: netns.map { [$0] } ?? [], includeRoot: netns == nil, sockets: false))
            } catch { return .failure(.init(stderr: "nsaudit: \(error)\n", status: 2)) }
        }
        let ns: NamespaceSnapshot
        if let name = netns {
            guard let n = snap.namespace(name) else {
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
        return .success(Context(model: RoutingModel(ns), names: loadNames(), uid: UInt32(getuid()), json: o.json, oneline: o.oneline))
    }

    /// iproute2's names files, as `ip` reads them (its built-in names, then /usr/share/iproute2
    /// and /etc/iproute2 with their `.d/*.conf` directories).
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

    static func usage() -> Int32 { errorExit(usageText, 255) }

    static func errorExit(_ text: String, _ status: Int32) -> Int32 {
        write(2, text)
        return status
    }

    static func write(_ fd: Int32, _ s: String) {
        var b = Array(s.utf8)
        writeAll(fd, &b)
    }

    static func flushOut(_ b: [UInt8]) {
        var b = b
        writeAll(1, &b)
    }

    static func writeAll(_ fd: Int32, _ b: inout [UInt8]) {
        b.withUnsafeBufferPointer { p in
            var off = 0
            while off < p.count {
                let n = Glibc.write(fd, p.baseAddress! + off, p.count - off)
                if n <= 0 { break }
                off += n
            }
        }
    }
}

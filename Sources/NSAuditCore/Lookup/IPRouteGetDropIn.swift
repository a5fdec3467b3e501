import FoundationEssentials

/// nsaudit as a drop-in for `ip route get`: `ip`'s command line in (global options, object
/// and command with `ip`'s abbreviations, the `route get` words), `ip`'s output out — the
/// text (or `-j` JSON), the messages on standard error and the exit status, with `-batch`
/// files handled as `ip -batch` handles them. Pure: the caller loads the model and writes
/// what `emit` is given.
///
/// Where the kernel's answer depends on state no snapshot holds (the multipath hash), the
/// first possible path is printed and a note saying so goes to standard error.
public enum IPRouteGetDropIn {
    public static let usage = """
    Usage: ip [ -4 | -6 ] [ -j ] [ -o ] [ -n NETNS ] [ -force ] [ -batch FILE ] route get [ fibmatch ] ADDRESS
                   [ from ADDRESS ] [ iif STRING ] [ oif STRING ] [ tos TOS ] [ mark NUMBER ]
                   [ vrf NAME ] [ uid NUMBER ] [ ipproto PROTOCOL ] [ sport NUMBER ] [ dport NUMBER ]
                   [ connected ] [ notify ]
    (nsaudit answers `ip route get` from the snapshot in NSAUDIT_SNAPSHOT; run the real ip for anything else)

    """

    /// `ip`'s global options that matter to `route get`.
    public struct Options: Sendable, Equatable {
        public var family: IPAddress.Family?
        public var json = false
        public var oneline = false
        public var netns: String?
        public var batch: String?
        public var force = false
        public var version = false
        public init() {}
    }

    /// Everything one `route get` needs besides its words.
    public struct Context: Sendable {
        public var model: RoutingModel
        public var names: IPRouteNames
        /// The caller's uid: a query without `uid` (and without `iif`) is asked with it.
        public var uid: UInt32
        public var json: Bool
        public var oneline: Bool
        /// Which of several possible paths to print when the answer depends on the kernel's
        /// hash (an index into the answer's candidates; nil or out of range: the first).
        public var path: Int?
        public init(model: RoutingModel, names: IPRouteNames = .builtin, uid: UInt32 = 0, json: Bool = false, oneline: Bool = false,
                    path: Int? = nil) {
            self.model = model; self.names = names; self.uid = uid; self.json = json; self.oneline = oneline; self.path = path
        }
    }

    /// One command as `ip`'s do_cmd sees it: its status, and whether `ip` exits at once
    /// (argument errors call exit(), even inside a batch).
    public struct Outcome: Sendable, Equatable {
        public var status: Int32
        public var fatal = false
        /// The answer printed the first of several paths the kernel's hash chooses among.
        public var hashDependent = false
        public init(status: Int32, fatal: Bool = false, hashDependent: Bool = false) {
            self.status = status; self.fatal = fatal; self.hashDependent = hashDependent
        }
    }

    public typealias Emit = (_ bytes: [UInt8], _ toStderr: Bool) -> Void

    /// `ip`'s global options (main() of ip.c, for the ones a `route get` drop-in supports);
    /// the rest of the words follow. A failure carries `ip`'s message and status.
    public static func parseOptions(_ args: [String]) -> Result<(Options, [String]), IPRouteGetArguments.Failure> {
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
                guard let f = value() else { return .failure(.init(stderr: usage, status: 255)) }
                switch f {
                case "inet", "ipv4": o.family = .v4
                case "inet6", "ipv6": o.family = .v6
                default: return .failure(.init(stderr: "Error: argument \"\(f)\" is wrong: invalid protocol family\n", status: 255))
                }
            } else if m("-Version") { o.version = true }
            else if m("-force") { o.force = true }
            else if m("-batch") {
                guard let b = value() else { return .failure(.init(stderr: usage, status: 255)) }
                o.batch = b
            } else if m("-json") { o.json = true }
            else if m("-oneline") { o.oneline = true }
            else if m("-help") && opt.count >= 3 { return .failure(.init(stderr: usage, status: 255)) }
            else if m("-netns") {
                guard let n = value() else { return .failure(.init(stderr: "Command line is not complete. Try option \"help\"\n", status: 255)) }
                o.netns = n
            } else {
                return .failure(.init(stderr: "nsaudit: ip option \"\(args[i])\" is not supported by the route get drop-in (it takes -4, -6, -family, -json, -oneline, -netns, -batch, -force)\n", status: 255))
            }
            i += 1
        }
        return .success((o, Array(args[i...])))
    }

    /// One command line of `ip` after its options (object, command, arguments).
    public static func command(_ words: [String], family: IPAddress.Family?, ctx: Context, emit: Emit) -> Outcome {
        guard let object = words.first else { emit(Array(usage.utf8), true); return Outcome(status: 255, fatal: true) }
        // do_cmd takes the first object the word abbreviates, in ip's order
        let objects = ["address", "addrlabel", "maddress", "route", "rule"]
        guard objects.first(where: { IPRouteGetArguments.matches(object, $0) }) == "route", words.count >= 2 else {
            emit(Array("nsaudit: as `ip` it answers only `ip route get`; run the real ip for `ip \(words.joined(separator: " "))`\n".utf8), true)
            return Outcome(status: 255, fatal: true)
        }
        let sub = words[1]
        let earlier = ["add", "change", "replace", "prepend", "append", "test", "delete", "list", "show", "lst"]
        if sub == "chg" || earlier.contains(where: { IPRouteGetArguments.matches(sub, $0) }) || !IPRouteGetArguments.matches(sub, "get") {
            emit(Array("nsaudit: as `ip` it answers only `ip route get`; run the real ip for `ip route \(sub)`\n".utf8), true)
            return Outcome(status: 255, fatal: true)
        }
        return routeGet(Array(words.dropFirst(2)), family: family, ctx: ctx, emit: emit)
    }

    /// `ip route get WORDS`.
    public static func routeGet(_ words: [String], family: IPAddress.Family?, ctx: Context, emit: Emit) -> Outcome {
        let parsed: IPRouteGetArguments.Parsed
        switch IPRouteGetArguments.parse(words, family: family, names: ctx.names, device: ctx.model.device(named:), usage: usage) {
        case .failure(let f):
            emit(Array(f.stderr.utf8), true)
            // ip exits at once on argument errors (255) and unparsable addresses (1, "... is expected")
            return Outcome(status: f.status, fatal: f.status == 255 || f.stderr.contains(" is expected rather than "))
        case .success(let p): parsed = p
        }
        if !parsed.warnings.isEmpty { emit(Array(parsed.warnings.utf8), true) }
        var q = parsed.query
        if q.uid == nil && q.iif == nil { q.uid = ctx.uid }   // inet_rtm_getroute: the caller's uid
        let r: RouteResult
        do throws(RouteQueryError) { r = try ctx.model.routeGet(q) } catch {
            emit(Array("nsaudit: route get \(q.line): \(error.description)\n".utf8), true)
            return Outcome(status: 2)
        }
        if let e = RouteGetFormat.kernelError(r) {
            emit(Array("RTNETLINK answers: \(e.message)\n".utf8), true)
            return Outcome(status: 2)
        }
        let hash = RouteGetFormat.dependsOnHash(r)
        let path = hash ? (ctx.path.flatMap { r.multipath.indices.contains($0) ? $0 : nil } ?? RouteGetFormat.firstPath(r)) : nil
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
            // iproute2 sends its (unchanged) request again and prints the second answer too
            // (as text: its JSON writer is gone by then), unless the first answer has no
            // source address to connect from
            let prefsrc = path.flatMap { r.multipath[$0].prefsrc } ?? r.prefsrc
            if r.family == .v4 && prefsrc == nil {
                emit(out, false); out = []
                emit(Array("Failed to connect the route\n".utf8), true)
                status = 1
            } else {
                answer(json: false)
            }
        }
        if !out.isEmpty { emit(out, false) }
        if hash { emit(Array(RouteGetFormat.hashNote(r, query: q.line).utf8), true) }
        return Outcome(status: status, hashDependent: hash)
    }

    /// `ip [-force] -batch NAME` over `text`: one command per line (`#` comments, `\`
    /// continuations, quoted words), `Command failed NAME:LINE` after a failing one; without
    /// -force the batch stops there. Status 1 when a command failed.
    public static func batch(_ text: String, name: String, force: Bool, family: IPAddress.Family?, ctx: Context, emit: Emit) -> Int32 {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var status: Int32 = 0
        var n = 0, k = 0
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
            guard let words = makeargs(line) else {
                emit(Array("Unterminated quoted string\n".utf8), true)
                return 1
            }
            if words.isEmpty { continue }
            let r = command(words, family: family, ctx: ctx, emit: emit)
            if r.fatal { return r.status }
            if r.status != 0 {
                emit(Array("Command failed \(name):\(n)\n".utf8), true)
                status = 1
                if !force { break }
            }
        }
        return status
    }

    /// makeargs: words split at blanks; a word that starts with a quote runs to the same quote.
    static func makeargs(_ line: String) -> [String]? {
        var words: [String] = []
        var rest = Substring(line)
        let ws: Set<Character> = [" ", "\t", "\r", "\n"]
        while true {
            rest = rest.drop { ws.contains($0) }
            guard let c = rest.first else { break }
            if c == "'" || c == "\"" {
                let body = rest.dropFirst()
                guard let end = body.firstIndex(of: c) else { return nil }
                words.append(String(body[..<end]))
                rest = body[body.index(after: end)...]
            } else {
                let end = rest.firstIndex { ws.contains($0) } ?? rest.endIndex
                words.append(String(rest[..<end]))
                rest = rest[end...]
            }
        }
        return words
    }
}

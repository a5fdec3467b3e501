import FoundationEssentials

/// Rendering of answers: the kernel's `ip route get` text, and nsaudit's JSON object.
public enum RouteGetFormat {
    public static func text(_ r: RouteResult, model: RoutingModel, names: IPRouteNames = .builtin, path: Int? = nil) -> String {
        var b: [UInt8] = []
        appendText(r, model: model, names: names, path: path, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    public static func json(_ r: RouteResult, model: RoutingModel? = nil, names: IPRouteNames = .builtin) -> String {
        var b: [UInt8] = []
        appendJSON(r, model: model, names: names, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// The error the kernel answers with: the lookup's, or for `fibmatch` an answer without a
    /// FIB entry (inet_rtm_getroute: no res.fi, EHOSTUNREACH).
    public static func kernelError(_ r: RouteResult) -> KernelError? {
        if let e = r.error { return e }
        if r.fibmatch && r.match == nil { return .EHOSTUNREACH }
        return nil
    }

    /// Whether the text `ip` prints depends on the kernel's multipath hash (or, for default
    /// routes of equal metric, on neighbour state), which no snapshot holds: then `path`
    /// chooses the candidate to print.
    public static func dependsOnHash(_ r: RouteResult) -> Bool {
        guard kernelError(r) == nil, r.multipath.count > 1 else { return false }
        if !r.fibmatch { return true }
        // fibmatch prints the whole entry: the choice shows only when it picks another route
        // (fib_select_default), may fail (per-path source validation), or, for IPv6, when the
        // chosen sibling comes first in the list.
        return r.family == .v6 || r.multipath.contains { $0.route != nil || $0.error != nil }
    }

    /// The first candidate the kernel may answer with (one without a per-path error).
    public static func firstPath(_ r: RouteResult) -> Int? {
        guard r.multipath.count > 1 else { return nil }
        return r.multipath.firstIndex { $0.error == nil } ?? 0
    }

    /// The note an `ip`-mode answer that depends on the hash carries on the error stream.
    public static func hashNote(_ r: RouteResult, query: String) -> String {
        let paths = r.multipath.map { p in (p.gateway.map { "via \($0) " } ?? "") + "dev \(p.dev)" }.joined(separator: ", ")
        return "nsaudit: route get \(query): the kernel chooses one of \(r.multipath.count) paths (\(paths)) by a hash "
            + "no snapshot holds; printed the first\n"
    }

    /// `ip route get` text: the kernel's answer printed as iproute2 prints it, or the error
    /// line (`RTNETLINK answers: ...`), without the final newline. An answer with several
    /// possible paths prints `path` (an index into `r.multipath`) when given, else nsaudit's
    /// `nexthop-candidates [...]` in place of `via`/`dev`.
    public static func appendText(_ r: RouteResult, model: RoutingModel, names: IPRouteNames = .builtin, path: Int? = nil,
                                  oneline: Bool = false, to o: inout [UInt8]) {
        if let e = kernelError(r) { appendKernelError(e, to: &o); return }
        if r.fibmatch, let m = model.fibMatchMessage(r, path: path ?? firstPath(r)) {
            IPRouteText.append(m, names: names, oneline: oneline, to: &o)
            return
        }
        IPRouteText.append(message(r, path: path), names: names, oneline: oneline, to: &o)
    }

    /// `ip -j route get`: the answer's JSON object (no brackets); nil for an error.
    public static func appendIPJSON(_ r: RouteResult, model: RoutingModel, names: IPRouteNames = .builtin, path: Int? = nil,
                                    to o: inout [UInt8]) {
        if r.fibmatch, let m = model.fibMatchMessage(r, path: path ?? firstPath(r)) {
            IPRouteText.appendJSON(m, names: names, to: &o)
            return
        }
        IPRouteText.appendJSON(message(r, path: path), names: names, to: &o)
    }

    /// The kernel's answer to a (non-fibmatch) `ip route get` as a message: rt_fill_info
    /// (IPv4, a cached route: `cache` line, no protocol or scope) or rt6_fill_node (IPv6).
    public static func message(_ r: RouteResult, path: Int?) -> IPRouteMessage {
        var r = r
        var candidates: [RoutePath]? = nil
        if let p = path, r.multipath.indices.contains(p) {
            let c = r.multipath[p]
            r.dev = c.dev; r.gateway = c.gateway
            if let s = c.prefsrc { r.prefsrc = r.family == .v4 && s == r.from ? nil : s }
            if r.iif != nil && r.family == .v4 {
                r.cacheFlags = c.redirect ? r.cacheFlags | RouteCacheFlags.doRedirect : r.cacheFlags & ~RouteCacheFlags.doRedirect
            }
        } else if r.multipath.count > 1 {
            candidates = r.multipath
        }
        var m = IPRouteMessage(family: r.family, type: r.type ?? .unicast, dst: r.dst, dstLength: UInt8(r.family.bitWidth))
        m.dev = r.dev; m.gateway = r.gateway; m.prefsrc = r.prefsrc; m.metrics = r.metrics; m.iif = r.iif
        m.table = r.table ?? 0
        m.candidates = candidates
        if r.family == .v4 {
            if let f = r.from, f.v4 != 0 { m.src = f; m.srcLength = 32 }
            m.tos = r.tos
            m.flags = IPRouteMessage.cloned | r.cacheFlags
                | (r.cacheFlags & RouteCacheFlags.notify != 0 ? IPRouteMessage.notifyFlag : 0)
            if r.mark != 0 { m.mark = r.mark }
            // INVALID_UID (uid -1) is not reported
            m.uid = r.uid == UInt32.max ? nil : r.uid
        } else {
            m.src = r.from ?? .zero(.v6); m.srcLength = 128
            m.protocol = r.routeProtocol ?? 0
            m.priority = r.metric ?? 0
            m.pref = r.pref ?? 0
        }
        return m
    }

    /// nsaudit's JSON object for one answer, appended as bytes.
    /// With `model`, a `fibmatch` query also gets `"fibmatch"`: the matched entry as `ip`
    /// prints it (null when there is none).
    public static func appendJSON(_ r: RouteResult, model: RoutingModel? = nil, names: IPRouteNames = .builtin, to o: inout [UInt8]) {
        var fibmatch: String?? = nil
        if r.fibmatch, let model {
            if kernelError(r) == nil, let m = model.fibMatchMessage(r, path: firstPath(r)) {
                fibmatch = .some(IPRouteText.text(m, names: names))
            } else {
                fibmatch = .some(nil)
            }
        }
        let answer = JSONAnswer(error: r.error, type: r.type, dev: r.dev, gateway: r.gateway, table: r.table,
                                prefsrc: r.prefsrc, rule: r.rule, multipath: r.multipath)
        var query = r.query
        query.withUTF8 { q in
            JSONWriter.append(to: &o, escaping: .common) { w in answer.write(query: q, fibmatch: fibmatch, to: &w) }
        }
    }

    /// The members of nsaudit's JSON object for one answer: `appendJSON` fills it from a
    /// RouteResult, route-get --batch's fast path from the lookup's decision, and `write` is
    /// the one rendering of both.
    struct JSONAnswer {
        var error: KernelError?
        var type: RouteType?
        var dev: String?
        var gateway: IPAddress?
        var table: UInt32?
        var prefsrc: IPAddress?
        var rule: UInt32?
        var multipath: [RoutePath] = []

        /// `{"query":...,"multipath":[...]}`, with `"fibmatch"` last when given (a string or null).
        @inline(__always)
        func write<Out: ByteSink>(query: UnsafeBufferPointer<UInt8>, fibmatch: String?? = nil, to w: inout JSONWriter<Out>) {
            w.raw("{\"query\":"); w.string(query)
            w.raw(",\"error\":"); w.string(orNull: error?.rawValue)
            w.raw(",\"type\":"); w.string(orNull: type?.name)
            w.raw(",\"dev\":"); w.string(orNull: dev)
            w.raw(",\"gateway\":"); w.address(orNull: gateway)
            w.raw(",\"table\":"); w.int(orNull: table)
            w.raw(",\"prefsrc\":"); w.address(orNull: prefsrc)
            w.raw(",\"rule\":"); w.int(orNull: rule)
            w.raw(",\"multipath\":[")
            for (i, p) in multipath.enumerated() {
                w.raw(i > 0 ? ",{\"dev\":" : "{\"dev\":"); w.string(p.dev)
                w.raw(",\"gateway\":"); w.address(orNull: p.gateway)
                w.raw(",\"weight\":"); w.int(p.weight)
                if let e = p.error { w.raw(",\"error\":"); w.string(e.rawValue) }
                w.raw("}")
            }
            w.raw("]")
            if let f = fibmatch { w.raw(",\"fibmatch\":"); w.string(orNull: f) }
            w.raw("}")
        }
    }

    /// The kernel's error as `ip` prints it (without the final newline).
    @inline(__always) static func appendKernelError<Out: ByteSink>(_ e: KernelError, to o: inout Out) {
        o.write("RTNETLINK answers: "); o.write(utf8: e.message)
    }

    /// A bad query: one line naming the problem.
    public static func problemJSON(query: String, problem: String) -> String {
        JSONWriter.text(escaping: .common) { w in
            w.raw("{\"query\":"); w.string(query); w.raw(",\"problem\":"); w.string(problem); w.raw("}")
        }
    }
}

/// `route-get --batch`: one query per line, answered and rendered on bytes (no per-line
/// Foundation work), in order. Bad lines give a one-line problem and the batch goes on.
public enum RouteGetBatch {
    public struct Counts: Sendable {
        public var answered = 0; public var kernelErrors = 0; public var badQueries = 0
        /// Answers whose text depends on the kernel's multipath hash (printed with every
        /// candidate, or in `ip` mode with the first and a note on the error stream).
        public var hashDependent = 0
    }

    /// How a batch is read and printed.
    public struct Options: Sendable {
        /// Names for tables, protocols and DSCP values (iproute2's, with a site's files).
        public var names: IPRouteNames = .builtin
        /// `ip`'s own behaviour: lines parsed as `ip route get` parses its arguments (with its
        /// error messages), a query without `uid` asked with `uid` below, and an answer with
        /// several possible paths printed with the first one, plus a note on the error stream.
        public var ipCompat = false
        /// The uid of `ip`'s caller (ipCompat).
        public var uid: UInt32 = 0
        public init(names: IPRouteNames = .builtin, ipCompat: Bool = false, uid: UInt32 = 0) {
            self.names = names; self.ipCompat = ipCompat; self.uid = uid
        }
    }

    /// `emit(stdoutBytes, isError)`: called with each rendered line (problems and, in text
    /// mode, kernel errors go to the error stream, as `ip -batch` does).
    ///
    /// A big batch is answered on every core: the input is taken in rounds of about 1 MB per
    /// worker, each round cut at line ends into one piece per worker, the pieces answered at
    /// once, and their output emitted in input order (the same bytes as one pass).
    public static func run(model: RoutingModel, input: [UInt8], json: Bool, options: Options = Options(),
                           workers: Int = ProcessInfo.processInfo.activeProcessorCount, minParallelBytes: Int = 1 << 18,
                           bytesPerWorker: Int = 1 << 20,
                           emit: (_ bytes: ArraySlice<UInt8>, _ toStderr: Bool) -> Void) -> Counts {
        let workers = max(1, min(workers, 16))
        guard workers > 1, input.count >= minParallelBytes else {
            return runPiece(model: model, input: input[...], json: json, options: options, emit: emit)
        }
        var total = Counts()
        let perRound = max(workers * bytesPerWorker, 1)
        var start = 0
        while start < input.count {
            // the round's pieces, each ending after a newline (the last at the round's end)
            var bounds = [start]
            let roundEnd = min(input.count, start + perRound)
            for k in 1...workers {
                var b = k == workers ? roundEnd : start + (roundEnd - start) * k / workers
                while b < input.count && b > bounds.last! && input[b - 1] != 10 { b += 1 }
                if k == workers { while b < input.count && input[b - 1] != 10 { b += 1 } }
                bounds.append(max(b, bounds.last!))
            }
            let cuts = bounds
            let pieces = parallelMap(workers) { k -> ([UInt8], [UInt8], Counts) in
                var out: [UInt8] = [], err: [UInt8] = []
                let c = runPiece(model: model, input: input[cuts[k]..<cuts[k + 1]], json: json, options: options) { bytes, toStderr in
                    if toStderr { err += bytes } else { out += bytes }
                }
                return (out, err, c)
            }
            for (out, err, c) in pieces {
                // stdout and stderr each keep input order
                if !out.isEmpty { emit(out[...], false) }
                if !err.isEmpty { emit(err[...], true) }
                total.answered += c.answered; total.kernelErrors += c.kernelErrors; total.badQueries += c.badQueries
                total.hashDependent += c.hashDependent
            }
            start = bounds[workers]
        }
        return total
    }

    /// One pass over (a piece of) the batch.
    static func runPiece(model: RoutingModel, input: ArraySlice<UInt8>, json: Bool, options: Options,
                         emit: (_ bytes: ArraySlice<UInt8>, _ toStderr: Bool) -> Void) -> Counts {
        // the fast path answers as uid 0 (nsaudit's default, root's `ip`)
        let fast = !options.ipCompat || (options.uid == 0 && !json)
        var c = Counts()
        // the fast path writes straight into these (no Array checks per write)
        var out = ByteBuffer(capacity: 1 << 17), err = ByteBuffer(capacity: 1 << 15)
        func emitFull() {
            if out.count >= 1 << 16 { emit(out.take()[...], false) }
            if err.count >= 1 << 14 { emit(err.take()[...], true) }
        }
        var lineOut: [UInt8] = [], lineErr: [UInt8] = []
        // Lines are taken in groups of 32: the table memory of the group's IPv4 destinations
        // is read for all of them first (their cache misses overlap), then each line is
        // answered as usual.
        var group = [UInt32](repeating: 0, count: 32)
        input.withUnsafeBufferPointer { buf in
            var i = 0
            let n = buf.count
            var groupEnd = 0
            while i < n {
                if i >= groupEnd {
                    var k = 0, a = i
                    while k < 32 && a < n {
                        var b = a
                        while b < n && buf[b] != 10 { b += 1 }
                        if let v = IPAddress.parseV4(UnsafeBufferPointer(rebasing: buf[a..<b])) { group[k] = v; k += 1 }
                        else { k += 1; group[k - 1] = 0 }
                        a = b + 1
                    }
                    groupEnd = a
                    _ = group.withUnsafeBufferPointer { model.touch4(UnsafeBufferPointer(rebasing: $0[0..<k])) }
                }
                var j = i
                while j < n && buf[j] != 10 { j += 1 }
                var s = i, e = j
                while s < e && (buf[s] == 32 || buf[s] == 9 || buf[s] == 13) { s += 1 }
                while e > s && (buf[e - 1] == 32 || buf[e - 1] == 9 || buf[e - 1] == 13) { e -= 1 }
                i = j + 1
                if s == e || buf[s] == UInt8(ascii: "#") { continue }
                c.answered += 1
                let line = UnsafeBufferPointer(rebasing: buf[s..<e])
                if fast, let v4 = IPAddress.parseV4(line), !(options.ipCompat && leadingZeroPart(line)) {
                    // the common line: a destination alone, rendered from the decision
                    var isError = false
                    if model.appendDestinationOnly4(v4, line: line, json: json, names: options.names, out: &out, err: &err, isError: &isError) {
                        if isError { c.kernelErrors += 1 }
                        if json || !isError { out.write(10) } else { err.write(10) }
                        emitFull()
                        continue
                    }
                }
                let text = String(decoding: line, as: UTF8.self)
                answerLine(text, line: line, model: model, json: json, options: options, counts: &c, out: &lineOut, err: &lineErr)
                lineOut.withUnsafeBufferPointer { out.write($0) }; lineOut.removeAll(keepingCapacity: true)
                lineErr.withUnsafeBufferPointer { err.write($0) }; lineErr.removeAll(keepingCapacity: true)
                emitFull()
            }
        }
        if out.count > 0 { emit(out.take()[...], false) }
        if err.count > 0 { emit(err.take()[...], true) }
        return c
    }

    /// One line through the general path: parsed and answered in nsaudit's syntax and format,
    /// or in ipCompat exactly as `ip route get LINE` (IPRouteGetDropIn).
    static func answerLine(_ text: String, line: UnsafeBufferPointer<UInt8>, model: RoutingModel, json: Bool, options: Options,
                           counts c: inout Counts, out: inout [UInt8], err: inout [UInt8]) {
        var q: RouteQuery
        if options.ipCompat {
            // exactly as `ip route get WORDS` (text or `ip -j` JSON, ip's messages)
            let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let ctx = IPRouteGetDropIn.Context(model: model, names: options.names, uid: options.uid, json: json)
            let o = IPRouteGetDropIn.routeGet(words, family: nil, ctx: ctx) { b, toStderr in
                if toStderr { err += b } else { out += b }
            }
            if o.hashDependent { c.hashDependent += 1 }
            switch o.status {
            case 0: break
            case 2: c.kernelErrors += 1
            default: c.badQueries += 1
            }
            return
        } else {
            do throws(RouteQueryError) {
                // a line that is just an address needs no word splitting
                if let a = IPAddress.parse(line) { q = RouteQuery(dst: a, line: text) } else { q = try RouteQuery.parse(text) }
            } catch {
                c.badQueries += 1
                if json { out += RouteGetFormat.problemJSON(query: text, problem: error.description).utf8; out.append(10) }
                else { err += "route-get \(text): \(error.description)".utf8; err.append(10) }
                return
            }
        }
        let r: RouteResult
        do throws(RouteQueryError) { r = try model.routeGet(q) } catch {
            c.badQueries += 1
            if json { out += RouteGetFormat.problemJSON(query: text, problem: error.description).utf8; out.append(10) }
            else { err += "route-get \(text): \(error.description)".utf8; err.append(10) }
            return
        }
        let hash = RouteGetFormat.dependsOnHash(r)
        if hash { c.hashDependent += 1 }
        if json {
            if RouteGetFormat.kernelError(r) != nil { c.kernelErrors += 1 }
            RouteGetFormat.appendJSON(r, model: model, names: options.names, to: &out); out.append(10)
            return
        }
        if RouteGetFormat.kernelError(r) != nil {
            c.kernelErrors += 1
            RouteGetFormat.appendText(r, model: model, names: options.names, to: &err); err.append(10)
            return
        }
        for _ in 0..<(q.connected && q.src == nil ? 2 : 1) {
            RouteGetFormat.appendText(r, model: model, names: options.names, to: &out); out.append(10)
        }
    }

    /// Whether a dotted quad has a part with a leading zero, which `ip` reads as octal.
    static func leadingZeroPart(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        var start = true
        for (i, x) in b.enumerated() {
            if start && x == 48 && i + 1 < b.count && b[i + 1] != 46 { return true }
            start = x == 46
        }
        return false
    }
}

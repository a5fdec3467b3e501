import Foundation

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
        if let e = kernelError(r) { o += "RTNETLINK answers: ".utf8; o += e.message.utf8; return }
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
        o += "{\"query\":".utf8; appendQuoted(r.query, &o)
        o += ",\"error\":".utf8
        if let e = r.error { o.append(34); o += e.rawValue.utf8; o.append(34) } else { o += "null".utf8 }
        o += ",\"type\":".utf8
        if let t = r.type { o.append(34); o += t.name.utf8; o.append(34) } else { o += "null".utf8 }
        o += ",\"dev\":".utf8
        if let d = r.dev { appendQuoted(d, &o) } else { o += "null".utf8 }
        o += ",\"gateway\":".utf8
        if let g = r.gateway { o.append(34); appendAddr(g, &o); o.append(34) } else { o += "null".utf8 }
        o += ",\"table\":".utf8
        if let t = r.table { appendInt(Int(t), &o) } else { o += "null".utf8 }
        o += ",\"prefsrc\":".utf8
        if let p = r.prefsrc { o.append(34); appendAddr(p, &o); o.append(34) } else { o += "null".utf8 }
        o += ",\"rule\":".utf8
        if let p = r.rule { appendInt(Int(p), &o) } else { o += "null".utf8 }
        o += ",\"multipath\":[".utf8
        for (i, p) in r.multipath.enumerated() {
            if i > 0 { o.append(UInt8(ascii: ",")) }
            o += "{\"dev\":".utf8; appendQuoted(p.dev, &o)
            o += ",\"gateway\":".utf8
            if let g = p.gateway { o.append(34); appendAddr(g, &o); o.append(34) } else { o += "null".utf8 }
            o += ",\"weight\":".utf8; appendInt(Int(p.weight), &o)
            if let e = p.error { o += ",\"error\":\"".utf8; o += e.rawValue.utf8; o.append(34) }
            o.append(UInt8(ascii: "}"))
        }
        o.append(UInt8(ascii: "]"))
        if r.fibmatch, let model {
            o += ",\"fibmatch\":".utf8
            if kernelError(r) == nil, let m = model.fibMatchMessage(r, path: firstPath(r)) {
                appendQuoted(IPRouteText.text(m, names: names), &o)
            } else { o += "null".utf8 }
        }
        o.append(UInt8(ascii: "}"))
    }

    @inline(__always) static func appendInt(_ v: Int, _ o: inout [UInt8]) {
        if v < 0 { o.append(UInt8(ascii: "-")); appendInt(-v, &o); return }
        if v < 10 { o.append(48 + UInt8(v)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0, x = v
        withUnsafeMutableBytes(of: &digits) { d in
            while x > 0 { d[n] = 48 + UInt8(x % 10); x /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { o.append(d[i]) }
        }
    }

    /// Written digit by digit, as IPAddress.description writes them.
    @inline(__always) static func appendAddr(_ a: IPAddress, _ o: inout [UInt8]) {
        if a.family == .v4 {
            appendV4(a.v4, &o)
        } else {
            appendV6(a.bits, &o)
        }
    }

    /// RFC 5952 text of an IPv6 address, byte for byte what IPAddress.description gives
    /// (the longest run of two or more zero words, the first on ties, compressed; glibc's
    /// embedded IPv4 forms for ::a.b.c.d and ::ffff:a.b.c.d).
    static func appendV6(_ bits: UInt128, _ o: inout [UInt8]) {
        var w: (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16, UInt16) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &w) { raw in
            let p = raw.bindMemory(to: UInt16.self)
            for i in 0..<8 { p[i] = UInt16(truncatingIfNeeded: bits >> UInt128(16 * (7 - i))) }
        }
        withUnsafeBytes(of: &w) { raw in
            let w = raw.bindMemory(to: UInt16.self)
            let (bestStart, bestLen, embedsV4) = IPAddress.v6Layout { w[$0] }
            let hex: StaticString = "0123456789abcdef"
            var i = 0
            while i < 8 {
                if i == bestStart {
                    if i == 0 { o.append(58) }
                    o.append(58)
                    i += bestLen
                    continue
                }
                if embedsV4 && i == 6 {
                    appendV4(UInt32(w[6]) << 16 | UInt32(w[7]), &o)
                    break
                }
                let x = w[i]
                var started = false
                for shift in stride(from: 12, through: 0, by: -4) {
                    let d = Int((x >> UInt16(shift)) & 0xf)
                    if d != 0 || started || shift == 0 {
                        started = true
                        o.append(hex.withUTF8Buffer { $0[d] })
                    }
                }
                if i < 7 { o.append(58) }
                i += 1
            }
        }
    }

    /// Dotted quad, built in a local buffer and appended at once.
    @inline(__always) static func appendV4(_ v: UInt32, _ o: inout [UInt8]) {
        var buf: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &buf) { raw in
            let p = raw.bindMemory(to: UInt8.self)
            var n = 0
            for shift in stride(from: 24, through: 0, by: -8) {
                let x = UInt8(truncatingIfNeeded: v >> UInt32(shift))
                if x >= 100 { p[n] = 48 + x / 100; n += 1 }
                if x >= 10 { p[n] = 48 + (x / 10) % 10; n += 1 }
                p[n] = 48 + x % 10; n += 1
                if shift != 0 { p[n] = 46; n += 1 }
            }
            o.append(contentsOf: UnsafeBufferPointer(rebasing: p[0..<n]))
        }
    }

    static func appendQuoted(_ s: String, _ o: inout [UInt8]) {
        var s = s
        s.withUTF8 { appendQuoted(bytes: $0, &o) }
    }

    static func appendQuoted(bytes: UnsafeBufferPointer<UInt8>, _ o: inout [UInt8]) {
        o.append(34)
        if !bytes.contains(where: { $0 < 32 || $0 == 34 || $0 == 92 }) {
            o.append(contentsOf: bytes); o.append(34); return
        }
        for b in bytes {
            switch b {
            case 34: o += "\\\"".utf8
            case 92: o += "\\\\".utf8
            case 10: o += "\\n".utf8
            case 9: o += "\\t".utf8
            case 13: o += "\\r".utf8
            case 0..<32:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                o += "\\u00".utf8; o.append(hex[Int(b >> 4)]); o.append(hex[Int(b & 15)])
            default: o.append(b)
            }
        }
        o.append(34)
    }

    /// A bad query: one line naming the problem.
    public static func problemJSON(query: String, problem: String) -> String {
        "{\"query\":" + quote(query) + ",\"problem\":" + quote(problem) + "}"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
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
        var out: [UInt8] = []
        out.reserveCapacity(1 << 17)
        var err: [UInt8] = []
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
                        if let v = parseV4(UnsafeBufferPointer(rebasing: buf[a..<b])) { group[k] = v; k += 1 }
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
                if fast, let v4 = parseV4(line), !(options.ipCompat && leadingZeroPart(line)) {
                    // the common line: a destination alone, rendered from the decision
                    var isError = false
                    if model.appendDestinationOnly4(v4, line: line, json: json, names: options.names, out: &out, err: &err, isError: &isError) {
                        if json || !isError { out.append(10) } else { c.kernelErrors += 1; err.append(10) }
                        if out.count >= 1 << 16 { emit(out[...], false); out.removeAll(keepingCapacity: true) }
                        if err.count >= 1 << 14 { emit(err[...], true); err.removeAll(keepingCapacity: true) }
                        continue
                    }
                }
                let text = String(decoding: line, as: UTF8.self)
                answerLine(text, line: line, model: model, json: json, options: options, counts: &c, out: &out, err: &err)
                if out.count >= 1 << 16 { emit(out[...], false); out.removeAll(keepingCapacity: true) }
                if err.count >= 1 << 14 { emit(err[...], true); err.removeAll(keepingCapacity: true) }
            }
        }
        if !out.isEmpty { emit(out[...], false) }
        if !err.isEmpty { emit(err[...], true) }
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
                if let v4 = parseV4(line) { q = RouteQuery(dst: IPAddress(v4: v4), line: text) }
                else if let v6 = parseV6(line) { q = RouteQuery(dst: IPAddress(v6: v6), line: text) }
                else { q = try RouteQuery.parse(text) }
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

    /// A line that is just an IPv6 address of hexadecimal groups (with at most one `::`);
    /// nil for anything else (including embedded IPv4 forms), which the general parser
    /// then answers. Accepts only what IPAddress.parseV6 accepts, with the same value.
    static func parseV6(_ b: UnsafeBufferPointer<UInt8>) -> UInt128? {
        let n = b.count
        var head: UInt128 = 0, tail: UInt128 = 0
        var headCount = 0, tailCount = 0
        var gap = false
        var i = 0
        if n >= 2 && b[0] == 58 && b[1] == 58 {
            gap = true; i = 2
            if n == 2 { return 0 }
        }
        while i < n {
            var v: UInt16 = 0, digits = 0
            while i < n && digits < 5 {
                let c = b[i]
                let d: UInt8
                if c >= 48 && c <= 57 { d = c - 48 }
                else if c >= 97 && c <= 102 { d = c - 87 }
                else if c >= 65 && c <= 70 { d = c - 55 }
                else { break }
                v = v << 4 | UInt16(d); digits += 1; i += 1
            }
            guard digits > 0 && digits <= 4 else { return nil }
            if gap { tail = tail << 16 | UInt128(v); tailCount += 1 } else { head = head << 16 | UInt128(v); headCount += 1 }
            if i == n { break }
            guard b[i] == 58 else { return nil }
            i += 1
            if i < n && b[i] == 58 {
                guard !gap else { return nil }
                gap = true; i += 1
                if i == n { break }
            } else if i == n { return nil }
        }
        let total = headCount + tailCount
        guard gap ? total <= 7 : total == 8 else { return nil }
        let headShift = 16 * (8 - headCount)
        return (headShift >= 128 ? 0 : head << UInt128(headShift)) | tail
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

    /// A line that is just a dotted-quad IPv4 address.
    @inline(__always) static func parseV4(_ b: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var v: UInt32 = 0, cur: UInt32 = 0, digits = 0, dots = 0
        for x in b {
            if x == 46 {
                guard digits > 0, dots < 3 else { return nil }
                v = v << 8 | cur; cur = 0; digits = 0; dots += 1
            } else if x >= 48 && x <= 57 {
                cur = cur * 10 + UInt32(x - 48); digits += 1
                guard cur <= 255, digits <= 3 else { return nil }
            } else { return nil }
        }
        guard dots == 3, digits > 0 else { return nil }
        return v << 8 | cur
    }
}

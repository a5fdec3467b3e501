import Foundation

/// Rendering of answers: the kernel's `ip route get` text, and nsaudit's JSON object.
public enum RouteGetFormat {
    public static func text(_ r: RouteResult) -> String {
        var b: [UInt8] = []
        appendText(r, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    public static func json(_ r: RouteResult) -> String {
        var b: [UInt8] = []
        appendJSON(r, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// `ip route get` text, appended as bytes (the batch path renders without Strings).
    public static func appendText(_ r: RouteResult, to o: inout [UInt8]) {
        if let e = r.error { o += "RTNETLINK answers: ".utf8; o += e.message.utf8; return }
        if let t = r.type, t != .unicast { o += t.name.utf8; o.append(32) }
        appendAddr(r.dst, &o)
        if let f = r.from { o += " from ".utf8; appendAddr(f, &o) }
        if r.multipath.isEmpty {
            if let g = r.gateway { o += " via ".utf8; appendAddr(g, &o) }
            if let d = r.dev { o += " dev ".utf8; o += d.utf8 }
        } else {
            o += " nexthop-candidates".utf8
            for p in r.multipath {
                o += " [".utf8
                if let g = p.gateway { o += "via ".utf8; appendAddr(g, &o); o.append(32) }
                o += "dev ".utf8; o += p.dev.utf8; o += " weight ".utf8; appendInt(Int(p.weight), &o)
                if let e = p.error { o += " error ".utf8; o += e.rawValue.utf8 }
                o += "]".utf8
            }
        }
        if let t = r.table, t != Table.main { o += " table ".utf8; o += Table.name(t).utf8 }
        if r.family == .v6, let p = r.routeProtocol { o += " proto ".utf8; o += RouteProtocol.name(p).utf8 }
        if let p = r.prefsrc { o += " src ".utf8; appendAddr(p, &o) }
        if r.family == .v6, let m = r.metric { o += " metric ".utf8; appendInt(Int(m), &o) }
        for f in r.flags { o.append(32); o += f.utf8 }
        if r.family == .v4 {
            if r.type == .multicast && r.iif == nil { o += " rt_offload_failed".utf8 }
            if let u = r.uid, r.iif == nil { o += " uid ".utf8; appendInt(Int(u), &o) }
            o += " \n    cache ".utf8
            if !r.cache.isEmpty {
                o.append(UInt8(ascii: "<"))
                for (i, c) in r.cache.enumerated() { if i > 0 { o.append(UInt8(ascii: ",")) }; o += c.utf8 }
                o += "> ".utf8
            }
            if let i = r.iif { o += "iif ".utf8; o += i.utf8; o.append(32) }
        } else {
            if let i = r.iif { o += " iif ".utf8; o += i.utf8 }
            switch r.pref ?? 0 {
            case 1: o += " pref high".utf8
            case 3: o += " pref low".utf8
            default: o += " pref medium".utf8
            }
        }
    }

    /// nsaudit's JSON object for one answer, appended as bytes.
    public static func appendJSON(_ r: RouteResult, to o: inout [UInt8]) {
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
        o += "]}".utf8
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
    public struct Counts: Sendable { public var answered = 0; public var kernelErrors = 0; public var badQueries = 0 }

    /// `emit(stdoutBytes, isError)`: called with each rendered line (problems and, in text
    /// mode, kernel errors go to the error stream, as `ip -batch` does).
    ///
    /// A big batch is answered on every core: the input is taken in rounds of about 1 MB per
    /// worker, each round cut at line ends into one piece per worker, the pieces answered at
    /// once, and their output emitted in input order (the same bytes as one pass).
    public static func run(model: RoutingModel, input: [UInt8], json: Bool,
                           workers: Int = ProcessInfo.processInfo.activeProcessorCount, minParallelBytes: Int = 1 << 18,
                           bytesPerWorker: Int = 1 << 20,
                           emit: (_ bytes: ArraySlice<UInt8>, _ toStderr: Bool) -> Void) -> Counts {
        let workers = max(1, min(workers, 16))
        guard workers > 1, input.count >= minParallelBytes else { return runPiece(model: model, input: input[...], json: json, emit: emit) }
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
                let c = runPiece(model: model, input: input[cuts[k]..<cuts[k + 1]], json: json) { bytes, toStderr in
                    if toStderr { err += bytes } else { out += bytes }
                }
                return (out, err, c)
            }
            for (out, err, c) in pieces {
                // stdout and stderr each keep input order
                if !out.isEmpty { emit(out[...], false) }
                if !err.isEmpty { emit(err[...], true) }
                total.answered += c.answered; total.kernelErrors += c.kernelErrors; total.badQueries += c.badQueries
            }
            start = bounds[workers]
        }
        return total
    }

    /// One pass over (a piece of) the batch.
    static func runPiece(model: RoutingModel, input: ArraySlice<UInt8>, json: Bool,
                         emit: (_ bytes: ArraySlice<UInt8>, _ toStderr: Bool) -> Void) -> Counts {
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
                if let v4 = parseV4(line) {
                    // the common line: a destination alone, rendered from the decision
                    var isError = false
                    if model.appendDestinationOnly4(v4, line: line, json: json, out: &out, err: &err, isError: &isError) {
                        if json || !isError { out.append(10) } else { c.kernelErrors += 1; err.append(10) }
                        if out.count >= 1 << 16 { emit(out[...], false); out.removeAll(keepingCapacity: true) }
                        if err.count >= 1 << 14 { emit(err[...], true); err.removeAll(keepingCapacity: true) }
                        continue
                    }
                }
                let text = String(decoding: line, as: UTF8.self)
                do throws(RouteQueryError) {
                    let q: RouteQuery
                    if let v4 = parseV4(line) { q = RouteQuery(dst: IPAddress(v4: v4), line: text) }
                    else if let v6 = parseV6(line) { q = RouteQuery(dst: IPAddress(v6: v6), line: text) }
                    else { q = try RouteQuery.parse(text) }
                    let r = try model.routeGet(q)
                    if json {
                        RouteGetFormat.appendJSON(r, to: &out); out.append(10)
                    } else if r.error != nil {
                        c.kernelErrors += 1
                        RouteGetFormat.appendText(r, to: &err); err.append(10)
                    } else {
                        RouteGetFormat.appendText(r, to: &out); out.append(10)
                    }
                } catch {
                    c.badQueries += 1
                    let msg = "route-get \(text): \(error.description)"
                    if json {
                        out += RouteGetFormat.problemJSON(query: text, problem: error.description).utf8; out.append(10)
                    } else {
                        err += msg.utf8; err.append(10)
                    }
                }
                if out.count >= 1 << 16 { emit(out[...], false); out.removeAll(keepingCapacity: true) }
                if err.count >= 1 << 14 { emit(err[...], true); err.removeAll(keepingCapacity: true) }
            }
        }
        if !out.isEmpty { emit(out[...], false) }
        if !err.isEmpty { emit(err[...], true) }
        return c
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

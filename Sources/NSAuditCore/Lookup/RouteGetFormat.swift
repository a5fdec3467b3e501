/// Rendering of answers: the kernel's `ip route get` text, and nsaudit's JSON object.
public enum RouteGetFormat {
    public static func text(_ r: RouteResult) -> String {
        if let e = r.error { return "RTNETLINK answers: \(e.message)" }
        var s = ""
        if let t = r.type, t != .unicast { s += t.name + " " }
        s += r.dst.description
        if let f = r.from { s += " from \(f)" }
        if r.multipath.isEmpty {
            if let g = r.gateway { s += " via \(g)" }
            if let d = r.dev { s += " dev \(d)" }
        } else {
            s += " nexthop-candidates"
            for p in r.multipath {
                s += " [" + (p.gateway.map { "via \($0) " } ?? "") + "dev \(p.dev) weight \(p.weight)]"
            }
        }
        if let t = r.table, t != Table.main { s += " table \(Table.name(t))" }
        if r.family == .v6, let p = r.routeProtocol { s += " proto \(RouteProtocol.name(p))" }
        if let p = r.prefsrc { s += " src \(p)" }
        if r.family == .v6, let m = r.metric { s += " metric \(m)" }
        for f in r.flags { s += " \(f)" }
        if r.family == .v4 {
            if r.type == .multicast && r.iif == nil { s += " rt_offload_failed" }
            if let u = r.uid, r.iif == nil { s += " uid \(u)" }
            s += " \n    cache "
            if !r.cache.isEmpty { s += "<" + r.cache.joined(separator: ",") + "> " }
            if let i = r.iif { s += "iif \(i) " }
        } else {
            if let i = r.iif { s += " iif \(i)" }
            let prefs = [0: "medium", 1: "high", 3: "low"]
            s += " pref \(prefs[Int(r.pref ?? 0)] ?? "medium")"
        }
        return s
    }

    public static func json(_ r: RouteResult) -> String {
        var s = "{\"query\":" + quote(r.query)
        s += ",\"error\":" + (r.error.map { quote($0.rawValue) } ?? "null")
        s += ",\"type\":" + (r.type.map { quote($0.name) } ?? "null")
        s += ",\"dev\":" + (r.dev.map(quote) ?? "null")
        s += ",\"gateway\":" + (r.gateway.map { quote($0.description) } ?? "null")
        s += ",\"table\":" + (r.table.map { String($0) } ?? "null")
        s += ",\"prefsrc\":" + (r.prefsrc.map { quote($0.description) } ?? "null")
        s += ",\"rule\":" + (r.rule.map { String($0) } ?? "null")
        s += ",\"multipath\":["
        s += r.multipath.map { p in
            "{\"dev\":" + quote(p.dev) + ",\"gateway\":" + (p.gateway.map { quote($0.description) } ?? "null")
                + ",\"weight\":\(p.weight)" + (p.error.map { ",\"error\":" + quote($0.rawValue) } ?? "") + "}"
        }.joined(separator: ",")
        s += "]}"
        return s
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

/// One `ip route get` query, parsed with iproute2's argument syntax:
/// `[fibmatch] [to] DST [from SRC] [iif DEV] [oif|dev DEV] [mark N] [ipproto P] [sport N]
/// [dport N] [uid N] [tos|dsfield N] [vrf NAME] [notify] [connected]`. (`IPRouteGetArguments`
/// parses the same words as `ip` itself does, abbreviations and error messages included.)
public struct RouteQuery: Sendable, Equatable {
    public var line: String
    public var dst: IPAddress
    public var src: IPAddress?
    public var iif: String?
    public var oif: String?
    public var mark: UInt32 = 0
    public var ipproto: UInt8 = 0
    public var sport: UInt16 = 0
    public var dport: UInt16 = 0
    public var uid: UInt32?
    public var tos: UInt8 = 0
    public var vrf: String?
    /// `fibmatch`: answer with the FIB entry that matched (RTM_F_FIB_MATCH).
    public var fibmatch = false
    /// `notify` (RTM_F_NOTIFY): IPv4 answers say `notify`; IPv6 refuses the request.
    public var notify = false
    /// `connected`: `ip` asks again (with the same request) and prints both answers.
    public var connected = false

    public var family: IPAddress.Family { dst.family }

    public init(dst: IPAddress, line: String = "") {
        self.dst = dst; self.line = line.isEmpty ? dst.description : line
    }

    /// Parses one query line (the arguments after `ip route get`).
    public static func parse(_ line: String) throws(RouteQueryError) -> RouteQuery {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        return try parse(words, line: line)
    }

    public static func parse(_ words: [String], line: String? = nil) throws(RouteQueryError) -> RouteQuery {
        let text = line ?? words.joined(separator: " ")
        var dst: IPAddress?
        var q = RouteQuery(dst: .zero(.v4), line: text)
        var i = 0
        func value(_ kw: String) throws(RouteQueryError) -> String {
            guard i + 1 < words.count else { throw .missingArgument(kw) }
            i += 1
            return words[i]
        }
        func number<T: FixedWidthInteger>(_ s: String, _ kw: String, _: T.Type) throws(RouteQueryError) -> T {
            // strtoul base 0: 0x.. hex, 0.. octal, decimal
            var v: T?
            if s.hasPrefix("0x") || s.hasPrefix("0X") { v = T(s.dropFirst(2), radix: 16) }
            else if s.count > 1 && s.hasPrefix("0") { v = T(s.dropFirst(), radix: 8) }
            else { v = T(s, radix: 10) }
            guard let v else { throw .badValue(kw, s) }
            return v
        }
        func address(_ s: String, _ kw: String) throws(RouteQueryError) -> IPAddress {
            var t = s
            if let slash = t.firstIndex(of: "/") {
                // ip accepts a prefix only when it is a host prefix
                let len = t[t.index(after: slash)...]
                t = String(t[..<slash])
                guard let a = IPAddress(t), Int(len) == a.family.bitWidth else { throw .badAddress(kw, s) }
                return a
            }
            guard let a = IPAddress(t) else { throw .badAddress(kw, s) }
            return a
        }
        while i < words.count {
            let w = words[i]
            switch w {
            case "from": q.src = try address(try value(w), w)
            case "iif": q.iif = try value(w)
            case "oif", "dev": q.oif = try value(w)
            case "mark": q.mark = try number(try value(w), w, UInt32.self)
            case "ipproto":
                let v = try value(w)
                guard let p = IPProto.parse(v) else { throw .badValue(w, v) }
                q.ipproto = p
            case "sport": q.sport = try number(try value(w), w, UInt16.self)
            case "dport": q.dport = try number(try value(w), w, UInt16.self)
            case "uid": q.uid = try number(try value(w), w, UInt32.self)
            case "tos", "dsfield":
                // rtnl_dsfield_a2n: hexadecimal
                let v = try value(w)
                let s = v.hasPrefix("0x") || v.hasPrefix("0X") ? String(v.dropFirst(2)) : v
                guard let t = UInt8(s, radix: 16) else { throw .badValue(w, v) }
                q.tos = t
            case "vrf": q.vrf = try value(w)
            case "to":
                dst = try address(try value(w), w)
            case "fibmatch": q.fibmatch = true
            case "notify": q.notify = true
            case "connected": q.connected = true
            case "as":
                throw .unsupported(w)
            default:
                guard dst == nil else { throw .unexpected(w) }
                dst = try address(w, "to")
            }
            i += 1
        }
        guard let d = dst else { throw .missingDestination }
        q.dst = d
        if let s = q.src, s.family != d.family { throw .familyMismatch(s.description, d.description) }
        // requests the kernel refuses (inet6_rtm_valid_getroute_req, rtm_getroute_parse_ip_proto)
        if d.family == .v6 && q.notify { throw .refused("ipv6: Invalid flags for get route request") }
        if q.ipproto != 0 && !(q.ipproto == IPProto.tcp || q.ipproto == IPProto.udp
                               || q.ipproto == (d.family == .v4 ? IPProto.icmp : IPProto.icmpv6)) {
            throw .refused("Unsupported ip proto")
        }
        return q
    }
}

public enum RouteQueryError: Error, Equatable, CustomStringConvertible, Sendable {
    case missingDestination
    case missingArgument(String)
    case badValue(String, String)
    case badAddress(String, String)
    case unexpected(String)
    case unsupported(String)
    case familyMismatch(String, String)
    case unknownDevice(String)
    case notVRF(String)
    case unknownNamespace(String)
    /// The kernel refuses the request itself (its extended-ack message).
    case refused(String)

    public var description: String {
        switch self {
        case .missingDestination: "no destination address given"
        case .missingArgument(let k): "\"\(k)\" needs an argument"
        case .badValue(let k, let v): "invalid \"\(k)\" value \"\(v)\""
        case .badAddress(let k, let v): "invalid address \"\(v)\" for \"\(k)\""
        case .unexpected(let w): "unexpected argument \"\(w)\" (destination already given)"
        case .unsupported(let w): "\"\(w)\" is not supported by nsaudit route-get"
        case .familyMismatch(let s, let d): "source \(s) and destination \(d) are of different families"
        case .unknownDevice(let d): "Cannot find device \"\(d)\""
        case .notVRF(let d): "\"\(d)\" is not a VRF device"
        case .unknownNamespace(let n): "no namespace \"\(n)\" in the snapshot"
        case .refused(let m): "the kernel refuses this request: \(m)"
        }
    }
}

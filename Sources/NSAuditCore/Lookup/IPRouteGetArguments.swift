/// The words after `ip route get`, parsed as iproute2 (`iproute_get`) parses them and checked
/// as the kernel checks the request it builds (strict RTM_GETROUTE validation), so that a
/// drop-in answers a bad command line with `ip`'s own message and exit status:
/// keyword abbreviations (`f` for from, `fi` for fibmatch, `d` for dsfield), iproute2's IPv4
/// address syntax (`10.1` is 10.1.0.0, `0x0a.0.0.1`, octal parts), `default`/`any`/`all`,
/// a destination prefix other than /32 (/128) kept with a warning, and the errors:
/// argument errors (exit 255), unparsable addresses, a missing destination and unknown
/// devices (exit 1), and requests the kernel refuses (exit 2, `Error: ...`).
public enum IPRouteGetArguments {
    /// What `ip` prints on standard error and the status it exits with.
    public struct Failure: Error, Equatable, Sendable {
        public var stderr: String
        public var status: Int32
        public init(stderr: String, status: Int32) { self.stderr = stderr; self.status = status }
    }

    public struct Parsed: Sendable, Equatable {
        public var query: RouteQuery
        /// Printed on standard error before the answer (a destination prefix other than a host's).
        public var warnings: String
    }

    /// `family`: `ip -4`/`-6` (nil: either, from the first address). `devices` answers whether
    /// a device exists and whether it is a VRF (nil: no such device). `usage`: the text
    /// printed for `help` (exit 255).
    public static func parse(_ words: [String], family preferred: IPAddress.Family?, names: IPRouteNames = .builtin,
                             device: (String) -> (exists: Bool, isVRF: Bool)?, usage: String) -> Result<Parsed, Failure> {
        var family = preferred
        var q = RouteQuery(dst: .zero(.v4), line: words.joined(separator: " "))
        var warnings = ""
        var dst: IPAddress?
        var addressFound = false
        var dstLength = 0, srcLength = 0
        var srcAttribute = false, dstAttribute = false
        var idev: String?, odev: String?
        var asGiven = false
        var protoGiven: UInt8?
        var i = 0
        func fail(_ text: String, _ status: Int32) -> Result<Parsed, Failure> {
            .failure(Failure(stderr: warnings + text, status: status))
        }
        func invarg(_ msg: String, _ arg: String) -> Result<Parsed, Failure> {
            fail("Error: argument \"\(arg)\" is wrong: \(msg)\n", 255)
        }
        let incomplete = "Command line is not complete. Try option \"help\"\n"
        while i < words.count {
            let w = words[i]
            func next() -> String? {
                i += 1
                return i < words.count ? words[i] : nil
            }
            if w == "tos" || matches(w, "dsfield") {
                guard let v = next() else { return fail(incomplete, 255) }
                guard let t = dsfield(v, names) else { return invarg("TOS value is invalid\n", v) }
                q.tos = t
            } else if matches(w, "from") {
                guard let v = next() else { return fail(incomplete, 255) }
                if matches(v, "help") { return fail(usage, 255) }
                guard let p = prefix(v, family) else { return fail(prefixError(v, family), 1) }
                if family == nil { family = p.family }
                if let a = p.address { q.src = a; srcAttribute = true }
                srcLength = p.length
            } else if matches(w, "iif") {
                guard let v = next() else { return fail(incomplete, 255) }
                idev = v
            } else if matches(w, "mark") {
                guard let v = next() else { return fail(incomplete, 255) }
                guard let m = unsigned(v, max: UInt64(UInt32.max)) else { return invarg("invalid mark value", v) }
                q.mark = UInt32(m)
            } else if matches(w, "oif") || w == "dev" {
                guard let v = next() else { return fail(incomplete, 255) }
                odev = v
            } else if matches(w, "notify") {
                q.notify = true
            } else if matches(w, "connected") {
                q.connected = true
            } else if matches(w, "vrf") {
                guard let v = next() else { return fail(incomplete, 255) }
                guard device(v)?.isVRF == true else { return invarg("Invalid VRF\n", v) }
                odev = v
            } else if matches(w, "uid") {
                guard let v = next() else { return fail(incomplete, 255) }
                guard let u = unsigned(v, max: UInt64(UInt32.max)) else { return invarg("invalid UID\n", v) }
                q.uid = UInt32(u)
            } else if matches(w, "fibmatch") {
                q.fibmatch = true
            } else if w == "as" {
                guard var v = next() else { return fail(incomplete, 255) }
                if v == "to" { guard let t = next() else { return fail(incomplete, 255) }; v = t }
                guard let p = prefix(v, family), !v.contains("/") else {
                    return fail("Error: \(familyName(family)) address is expected rather than \"\(v)\".\n", 1)
                }
                if family == nil { family = p.family }
                asGiven = true
            } else if matches(w, "sport") || matches(w, "dport") {
                let isSport = matches(w, "sport")
                guard let v = next() else { return fail(incomplete, 255) }
                guard let p = unsigned(v, max: 0xffff) else { return invarg(isSport ? "invalid sport\n" : "invalid dport\n", v) }
                if isSport { q.sport = UInt16(p) } else { q.dport = UInt16(p) }
            } else if matches(w, "ipproto") {
                guard let v = next() else { return fail(incomplete, 255) }
                guard let p = ipproto(v) else { return invarg("Invalid \"ipproto\" value\n", v) }
                q.ipproto = p
                protoGiven = p
            } else {
                var v = w
                if w == "to" { guard let t = next() else { return fail(incomplete, 255) }; v = t }
                if matches(v, "help") { return fail(usage, 255) }
                guard let p = prefix(v, family) else { return fail(prefixError(v, family), 1) }
                if family == nil { family = p.family }
                dst = p.address
                dstAttribute = p.address != nil
                let host = p.family.map { $0.bitWidth } ?? 0
                if p.family != nil && p.length != host {
                    warnings += "Warning: /\(p.length) as prefix is invalid, only /\(host) (or none) is supported.\n"
                    dstLength = host
                } else {
                    dstLength = p.length
                }
                addressFound = true
            }
            i += 1
        }
        guard addressFound else { return fail("need at least a destination address\n", 1) }
        if let d = idev {
            guard let n = resolve(d, device) else { return fail("Cannot find device \"\(d)\"\n", 1) }
            q.iif = n
        }
        if let d = odev {
            guard let n = resolve(d, device) else { return fail("Cannot find device \"\(d)\"\n", 1) }
            q.oif = n
        }
        let fam = family ?? .v4
        // The kernel's checks of the request (inet_rtm_valid_getroute_req and its IPv6 twin).
        if fam == .v4 {
            if (srcLength != 0 && srcLength != 32) || (dstLength != 0 && dstLength != 32) {
                return fail("Error: ipv4: Invalid values in header for route get request.\n", 2)
            }
            if (srcAttribute && srcLength == 0) || (dstAttribute && dstLength == 0) {
                return fail("Error: ipv4: rtm_src_len and rtm_dst_len must be 32 for IPv4.\n", 2)
            }
            if asGiven { return fail("Error: ipv4: Unsupported attribute in route get request.\n", 2) }
        } else {
            if (srcLength != 0 && srcLength != 128) || (dstLength != 0 && dstLength != 128) {
                return fail("Error: ipv6: Invalid values in header for get route request.\n", 2)
            }
            if q.notify { return fail("Error: ipv6: Invalid flags for get route request.\n", 2) }
            if (srcAttribute && srcLength == 0) || (dstAttribute && dstLength == 0) {
                return fail("Error: ipv6: rtm_src_len and rtm_dst_len must be 128 for IPv6.\n", 2)
            }
            if asGiven { return fail("Error: ipv6: Unsupported attribute in get route request.\n", 2) }
        }
        if let p = protoGiven, !(p == IPProto.tcp || p == IPProto.udp || (p == IPProto.icmp && fam == .v4) || (p == IPProto.icmpv6 && fam == .v6)) {
            return fail("Error: Unsupported ip proto.\n", 2)
        }
        q.dst = dst ?? .zero(fam)
        if let s = q.src, s.family != fam { q.src = nil }
        return .success(Parsed(query: q, warnings: warnings))
    }

    /// iproute2's `matches`: `word` is a prefix of `keyword` (the empty word matches all).
    public static func matches(_ word: String, _ keyword: String) -> Bool {
        keyword.utf8.starts(with: word.utf8)
    }

    static func familyName(_ f: IPAddress.Family?) -> String { f.map { $0.description } ?? "any valid" }

    static func prefixError(_ v: String, _ f: IPAddress.Family?) -> String {
        "Error: \(familyName(f)) prefix is expected rather than \"\(v)\".\n"
    }

    /// ll_name_to_index: a device by name, else `ifN` by index (accepted as is: the model
    /// resolves names only, so it must name a device).
    static func resolve(_ name: String, _ device: (String) -> (exists: Bool, isVRF: Bool)?) -> String? {
        device(name) != nil ? name : nil
    }

    /// get_prefix_1: an address with an optional /length (or dotted netmask); `default`,
    /// `any` and `all` are the zero address of the family (no address at all when the family
    /// is not known yet). `length` is the prefix length (the host length without one).
    static func prefix(_ text: String, _ family: IPAddress.Family?) -> (address: IPAddress?, family: IPAddress.Family?, length: Int)? {
        var addrText = Substring(text)
        var lenText: Substring?
        if let slash = text.firstIndex(of: "/") {
            addrText = text[..<slash]
            lenText = text[text.index(after: slash)...]
        }
        if addrText == "default" || addrText == "any" || addrText == "all" {
            if lenText != nil { return nil }
            return (family.map { IPAddress.zero($0) }, family, 0)
        }
        let a: IPAddress
        if addrText.contains(":") {
            guard family == nil || family == .v6, !addrText.contains("%"), let x = IPAddress(String(addrText)), x.family == .v6 else { return nil }
            a = x
        } else {
            guard family == nil || family == .v4, let x = ipv4(addrText) else { return nil }
            a = IPAddress(v4: x)
        }
        let width = a.family.bitWidth
        guard let lt = lenText else { return (a, a.family, width) }
        if let n = unsigned(String(lt), max: UInt64(width)) { return (a, a.family, Int(n)) }
        // a dotted netmask: contiguous ones
        if let m = ipv4(lt) {
            let ones = m.leadingZeroBitCount == 0 ? (~m).leadingZeroBitCount : 0
            let len = m == 0 ? 0 : ones
            if len <= width, m == (len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)) { return (a, a.family, len) }
        }
        return nil
    }

    /// get_addr_ipv4: up to four parts, each strtoul base 0 (hexadecimal 0x.., octal 0..),
    /// missing trailing parts zero (`10.1` is 10.1.0.0).
    static func ipv4(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.count <= 4 else { return nil }
        var bytes: [UInt32] = []
        for p in parts {
            guard let n = strtoulBase0(p), n <= 255 else { return nil }
            bytes.append(UInt32(n))
        }
        while bytes.count < 4 { bytes.append(0) }
        return bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]
    }

    /// The whole of `s` as strtoul with base 0 reads it (leading blanks and a `+` allowed);
    /// nil when it has no digits or anything after them. A `-` wraps as strtoul does.
    static func strtoulBase0(_ s: Substring) -> UInt64? {
        var t = s.drop(while: { $0 == " " || $0 == "\t" || $0 == "\n" })
        var negative = false
        if t.first == "+" { t = t.dropFirst() } else if t.first == "-" { negative = true; t = t.dropFirst() }
        var radix = 10
        if t.hasPrefix("0x") || t.hasPrefix("0X") {
            let rest = t.dropFirst(2)
            if rest.isEmpty || UInt64(rest, radix: 16) == nil {
                // strtoul reads "0" and stops at the x
                return nil
            }
            t = rest; radix = 16
        } else if t.count > 1 && t.hasPrefix("0") {
            t = t.dropFirst(); radix = 8
        }
        guard !t.isEmpty, let v = UInt64(t, radix: radix) else { return nil }
        return negative ? (v == 0 ? 0 : UInt64.max) : v
    }

    /// get_unsigned / get_u16 with base 0, at most `max`.
    static func unsigned(_ s: String, max: UInt64) -> UInt64? {
        guard !s.isEmpty, let v = strtoulBase0(Substring(s)), v <= max else { return nil }
        return v
    }

    /// rtnl_dsfield_a2n: a name of the dsfield table, else hexadecimal.
    static func dsfield(_ s: String, _ names: IPRouteNames) -> UInt8? {
        if let (id, _) = names.dsfields.first(where: { $0.value == s }) { return id }
        var t = Substring(s)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
        guard !t.isEmpty, let v = UInt16(t, radix: 16), v <= 255 else { return nil }
        return UInt8(v)
    }

    /// inet_proto_a2n: a decimal number, else a protocol name of /etc/protocols.
    static func ipproto(_ s: String) -> UInt8? {
        if let v = UInt8(s, radix: 10) { return v }
        let known: [String: UInt8] = [
            "ip": 0, "IP": 0, "icmp": 1, "ICMP": 1, "igmp": 2, "IGMP": 2, "ipencap": 4, "IP-ENCAP": 4,
            "tcp": 6, "TCP": 6, "udp": 17, "UDP": 17, "ipv6": 41, "IPv6": 41, "gre": 47, "GRE": 47,
            "esp": 50, "IPSEC-ESP": 50, "ah": 51, "IPSEC-AH": 51, "ipv6-icmp": 58, "IPv6-ICMP": 58,
            "sctp": 132, "SCTP": 132, "udplite": 136, "UDPLite": 136,
        ]
        return known[s]
    }
}

extension RoutingModel {
    /// Whether a device of this name exists in the namespace, and whether it is a VRF.
    public func device(named name: String) -> (exists: Bool, isVRF: Bool)? {
        guard let i = index(of: name) else { return nil }
        return (true, link(i)?.isVRF == true)
    }
}

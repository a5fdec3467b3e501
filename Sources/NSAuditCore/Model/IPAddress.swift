/// An IPv4 or IPv6 address. IPv4 addresses live in the low 32 bits of `bits`.
/// Parsing and formatting follow the kernel/iproute2 conventions (RFC 5952 text for IPv6,
/// with glibc's embedded-IPv4 forms), so printed addresses compare equal to `ip` output.
public struct IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable, CustomStringConvertible {
        case v4 = 2   // AF_INET
        case v6 = 10  // AF_INET6
        public var bitWidth: Int { self == .v4 ? 32 : 128 }
        public var description: String { self == .v4 ? "inet" : "inet6" }
    }

    // Two 64-bit halves rather than one UInt128: 8-byte alignment keeps a million routes'
    // worth of addresses compact (stride 24 instead of 32).
    private let hi: UInt64
    private let lo: UInt64
    public let family: Family

    /// The address as an integer; IPv4 in the low 32 bits.
    @inline(__always) public var bits: UInt128 { UInt128(hi) << 64 | UInt128(lo) }

    public init(v4 value: UInt32) { family = .v4; hi = 0; lo = UInt64(value) }
    public init(v6 value: UInt128) { family = .v6; hi = UInt64(truncatingIfNeeded: value >> 64); lo = UInt64(truncatingIfNeeded: value) }
    public init(family: Family, bits: UInt128) {
        self.family = family
        if family == .v4 { hi = 0; lo = UInt64(truncatingIfNeeded: bits) & 0xffff_ffff } else {
            hi = UInt64(truncatingIfNeeded: bits >> 64); lo = UInt64(truncatingIfNeeded: bits)
        }
    }

    /// Builds an address from network-order bytes (4 or 16 of them).
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        var v: UInt128 = 0
        for b in bytes { v = (v << 8) | UInt128(b) }
        self.init(family: bytes.count == 4 ? .v4 : .v6, bits: v)
    }

    public var v4: UInt32 { UInt32(truncatingIfNeeded: lo) }
    public static func zero(_ family: Family) -> IPAddress { IPAddress(family: family, bits: 0) }
    public var isZero: Bool { hi == 0 && lo == 0 }
    public var isV4: Bool { family == .v4 }

    /// Network-order bytes.
    public var bytes: [UInt8] {
        let n = family == .v4 ? 4 : 16
        return (0..<n).map { UInt8(truncatingIfNeeded: bits >> UInt128(8 * (n - 1 - $0))) }
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        a.family != b.family ? a.family.rawValue < b.family.rawValue : a.bits < b.bits
    }

    // MARK: classification (used by the lookup and source validation)
    public var isLoopback: Bool {
        family == .v4 ? (v4 >> 24) == 127 : bits == 1
    }
    public var isMulticast: Bool {
        family == .v4 ? (v4 >> 28) == 0xe : (bits >> 120) == 0xff
    }
    public var isLimitedBroadcast: Bool { family == .v4 && v4 == 0xffff_ffff }
    /// 0.0.0.0/8 and ::
    public var isZeronet: Bool { family == .v4 ? (v4 >> 24) == 0 : bits == 0 }
    public var isLinkLocal: Bool {
        family == .v4 ? (v4 >> 16) == 0xa9fe : (bits >> 118) == 0x3fa  // fe80::/10
    }

    // MARK: text (the one parser and the one formatter: see the extension below)
    public init?(_ text: String) {
        var t = text
        guard let a = t.withUTF8({ IPAddress.parse($0) }) else { return nil }
        self = a
    }

    public var description: String {
        String(unsafeUninitializedCapacity: IPAddress.maxTextLength) { writeText(to: $0.baseAddress!) }
    }
}

extension IPAddress.Family: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        switch try c.decode(String.self) {
        case "inet": self = .v4
        case "inet6": self = .v6
        case let s: throw DecodingError.dataCorruptedError(in: c, debugDescription: "unknown family \(s) (inet or inet6)")
        }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension IPAddress: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let a = IPAddress(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP address: \(s)")
        }
        self = a
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An address with a prefix length; `address` is always masked to the prefix.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible, Comparable {
    public let address: IPAddress
    public let length: UInt8

    public init(_ address: IPAddress, _ length: Int) {
        let w = address.family.bitWidth
        let len = max(0, min(length, w))
        self.address = IPAddress(family: address.family, bits: address.bits & IPPrefix.mask(len, w))
        self.length = UInt8(len)
    }

    /// The mask of a `len`-bit prefix of a `width`-bit address; total: a length below 0 is
    /// 0, one above `width` is `width` (a prefix length read from outside never traps here).
    public static func mask(_ len: Int, _ width: Int) -> UInt128 {
        if len <= 0 { return 0 }
        let ones: UInt128 = width == 32 ? 0xffff_ffff : UInt128.max
        if len >= width { return ones }
        return (ones << UInt128(width - len)) & ones
    }

    public var family: IPAddress.Family { address.family }
    public var mask: UInt128 { IPPrefix.mask(Int(length), family.bitWidth) }
    public static func any(_ family: IPAddress.Family) -> IPPrefix { IPPrefix(.zero(family), 0) }
    public var isHost: Bool { Int(length) == family.bitWidth }

    public func contains(_ a: IPAddress) -> Bool {
        a.family == family && (a.bits & mask) == address.bits
    }
    public func contains(_ p: IPPrefix) -> Bool {
        p.family == family && p.length >= length && contains(p.address)
    }
    /// Last address of the prefix.
    public var last: IPAddress { IPAddress(family: family, bits: address.bits | (~mask & (family == .v4 ? 0xffff_ffff : UInt128.max))) }

    /// ADDRESS/LENGTH (one to three decimal digits, at most the family's width), or an address
    /// alone (a host prefix). `IPAddress.parse` reads the address.
    public init?(_ text: String) {
        var t = text
        guard let p = t.withUTF8({ IPPrefix.parse($0) }) else { return nil }
        self = p
    }

    public var description: String {
        String(unsafeUninitializedCapacity: IPPrefix.maxTextLength) { writeText(to: $0.baseAddress!) }
    }

    public static func < (a: IPPrefix, b: IPPrefix) -> Bool {
        a.address != b.address ? a.address < b.address : a.length < b.length
    }
}

extension IPPrefix: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do throws(IPPrefixError) { self = try IPPrefix(validating: s) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP prefix: \(error)")
        }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}


// MARK: - text: the one parser and the one formatter
//
// Every reader of address text (`IPAddress(String)`, `IPPrefix(String)`, the snapshot decoder
// on raw JSON bytes, route-get's batch lines) goes through `parse`, and every writer (the
// `description`s, the snapshot and route-get JSON, `ip route get` text) through `writeText`.
// `ip`'s own argument syntax (`10.1`, octal and hexadecimal parts) is another grammar, kept in
// `IPRouteGetArguments`.

extension IPAddress {
    /// The longest text `writeText` writes: eight groups of four hex digits (the forms with an
    /// embedded dotted quad are shorter).
    static let maxTextLength = 39

    /// An address from UTF-8 text: a dotted quad (four parts of one to three decimal digits,
    /// each at most 255; a leading zero is decimal) or IPv6 text as inet_pton reads it (one to
    /// four hex digits a group, in either case; at most one `::`, standing for at least one
    /// zero group; a dotted quad in place of the last two groups). Nothing else: no zone, no
    /// prefix length, no blanks, no signs.
    @inline(__always)
    static func parse(_ text: UnsafeBufferPointer<UInt8>) -> IPAddress? {
        if let v = parseV4(text) { return IPAddress(v4: v) }
        if let v = parseV6(text) { return IPAddress(v6: v) }
        return nil
    }

    /// A dotted quad (see `parse`).
    @inline(__always)
    static func parseV4(_ q: UnsafeBufferPointer<UInt8>) -> UInt32? {
        var value: UInt32 = 0, dots = 0, cur: UInt32 = 0, digits = 0
        for c in q {
            if c == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                value = value << 8 | cur; dots += 1; cur = 0; digits = 0
            } else if c &- 48 < 10 {
                cur = cur * 10 + UInt32(c &- 48); digits += 1
                guard cur <= 255, digits <= 3 else { return nil }
            } else { return nil }
        }
        guard digits > 0, dots == 3 else { return nil }
        return value << 8 | cur
    }

    /// IPv6 text (see `parse`).
    static func parseV6(_ q: UnsafeBufferPointer<UInt8>) -> UInt128? {
        let count = q.count
        guard count >= 2 else { return nil }
        var j = 0, gap = false
        // the groups before "::" and after it, each as one number
        var headV: UInt128 = 0, headN = 0, tailV: UInt128 = 0, tailN = 0
        if q[0] == UInt8(ascii: ":") {
            guard q[1] == UInt8(ascii: ":") else { return nil }
            gap = true; j = 2
            if j == count { return 0 }
        }
        while true {
            let groupStart = j
            var v: UInt32 = 0, digits = 0
            while j < count {
                let c = q[j], h: UInt8
                switch c {
                case 48...57: h = c &- 48
                case 97...102: h = c &- 87
                case 65...70: h = c &- 55
                default: h = 0xff
                }
                if h == 0xff { break }
                guard digits < 4 else { return nil }
                v = v << 4 | UInt32(h); digits += 1; j += 1
            }
            if j < count && q[j] == UInt8(ascii: ".") {
                // a dotted quad to the end: the last two groups
                guard let v4 = parseV4(UnsafeBufferPointer(rebasing: q[groupStart...])) else { return nil }
                if gap { tailV = tailV << 32 | UInt128(v4); tailN += 2 } else { headV = headV << 32 | UInt128(v4); headN += 2 }
                guard headN + tailN <= 8 else { return nil }
                break
            }
            guard digits > 0 else { return nil }
            if gap { tailV = tailV << 16 | UInt128(v); tailN += 1 } else { headV = headV << 16 | UInt128(v); headN += 1 }
            guard headN + tailN <= 8 else { return nil }
            if j == count { break }
            guard q[j] == UInt8(ascii: ":") else { return nil }
            j += 1
            guard j < count else { return nil }   // a single trailing colon
            if q[j] == UInt8(ascii: ":") {
                guard !gap else { return nil }
                gap = true; j += 1
                if j == count { break }
            }
        }
        let total = headN + tailN
        guard gap ? total <= 7 : total == 8 else { return nil }
        return (headN == 0 ? 0 : headV << UInt128(16 * (8 - headN))) | tailV
    }

    /// The address's text (what `ip` prints): a dotted quad, or RFC 5952 IPv6 as glibc's
    /// inet_ntop writes it (lower case, no leading zeros, the longest run of two or more zero
    /// groups compressed to `::`, the first on ties, and `::a.b.c.d` / `::ffff:a.b.c.d` for
    /// IPv4-compatible and IPv4-mapped addresses). Writes at most `maxTextLength` bytes at `p`
    /// and returns how many.
    @inline(__always)
    func writeText(to p: UnsafeMutablePointer<UInt8>) -> Int {
        family == .v4 ? IPAddress.writeV4(v4, to: p) : IPAddress.writeV6(bits, to: p)
    }

    @inline(__always)
    static func writeV4(_ v: UInt32, to p: UnsafeMutablePointer<UInt8>) -> Int {
        var n = Digits.octet(v >> 24, to: p)
        p[n] = 46; n += 1
        n += Digits.octet((v >> 16) & 0xff, to: p + n)
        p[n] = 46; n += 1
        n += Digits.octet((v >> 8) & 0xff, to: p + n)
        p[n] = 46; n += 1
        return n + Digits.octet(v & 0xff, to: p + n)
    }

    static func writeV6(_ bits: UInt128, to p: UnsafeMutablePointer<UInt8>) -> Int {
        @inline(__always) func word(_ i: Int) -> UInt16 { UInt16(truncatingIfNeeded: bits >> UInt128(16 * (7 - i))) }
        // the longest run of two or more zero words, the first on ties
        var bestStart = -1, bestLen = 0, curStart = -1, curLen = 0
        for i in 0..<8 {
            if word(i) == 0 {
                if curStart < 0 { curStart = i; curLen = 0 }
                curLen += 1
                if curLen > bestLen { bestLen = curLen; bestStart = curStart }
            } else { curStart = -1 }
        }
        if bestLen < 2 { bestStart = -1 }
        let embedsV4 = bestStart == 0 && (bestLen == 6 || (bestLen == 7 && word(7) != 1) || (bestLen == 5 && word(5) == 0xffff))
        let h = Digits.hexDigits.utf8Start
        var n = 0
        var i = 0
        while i < 8 {
            if i == bestStart {
                if i == 0 { p[n] = 58; n += 1 }
                p[n] = 58; n += 1
                i += bestLen
                continue
            }
            if embedsV4 && i == 6 {
                return n + writeV4(UInt32(truncatingIfNeeded: bits), to: p + n)
            }
            let x = word(i)
            if x >= 0x1000 { p[n] = h[Int(x >> 12)]; n += 1 }
            if x >= 0x100 { p[n] = h[Int((x >> 8) & 15)]; n += 1 }
            if x >= 0x10 { p[n] = h[Int((x >> 4) & 15)]; n += 1 }
            p[n] = h[Int(x & 15)]; n += 1
            if i < 7 { p[n] = 58; n += 1 }
            i += 1
        }
        return n
    }
}

extension IPPrefix {
    /// The longest text `writeText` writes.
    static let maxTextLength = IPAddress.maxTextLength + 4

    /// ADDRESS/LENGTH from UTF-8 text: an address `IPAddress.parse` reads, a slash and one to
    /// three decimal digits at most the family's width; or an address alone (a host prefix).
    /// The address is masked to the length.
    @inline(__always)
    static func parse(_ q: UnsafeBufferPointer<UInt8>) -> IPPrefix? {
        let count = q.count
        var slash = count - 1
        while slash >= 0 && q[slash] != UInt8(ascii: "/") { slash -= 1 }
        if slash < 0 {
            guard let a = IPAddress.parse(q) else { return nil }
            return IPPrefix(a, a.family.bitWidth)
        }
        let digits = count - slash - 1
        guard digits >= 1 && digits <= 3, let a = IPAddress.parse(UnsafeBufferPointer(rebasing: q[..<slash])) else { return nil }
        var len = 0
        for c in q[(slash + 1)...] {
            guard c &- 48 < 10 else { return nil }
            len = len * 10 + Int(c &- 48)
        }
        guard len <= a.family.bitWidth else { return nil }
        return IPPrefix(a, len)
    }

    /// ADDRESS/LENGTH (`IPAddress.writeText`, a slash, the length in decimal); returns the
    /// number of bytes written at `p`, at most `maxTextLength`.
    @inline(__always)
    func writeText(to p: UnsafeMutablePointer<UInt8>) -> Int {
        let n = address.writeText(to: p)
        p[n] = UInt8(ascii: "/")
        return n + 1 + Digits.decimal(UInt64(length), to: p + n + 1)
    }
}

/// Why text is not an IP prefix, saying what was expected (`IPPrefix(validating:)`): the
/// message of every reader of outside prefix text (snapshot files, `--apply`, `--flows`).
public enum IPPrefixError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case noAddress(String)
    case noLength(String)
    case badLength(String)
    case tooLong(String, length: Int, family: IPAddress.Family)
    case badAddress(String)

    public var description: String {
        let form = "expected ADDRESS/LENGTH or ADDRESS, e.g. 10.0.0.0/8"
        switch self {
        case .empty: return "an empty prefix (\(form))"
        case .noAddress(let t): return "\"\(t.terminalEscaped)\" has no address before the slash (\(form))"
        case .noLength(let t): return "\"\(t.terminalEscaped)\" has no length after the slash (\(form))"
        case .badLength(let t): return "\"\(t.terminalEscaped)\" has a length that is not 1 to 3 decimal digits (\(form))"
        case .tooLong(let t, let n, let f):
            return "\"\(t.terminalEscaped)\": prefix length \(n) is longer than an \(f) address (at most \(f.bitWidth))"
        case .badAddress(let t): return "\"\(t.terminalEscaped)\" is not an IP address or prefix (\(form))"
        }
    }
}

extension IPPrefix {
    /// `IPPrefix(text)`, or the reason it is not one (`diagnose`).
    public init(validating text: String) throws(IPPrefixError) {
        if let p = IPPrefix(text) { self = p; return }
        throw IPPrefix.diagnose(text)
    }

    public static func diagnose(_ text: String) -> IPPrefixError {
        if text.isEmpty { return .empty }
        guard let slash = text.lastIndex(of: "/") else { return .badAddress(text) }
        let addr = text[..<slash], len = text[text.index(after: slash)...]
        if addr.isEmpty { return .noAddress(text) }
        guard let a = IPAddress(String(addr)) else { return .badAddress(text) }
        if len.isEmpty { return .noLength(text) }
        guard len.count <= 3, len.utf8.allSatisfy({ $0 &- 48 < 10 }), let n = Int(len) else { return .badLength(text) }
        return n > a.family.bitWidth ? .tooLong(text, length: n, family: a.family) : .badLength(text)
    }
}

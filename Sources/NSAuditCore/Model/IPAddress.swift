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

    // MARK: text
    public init?(_ text: String) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let v = IPAddress.parseV6(Substring(text)) else { return nil }
            self.init(v6: v)
        } else {
            guard let v = IPAddress.parseV4(Substring(text)) else { return nil }
            self.init(v4: v)
        }
    }

    static func parseV4(_ s: Substring) -> UInt32? { parseV4(utf8: s.utf8) }

    /// Dotted-quad IPv4 from UTF-8 bytes (also used by the snapshot decoder on raw bytes).
    @inline(__always)
    static func parseV4<C: Collection>(utf8 bytes: C) -> UInt32? where C.Element == UInt8 {
        var value: UInt32 = 0, octets = 0, cur: UInt32 = 0, digits = 0
        for c in bytes {
            if c == UInt8(ascii: ".") {
                guard digits > 0, octets < 3 else { return nil }
                value = (value << 8) | cur; octets += 1; cur = 0; digits = 0
            } else if c >= 48 && c <= 57 {
                cur = cur * 10 + UInt32(c - 48); digits += 1
                guard cur <= 255, digits <= 3 else { return nil }
            } else { return nil }
        }
        guard digits > 0, octets == 3 else { return nil }
        return (value << 8) | cur
    }

    static func parseV6(_ s: Substring) -> UInt128? {
        var head: [UInt16] = [], tail: [UInt16] = []
        var sawGap = false
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 3 || (parts.count >= 2 && !s.hasPrefix(":")) || s == "::" else {
            if s == "::" { return 0 }
            return nil
        }
        var i = 0
        var groups: [Substring] = Array(parts)
        // Leading or trailing "::" produce two empty fields; collapse them.
        if s.hasPrefix("::") { groups.removeFirst() }
        if s.hasSuffix("::") { groups.removeLast() }
        while i < groups.count {
            let g = groups[i]
            if g.isEmpty {
                guard !sawGap else { return nil }
                sawGap = true
            } else if i == groups.count - 1, g.contains(".") {
                guard let v4 = parseV4(g) else { return nil }
                let hi = UInt16(v4 >> 16), lo = UInt16(v4 & 0xffff)
                if sawGap { tail += [hi, lo] } else { head += [hi, lo] }
            } else {
                guard g.utf8.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                if sawGap { tail.append(v) } else { head.append(v) }
            }
            i += 1
        }
        let total = head.count + tail.count
        guard sawGap ? total <= 7 : total == 8 else { return nil }
        let words = head + Array(repeating: 0, count: 8 - total) + tail
        return words.reduce(UInt128(0)) { ($0 << 16) | UInt128($1) }
    }

    /// Dotted quad text (and "/length"), written byte by byte: reports print hundreds of
    /// thousands of IPv4 blocks.
    static func v4Text(_ v: UInt32, prefixLength: Int? = nil) -> String {
        String(unsafeUninitializedCapacity: 19) { buf in
            var n = 0
            func put(_ x: UInt32) {
                if x >= 100 { buf[n] = UInt8(48 + x / 100); n += 1 }
                if x >= 10 { buf[n] = UInt8(48 + x / 10 % 10); n += 1 }
                buf[n] = UInt8(48 + x % 10); n += 1
            }
            for shift: UInt32 in [24, 16, 8, 0] {
                put((v >> shift) & 0xff)
                if shift > 0 { buf[n] = 0x2e; n += 1 }
            }
            if let l = prefixLength { buf[n] = 0x2f; n += 1; put(UInt32(l)) }
            return n
        }
    }

    public var description: String {
        if family == .v4 { return Self.v4Text(v4) }
        let w = (0..<8).map { UInt16(truncatingIfNeeded: bits >> UInt128(16 * (7 - $0))) }
        let (bestStart, bestLen, embedsV4) = Self.v6Layout { w[$0] }
        var out = ""
        var i = 0
        while i < 8 {
            if i == bestStart {
                out += i == 0 ? "::" : ":"
                i += bestLen
                continue
            }
            if embedsV4 && i == 6 {
                let v = UInt32(w[6]) << 16 | UInt32(w[7])
                out += IPAddress(v4: v).description
                break
            }
            out += String(w[i], radix: 16)
            if i < 7 { out += ":" }
            i += 1
        }
        return out
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

    public static func mask(_ len: Int, _ width: Int) -> UInt128 {
        if len == 0 { return 0 }
        let ones: UInt128 = width == 32 ? 0xffff_ffff : UInt128.max
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

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let a = IPAddress(String(parts[0])) else { return nil }
        if parts.count == 2 {
            guard let l = Int(parts[1]), l >= 0, l <= a.family.bitWidth else { return nil }
            self.init(a, l)
        } else {
            self.init(a, a.family.bitWidth)
        }
    }

    public var description: String {
        address.family == .v4 ? IPAddress.v4Text(address.v4, prefixLength: Int(length)) : "\(address)/\(length)"
    }

    public static func < (a: IPPrefix, b: IPPrefix) -> Bool {
        a.address != b.address ? a.address < b.address : a.length < b.length
    }
}

extension IPPrefix: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        guard let p = IPPrefix(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an IP prefix: \(s)")
        }
        self = p
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension IPAddress {
    /// How IPv6 text is laid out (RFC 5952, as glibc prints it), from the eight 16-bit words:
    /// the longest run of two or more zero words, the first one on ties, is compressed to
    /// "::" (start -1: none), and ::a.b.c.d and ::ffff:a.b.c.d end in dotted IPv4.
    /// Shared by `description` and the byte-level writers.
    @inline(__always)
    static func v6Layout(_ word: (Int) -> UInt16) -> (start: Int, length: Int, embedsV4: Bool) {
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
        return (bestStart, bestLen, embedsV4)
    }
}

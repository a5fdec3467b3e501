/// The address space of one family cut into elementary ranges: every prefix that can change
/// a routing decision (route destinations of every table, rule selectors, special ranges)
/// contributes its two ends as cut points, so any decision is constant across a range and
/// one representative address answers for all of it.
public struct AddressPartition: Sendable {
    public let family: IPAddress.Family
    /// Sorted start points; range i is starts[i] ..< starts[i+1] (the last runs to the end).
    public let starts: [UInt128]

    public init(family: IPAddress.Family, prefixes: some Sequence<IPPrefix>) {
        self.family = family
        var unique: [UInt128] = []
        if family == .v4 {
            // IPv4 cuts fit in 33 bits: sorted as integers, by radix (a million routes).
            var cuts: [UInt64] = [0]
            for p in prefixes where p.family == family {
                cuts.append(UInt64(p.address.bits))
                cuts.append(UInt64(p.last.bits) + 1)
            }
            radixSort(&cuts)
            unique.reserveCapacity(cuts.count)
            var last: UInt64 = .max
            for c in cuts where c != last && c <= 0xffff_ffff { unique.append(UInt128(c)); last = c }
        } else {
            var cuts: [UInt128] = [0]
            for p in prefixes where p.family == family {
                cuts.append(p.address.bits)
                let last = p.last.bits
                if last < .max { cuts.append(last + 1) }
            }
            cuts.sort()
            unique.reserveCapacity(cuts.count)
            for c in cuts where unique.last != c { unique.append(c) }
        }
        starts = unique
    }

    /// The index of the range holding `x`.
    public func index(of x: UInt128) -> Int {
        var lo = 0, hi = starts.count  // first start > x, minus one
        while lo < hi { let m = (lo + hi) / 2; if starts[m] <= x { lo = m + 1 } else { hi = m } }
        return lo - 1
    }

    public var count: Int { starts.count }

    /// The inclusive bounds of range i.
    public func bounds(_ i: Int) -> (UInt128, UInt128) {
        let maxValue: UInt128 = family == .v4 ? 0xffff_ffff : .max
        return (starts[i], i + 1 < starts.count ? starts[i + 1] - 1 : maxValue)
    }

    public func representative(_ i: Int) -> IPAddress { IPAddress(family: family, bits: starts[i]) }
}

/// Sets of addresses kept as sorted, disjoint, inclusive ranges; printed as CIDR blocks.
public struct AddressRanges: Sendable, Equatable {
    public let family: IPAddress.Family
    public private(set) var ranges: [(UInt128, UInt128)] = []

    public init(family: IPAddress.Family) { self.family = family }

    public static func == (a: AddressRanges, b: AddressRanges) -> Bool {
        a.family == b.family && a.ranges.elementsEqual(b.ranges, by: { $0 == $1 })
    }

    public var isEmpty: Bool { ranges.isEmpty }

    /// Appends a range that starts after every range already held (ranges arrive in order).
    public mutating func append(_ lo: UInt128, _ hi: UInt128) {
        if let last = ranges.last, last.1 &+ 1 == lo, last.1 != (family == .v4 ? 0xffff_ffff : .max) {
            ranges[ranges.count - 1].1 = hi
        } else {
            ranges.append((lo, hi))
        }
    }

    public func contains(_ a: IPAddress) -> Bool {
        guard a.family == family else { return false }
        let b = a.bits
        var lo = 0, hi = ranges.count - 1
        while lo <= hi {
            let mid = (lo + hi) / 2
            if b < ranges[mid].0 { hi = mid - 1 } else if b > ranges[mid].1 { lo = mid + 1 } else { return true }
        }
        return false
    }

    /// The smallest list of CIDR prefixes covering exactly these addresses.
    public var prefixes: [IPPrefix] { prefixes(limit: .max) }

    /// The first `limit` prefixes of `prefixes` (in address order), without building the rest.
    public func prefixes(limit: Int) -> [IPPrefix] {
        var out: [IPPrefix] = []
        guard limit > 0 else { return out }
        forEachBlock { lo, len in
            out.append(IPPrefix(IPAddress(family: family, bits: lo), len))
            return out.count < limit
        }
        return out
    }

    /// How many prefixes `prefixes` holds, counted without building them.
    public var prefixCount: Int {
        ranges.reduce(0) { $0 + Self.blockCount($1.0, $1.1) }
    }

    /// The number of CIDR blocks of the minimal cover of lo...hi, without walking them: below
    /// the highest bit h where lo and hi differ, the blocks from lo up to m (hi with the bits
    /// below h cleared) are the set bits of m - lo, those from m to hi the set bits of
    /// hi - m + 1; unless the two halves make one aligned block of 2^(h+1).
    static func blockCount(_ lo: UInt128, _ hi: UInt128) -> Int {
        if lo == hi { return 1 }
        let h = UInt128.bitWidth - 1 - (lo ^ hi).leadingZeroBitCount
        let below: UInt128 = h == UInt128.bitWidth - 1 ? .max : (1 << UInt128(h + 1)) - 1
        if lo & below == 0 && hi & below == below { return 1 }
        let m = (hi >> UInt128(h)) << UInt128(h)
        return (m - lo).nonzeroBitCount + (hi - m + 1).nonzeroBitCount
    }

    /// Calls `body` with each CIDR block (start, prefix length) of the minimal cover, in
    /// order, until it returns false.
    func forEachBlock(_ body: (UInt128, Int) -> Bool) {
        let width = family.bitWidth
        let top: UInt128 = width == 32 ? 0xffff_ffff : .max
        for (lo0, hi) in ranges {
            var lo = lo0
            while true {
                // The largest aligned block starting at lo that stays within hi: as long as
                // lo's alignment allows, and no longer than the span lo...hi.
                let align = lo == 0 ? width : min(width, lo.trailingZeroBitCount)
                let span = hi - lo  // block size - 1 must not exceed this
                let fit = span == top ? width : (UInt128.bitWidth - (span &+ 1).leadingZeroBitCount - 1)
                let bits = min(align, fit)
                if !body(lo, width - bits) { return }
                let last = bits == width ? top : lo + ((1 << UInt128(bits)) - 1)
                if last >= hi { break }
                lo = last + 1
            }
        }
    }

    /// The part of these ranges inside `p`.
    public func intersecting(_ p: IPPrefix) -> AddressRanges {
        var out = AddressRanges(family: family)
        guard p.family == family else { return out }
        let lo = p.address.bits, hi = p.last.bits
        for (a, b) in ranges where b >= lo && a <= hi { out.append(max(a, lo), min(b, hi)) }
        return out
    }

    /// The addresses of these prefixes (any order, overlapping or not).
    public init(union prefixes: [IPPrefix], family: IPAddress.Family) {
        if family == .v4 {
            var spans = prefixes.compactMap { $0.family == family ? Self.packedV4($0) : nil }
            self.init(packedV4: &spans)
            return
        }
        self.init(family: family)
        let spans = prefixes.filter { $0.family == family }.map { ($0.address.bits, $0.last.bits) }.sorted { $0.0 < $1.0 }
        for r in spans { merge(r) }
    }

    /// The union of several sets, merged two by two in rounds (each round one pass over
    /// every range): N ranges in k sets cost N·log2(k), where taking the lowest next range of
    /// every set at each step costs N·k (a full table's verdict groups are a hundred sets).
    public init(merging sets: [AddressRanges], family: IPAddress.Family) {
        self.init(family: family)
        var round = sets.filter { $0.family == family && !$0.ranges.isEmpty }
        guard !round.isEmpty else { return }
        while round.count > 1 {
            var next: [AddressRanges] = []
            next.reserveCapacity((round.count + 1) / 2)
            var k = 0
            while k + 1 < round.count { next.append(Self.merged(round[k], round[k + 1])); k += 2 }
            if k < round.count { next.append(round[k]) }
            round = next
        }
        self = round[0]
    }

    /// The union of two sets of one family, in one pass over both.
    private static func merged(_ a: AddressRanges, _ b: AddressRanges) -> AddressRanges {
        var out = AddressRanges(family: a.family)
        out.ranges.reserveCapacity(a.ranges.count + b.ranges.count)
        a.ranges.withUnsafeBufferPointer { x in
            b.ranges.withUnsafeBufferPointer { y in
                var i = 0, j = 0
                while i < x.count && j < y.count {
                    if x[i].0 <= y[j].0 { out.merge(x[i]); i += 1 } else { out.merge(y[j]); j += 1 }
                }
                while i < x.count { out.merge(x[i]); i += 1 }
                while j < y.count { out.merge(y[j]); j += 1 }
            }
        }
        return out
    }

    /// An IPv4 prefix as (start, end) packed in one integer.
    static func packedV4(_ p: IPPrefix) -> UInt64 { UInt64(p.address.bits) << 32 | UInt64(p.last.bits) }

    /// The IPv4 addresses of these spans (`packedV4`, any order), sorted by radix (a million
    /// routes).
    init(packedV4 spans: inout [UInt64]) {
        self.init(family: .v4)
        radixSort(&spans)
        ranges.reserveCapacity(spans.count)
        for x in spans { merge((UInt128(x >> 32), UInt128(x & 0xffff_ffff))) }
    }

    /// Whether `r` (starting at or after the last range's start) overlaps or adjoins the last
    /// range.
    private func touchesLast(_ r: (UInt128, UInt128)) -> Bool {
        guard let last = ranges.last else { return false }
        return last.1 == .max || r.0 <= last.1 + 1
    }

    /// Adds `r`, which starts at or after the last range's start, joining what it touches.
    private mutating func merge(_ r: (UInt128, UInt128)) {
        if touchesLast(r) { ranges[ranges.count - 1].1 = max(ranges[ranges.count - 1].1, r.1) } else { ranges.append(r) }
    }

    /// Whether any address of `p` is in the set.
    public func overlaps(_ p: IPPrefix) -> Bool {
        guard p.family == family, !ranges.isEmpty else { return false }
        let i = firstEnding(atOrAfter: p.address.bits)
        return i < ranges.count && ranges[i].0 <= p.last.bits
    }

    /// The index of the first range ending at or after `x`.
    private func firstEnding(atOrAfter x: UInt128, from start: Int = 0) -> Int {
        var i = start, n = ranges.count
        while i < n { let m = (i + n) / 2; if ranges[m].1 < x { i = m + 1 } else { n = m } }
        return i
    }

    /// The addresses in both sets (a binary search per range of `other`: cheap when it is
    /// the small one).
    public func intersecting(_ other: AddressRanges) -> AddressRanges {
        var out = AddressRanges(family: family)
        var i = 0
        for (lo, hi) in other.ranges {
            i = firstEnding(atOrAfter: lo, from: i)
            var k = i
            while k < ranges.count && ranges[k].0 <= hi {
                out.append(max(ranges[k].0, lo), min(ranges[k].1, hi))
                k += 1
            }
        }
        return out
    }

    /// The index of the first range starting at or after `x`.
    private func firstStarting(atOrAfter x: UInt128, from start: Int = 0) -> Int {
        var i = start, n = ranges.count
        while i < n { let m = (i + n) / 2; if ranges[m].0 < x { i = m + 1 } else { n = m } }
        return i
    }

    /// The addresses in this set and not in `other` (the runs untouched by `other` are
    /// copied whole: cheap when `other` is small).
    public func subtracting(_ other: AddressRanges) -> AddressRanges {
        guard !other.ranges.isEmpty, !ranges.isEmpty else { return self }
        var out = AddressRanges(family: family)
        out.ranges.reserveCapacity(ranges.count + other.ranges.count)
        var i = 0
        var pending: (UInt128, UInt128)? = nil  // what is left of a range cut before
        func next() -> (UInt128, UInt128)? {
            if let p = pending { pending = nil; return p }
            guard i < ranges.count else { return nil }
            i += 1
            return ranges[i - 1]
        }
        for (lo, hi) in other.ranges {
            if pending == nil {
                let j = firstEnding(atOrAfter: lo, from: i)
                if j > i { out.ranges.append(contentsOf: ranges[i..<j]); i = j }
            }
            while let r = next() {
                if r.1 < lo { out.ranges.append(r); continue }
                if r.0 > hi { pending = r; break }
                if r.0 < lo { out.ranges.append((r.0, lo - 1)) }
                if r.1 > hi { pending = (hi + 1, r.1); break }
            }
        }
        if let p = pending { out.ranges.append(p) }
        if i < ranges.count { out.ranges.append(contentsOf: ranges[i...]) }
        return out
    }

    /// Appends `other`, whose ranges all start after this set's last one (the next chunk of
    /// the address space), joining the two ranges that touch.
    public mutating func append(_ other: AddressRanges) {
        guard let last = ranges.last, let first = other.ranges.first else { if ranges.isEmpty { ranges = other.ranges }; return }
        precondition(first.0 > last.1, "append needs ranges after this set's")
        ranges.reserveCapacity(ranges.count + other.ranges.count)
        if last.1 + 1 == first.0 {
            ranges[ranges.count - 1].1 = first.1
            ranges.append(contentsOf: other.ranges.dropFirst())
        } else {
            ranges.append(contentsOf: other.ranges)
        }
    }

    /// The addresses in either set (the runs of this set between `other`'s ranges are
    /// copied whole: cheap when `other` is small).
    public func union(_ other: AddressRanges) -> AddressRanges {
        guard !other.ranges.isEmpty else { return self }
        guard !ranges.isEmpty else { return other }
        var out = AddressRanges(family: family)
        out.ranges.reserveCapacity(ranges.count + other.ranges.count)
        var i = 0
        for r in other.ranges {
            let j = firstStarting(atOrAfter: r.0, from: i)
            while i < j && out.touchesLast(ranges[i]) { out.merge(ranges[i]); i += 1 }
            if i < j { out.ranges.append(contentsOf: ranges[i..<j]); i = j }
            out.merge(r)
        }
        while i < ranges.count && out.touchesLast(ranges[i]) { out.merge(ranges[i]); i += 1 }
        if i < ranges.count { out.ranges.append(contentsOf: ranges[i...]) }
        return out
    }
}

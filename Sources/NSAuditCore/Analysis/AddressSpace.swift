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
        let maxValue: UInt128 = family == .v4 ? 0xffff_ffff : .max
        var cuts: [UInt128] = [0]
        for p in prefixes where p.family == family {
            cuts.append(p.address.bits)
            let last = p.last.bits
            if last < maxValue { cuts.append(last + 1) }
        }
        cuts.sort()
        var unique: [UInt128] = []
        unique.reserveCapacity(cuts.count)
        for c in cuts where unique.last != c { unique.append(c) }
        starts = unique
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
    public var prefixes: [IPPrefix] {
        let width = family.bitWidth
        var out: [IPPrefix] = []
        for (lo0, hi) in ranges {
            var lo = lo0
            while true {
                // Largest aligned block starting at lo that stays within hi.
                var size = width - (lo == 0 ? width : lo.trailingZeroBitCount)  // prefix length lower bound
                size = max(0, size)
                var len = size
                while len < width {
                    let blockLast = lo | (IPPrefix.mask(len, width) ^ (width == 32 ? 0xffff_ffff : .max))
                    if blockLast <= hi { break }
                    len += 1
                }
                let p = IPPrefix(IPAddress(family: family, bits: lo), len)
                out.append(p)
                let last = p.last.bits
                if last >= hi { break }
                lo = last + 1
            }
        }
        return out
    }

    /// The part of these ranges inside `p`.
    public func intersecting(_ p: IPPrefix) -> AddressRanges {
        var out = AddressRanges(family: family)
        guard p.family == family else { return out }
        let lo = p.address.bits, hi = p.last.bits
        for (a, b) in ranges where b >= lo && a <= hi { out.append(max(a, lo), min(b, hi)) }
        return out
    }

    /// How many addresses (saturating for IPv6).
    public var addressCount: Double {
        ranges.reduce(0) { $0 + Double($1.1 - $1.0) + 1 }
    }
}

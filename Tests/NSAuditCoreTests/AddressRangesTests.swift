import Testing
@testable import NSAuditCore

/// The CIDR cover of address ranges, checked against its definition: the blocks are aligned,
/// disjoint, in order, cover exactly the ranges, and each is the largest aligned block that
/// starts where it starts and stays inside its range (which makes the cover minimal).
@Suite struct AddressRangesTests {

    func check(_ r: AddressRanges, _ note: Comment? = nil) {
        let width = r.family.bitWidth
        let top: UInt128 = width == 32 ? 0xffff_ffff : .max
        let blocks = r.prefixes
        #expect(blocks.count == r.prefixCount, note)
        var k = 0
        for (lo, hi) in r.ranges {
            var at = lo
            while true {
                let p = blocks[k]; k += 1
                #expect(p.address.bits == at, note)
                #expect(p.last.bits <= hi, note)
                // not extendable: a block one bit shorter would be misaligned or overrun hi
                if p.length > 0 {
                    let bigger = IPPrefix(IPAddress(family: r.family, bits: at), Int(p.length) - 1)
                    #expect(bigger.address.bits != at || bigger.last.bits > hi, note)
                }
                if p.last.bits >= hi { break }
                at = p.last.bits + 1
            }
            _ = top
        }
        #expect(k == blocks.count, note)
        for limit in [0, 1, 3, blocks.count, blocks.count + 5] {
            #expect(r.prefixes(limit: limit) == Array(blocks.prefix(limit)), note)
        }
    }

    @Test func randomIPv4Ranges() {
        var g = SeededRandom(7)
        for _ in 0..<300 {
            var r = AddressRanges(family: .v4)
            var at: UInt128 = UInt128(g.next() % 1000)
            for _ in 0..<(1 + g.next() % 6) {
                let len = UInt128(g.next() % (g.next() % 2 == 0 ? 300 : 5_000_000))
                let hi = min(at + len, 0xffff_ffff)
                r.append(at, hi)
                if hi >= 0xffff_fff0 { break }
                at = hi + 2 + UInt128(g.next() % 70000)
                if at > 0xffff_ffff { break }
            }
            check(r, g.seedNote)
        }
    }

    @Test func edgesOfBothFamilies() {
        var all4 = AddressRanges(family: .v4); all4.append(0, 0xffff_ffff)
        #expect(all4.prefixes.map(\.description) == ["0.0.0.0/0"])
        var all6 = AddressRanges(family: .v6); all6.append(0, .max)
        #expect(all6.prefixes.map(\.description) == ["::/0"])
        var tail6 = AddressRanges(family: .v6); tail6.append(1, .max)
        #expect(tail6.prefixCount == 128)
        check(tail6)
        var odd = AddressRanges(family: .v4); odd.append(1, 0xffff_fffe)
        #expect(odd.prefixCount == 62)
        check(odd)
        var one = AddressRanges(family: .v4); one.append(0xffff_ffff, 0xffff_ffff)
        #expect(one.prefixes.map(\.description) == ["255.255.255.255/32"])
    }
}

/// Set operations on address ranges against a bit-per-address model of a small space.
@Suite struct AddressRangeSetTests {
    func ranges(_ bits: [Bool]) -> AddressRanges {
        var r = AddressRanges(family: .v4)
        for (i, b) in bits.enumerated() where b { r.append(UInt128(i), UInt128(i)) }
        return r
    }

    @Test func operationsMatchTheirDefinition() {
        var g = SeededRandom(11)
        for _ in 0..<2000 {
            let n = 1 + Int(g.next() % 64)
            func random() -> [Bool] {
                let density = g.next() % 4
                return (0..<n).map { _ in g.next() % 4 < density }
            }
            let a = random(), b = random()
            let ra = ranges(a), rb = ranges(b)
            #expect(ra.union(rb) == ranges(zip(a, b).map { $0 || $1 }), g.seedNote)
            #expect(ra.intersecting(rb) == ranges(zip(a, b).map { $0 && $1 }), g.seedNote)
            #expect(ra.subtracting(rb) == ranges(zip(a, b).map { $0 && !$1 }), g.seedNote)
            let prefixes = ra.prefixes
            #expect(AddressRanges(union: prefixes, family: .v4) == ra, g.seedNote)
            for p in rb.prefixes { #expect(ra.overlaps(p) == !ra.intersecting(AddressRanges(union: [p], family: .v4)).isEmpty, g.seedNote) }
        }
    }
}

/// IPv4 unions and partitions of many prefixes are sorted by radix: the same as sorting by
/// comparison, on random prefixes of every length including 0.0.0.0/0 and the last address.
@Suite struct RadixSortedSpaceTests {
    @Test func unionAndPartitionMatchAComparisonSort() {
        var g = SeededRandom(5)
        for round in 0..<20 {
            var prefixes = [IPPrefix("255.255.255.255/32")!, IPPrefix("0.0.0.0/\(round % 2 == 0 ? 0 : 1)")!]
            for _ in 0..<(300 + Int(g.next() % 5000)) {
                let len = Int(g.next() % 33)
                prefixes.append(IPPrefix(IPAddress(family: .v4, bits: UInt128(g.next() & 0xffff_ffff)), len))
            }
            // reference: comparison sorts
            let spans = prefixes.map { ($0.address.bits, $0.last.bits) }.sorted { $0.0 < $1.0 }
            var expected: [(UInt128, UInt128)] = []
            for r in spans {
                if let l = expected.last, r.0 <= l.1 + 1 { expected[expected.count - 1].1 = max(l.1, r.1) } else { expected.append(r) }
            }
            let union = AddressRanges(union: prefixes, family: .v4)
            #expect(union.ranges.elementsEqual(expected, by: { $0 == $1 }), "round \(round), \(g.seedNote)")
            let cuts = Set(prefixes.flatMap { [$0.address.bits, $0.last.bits + 1] }.filter { $0 <= 0xffff_ffff } + [0]).sorted()
            let part = AddressPartition(family: .v4, prefixes: prefixes)
            #expect(part.starts == cuts, "round \(round), \(g.seedNote)")
            for _ in 0..<100 {
                let x = UInt128(g.next() & 0xffff_ffff)
                let i = part.index(of: x)
                #expect(part.starts[i] <= x && (i + 1 == part.count || part.starts[i + 1] > x))
            }
        }
    }
}

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

    /// `init(merging:)` (one pass over a few disjoint or overlapping sets) is the chain of
    /// `union`s, touching ranges joined.
    @Test func mergingIsTheUnion() {
        var g = SeededRandom(11)
        for _ in 0..<200 {
            let sets = (0..<(1 + g.next() % 5)).map { _ -> AddressRanges in
                var r = AddressRanges(family: .v4)
                var at = UInt128(g.next() % 5000)
                for _ in 0..<(g.next() % 40) {
                    let hi = min(at + UInt128(g.next() % 300), 0xffff_ffff)
                    r.append(at, hi)
                    at = hi + 1 + UInt128(g.next() % 3 == 0 ? 0 : g.next() % 900)
                    if at > 0xffff_ffff { break }
                }
                return r
            }
            let chained = sets.dropFirst().reduce(sets[0]) { $0.union($1) }
            let merged = AddressRanges(merging: sets, family: .v4)
            #expect(merged == chained, g.seedNote)
            check(merged, g.seedNote)
        }
        #expect(AddressRanges(merging: [], family: .v6).isEmpty)
    }

    /// Many sets (merged two by two in rounds, an odd one carried to the next round), of both
    /// families, up to the end of the address space: still the chain of `union`s.
    @Test func mergingManySetsIsTheUnion() {
        var g = SeededRandom(12)
        for trial in 0..<60 {
            let family: IPAddress.Family = trial % 2 == 0 ? .v4 : .v6
            let top: UInt128 = family == .v4 ? 0xffff_ffff : .max
            let base: UInt128 = top - 200_000
            let sets = (0..<(1 + g.next() % 70)).map { _ -> AddressRanges in
                var r = AddressRanges(family: family)
                var at = base + UInt128(g.next() % 5000)
                for _ in 0..<(g.next() % 60) {
                    let step = UInt128(g.next() % 3000)
                    let hi = top - at <= step ? top : at + step
                    r.append(at, hi)
                    let gap = 1 + UInt128(g.next() % 3 == 0 ? 0 : g.next() % 4000)
                    if top - hi < gap { break }
                    at = hi + gap
                }
                return r
            }
            let chained = sets.dropFirst().reduce(sets[0]) { $0.union($1) }
            let merged = AddressRanges(merging: sets, family: family)
            #expect(merged == chained, g.seedNote)
            check(merged, g.seedNote)
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

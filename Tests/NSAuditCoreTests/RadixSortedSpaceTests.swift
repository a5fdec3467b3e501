import Testing
@testable import NSAuditCore

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

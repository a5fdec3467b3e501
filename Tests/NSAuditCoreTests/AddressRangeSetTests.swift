import Testing
@testable import NSAuditCore

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

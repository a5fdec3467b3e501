import Foundation
@testable import NSAuditCore
import Testing

/// The shipped modules format numbers without Foundation's `String(format:)` (it drags ICU
/// into the static binary): `fixed`, `shortest` and `padded` must print what it printed.
@Suite struct TextFormattingTests {
    @Test(arguments: [0.0, 0.5, 0.125, 0.005, 1.0 / 3, 2.675, 99.995, 100, 1234.5678, -0.5, -1.005, 1e15])
    func fixedIsPrintfsFixedNotation(_ x: Double) {
        for d in 0...3 { #expect(x.fixed(d) == String(format: "%.\(d)f", x), "\(x) with \(d) decimals") }
    }

    @Test(arguments: [1.0, 1.5, 2.25, 1.234567, 123.456, 1234.567, 4294967.295, 1e-5])
    func shortestIsPrintfsG(_ x: Double) {
        #expect(x.shortest == String(format: "%g", x))
    }

    @Test func paddedFillsTheColumn() {
        #expect("ab".padded(to: 5) == "ab   ")
        #expect("ab".padded(to: 5, alignRight: true) == "   ab")
        #expect("abcdef".padded(to: 3) == "abcdef", "longer text is kept whole")
        #expect("category".padded(to: 12) == "category    ")
        #expect(String(42).padded(to: 8, alignRight: true) == String(format: "%8d", 42))
    }
}

import Glibc

// Number and column formatting for text output, without Foundation's `String(format:)` (it
// lives in FoundationInternationalization, whose ICU is most of a static binary's size: see
// docs/performance.md, "Package size"). Numbers are printed by the C library's printf, so the
// digits and rounding are what `String(format:)` printed.

extension Double {
    /// printf's `%.Nf`: `decimals` digits after the point (`0.5.fixed(2)` is "0.50").
    public func fixed(_ decimals: Int) -> String { cFormat("%.*f", Int32(decimals), self) }

    /// printf's `%g`: at most six significant digits, no trailing zeros (1.5 is "1.5", 2.0 is
    /// "2"): how iproute2 prints times in seconds.
    public var shortest: String { cFormat("%g", self) }
}

/// C's vsnprintf of `format` with numeric arguments.
private func cFormat(_ format: String, _ args: any CVarArg...) -> String {
    var size = 32
    while true {
        var buf = [CChar](repeating: 0, count: size)
        let n = Int(withVaList(args) { vsnprintf(&buf, size, format, $0) })
        precondition(n >= 0, "vsnprintf failed for \(format)")
        if n < size { return String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        size = n + 1
    }
}

extension StringProtocol {
    /// The text in a column `width` characters wide: spaces after it (printf's `%-Ns`) or,
    /// `alignRight`, before it (`%Ns`). Longer text is kept whole.
    public func padded(to width: Int, alignRight: Bool = false) -> String {
        let fill = String(repeating: " ", count: Swift.max(0, width - count))
        return alignRight ? fill + self : self + fill
    }
}

import NSAuditCore

/// The random choices the generated labs make, drawn from one seeded generator so a seed
/// names a lab exactly (RouteGetGenerator, TraceTopologyGenerator).
protocol SeededChoices {
    var rng: SplitMix64 { get set }
}

extension SeededChoices {
    /// True with probability `p` (in steps of 1/10,000).
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 10_000) / 10_000 < p }
    mutating func int(_ r: ClosedRange<Int>) -> Int { Int.random(in: r, using: &rng) }
    mutating func pick<T>(_ a: [T]) -> T { a[int(0...(a.count - 1))] }
}

import Foundation
import NSAuditCore
import Testing

/// The random source of a randomized test: SplitMix64 from a fixed seed, or from
/// NSAUDIT_TEST_SEED to replay or widen a run. `seedNote` goes into the expectations' comments,
/// so a failure says how to replay it.
struct SeededRandom: RandomNumberGenerator {
    let seed: UInt64
    private var g: SplitMix64
    init(_ fixed: UInt64) {
        seed = ProcessInfo.processInfo.environment["NSAUDIT_TEST_SEED"].flatMap { UInt64($0) } ?? fixed
        g = SplitMix64(seed: seed)
    }
    mutating func next() -> UInt64 { g.next() }
    var seedNote: Comment { "seed \(seed) (replay with NSAUDIT_TEST_SEED=\(seed))" }
}

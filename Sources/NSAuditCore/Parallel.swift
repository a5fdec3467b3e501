import Dispatch
import FoundationEssentials

/// The cores work is spread over (asked once: the answer is read from the system).
let processorCount = ProcessInfo.processInfo.activeProcessorCount

/// `body(0) ... body(count - 1)` on every core, results in index order. The one place the
/// core runs work concurrently (namespaces, chunks of a source space, fix verifications,
/// pieces of a route-get batch and of report JSON); the command line uses it for the kernel
/// self-check.
public func parallelMap<T: Sendable>(_ count: Int, _ body: @Sendable (Int) -> T) -> [T] {
    guard count > 1 else { return (0..<count).map(body) }
    let slots = Slots<T>(count)
    DispatchQueue.concurrentPerform(iterations: count) { i in slots.set(i, body(i)) }
    return slots.all()
}

/// Two different computations side by side.
func parallel<A: Sendable, B: Sendable>(_ a: @Sendable () -> A, _ b: @Sendable () -> B) -> (A, B) {
    let slotA = Slots<A>(1), slotB = Slots<B>(1)
    DispatchQueue.concurrentPerform(iterations: 2) { i in
        if i == 0 { slotA.set(0, a()) } else { slotB.set(0, b()) }
    }
    return (slotA.all()[0], slotB.all()[0])
}

/// Results written by concurrent workers, each to its own index, under a lock.
private final class Slots<T: Sendable>: @unchecked Sendable {
    private let queue = DispatchQueue(label: "nsaudit.parallel")
    private var items: [T?]
    init(_ n: Int) { items = Array(repeating: nil, count: n) }
    func set(_ i: Int, _ x: T) { queue.sync { items[i] = x } }
    func all() -> [T] { queue.sync { items.map { $0! } } }
}

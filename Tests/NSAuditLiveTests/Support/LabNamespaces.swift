import Foundation
import Glibc
import Testing

/// Namespaces created by one test, under a prefix unique to this process and test; deleted
/// when the value goes away (also when the test fails).
final class LabNamespaces {
    let prefix: String
    private(set) var created: [String] = []
    private static let counter = Counter()

    init(_ tag: String) {
        prefix = "nsat\(getpid())-\(LabNamespaces.counter.next())\(tag)-"
    }

    /// Creates `prefix+role` with lo up and returns its name.
    @discardableResult
    func add(_ role: String) throws -> String {
        let name = prefix + role
        try Live.sh("ip netns add \(name) && ip -n \(name) link set lo up")
        created.append(name)
        return name
    }

    func name(_ role: String) -> String { prefix + role }

    deinit {
        for n in created { _ = try? Live.sh("ip netns del \(n)") }
    }

    final class Counter: @unchecked Sendable {
        private var v = 0
        private let lock = NSLock()
        func next() -> Int { lock.lock(); defer { lock.unlock() }; v += 1; return v }
    }
}

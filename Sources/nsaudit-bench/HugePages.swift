import Foundation
import Glibc
import NSAuditCore

/// Backs the model's large lookup arrays with transparent huge pages where the kernel allows
/// it (MADV_HUGEPAGE, then MADV_COLLAPSE): random lookups in million-route tables otherwise
/// spend most of their time in TLB misses. Best effort; failures are ignored.
enum HugePages {
    static func advise(_ model: RoutingModel) {
        let huge = 2 << 20
        model.withLookupStorage { buf in
            guard let base = buf.baseAddress, buf.count >= 2 * huge else { return }
            let start = (Int(bitPattern: base) + huge - 1) & ~(huge - 1)
            let end = (Int(bitPattern: base) + buf.count) & ~(huge - 1)
            guard end > start, let p = UnsafeMutableRawPointer(bitPattern: start) else { return }
            let a = madvise(p, end - start, 14 /* MADV_HUGEPAGE */)
            let b = madvise(p, end - start, 25 /* MADV_COLLAPSE */)
            if ProcessInfo.processInfo.environment["NSAUDIT_DEBUG_HUGEPAGES"] != nil {
                let e = errno
                FileHandle.standardError.write(Data("hugepages: \(end - start) bytes: MADV_HUGEPAGE \(a), MADV_COLLAPSE \(b) errno \(e)\n".utf8))
            }
        }
    }
}

import CNetlink
import Glibc

/// Runs work inside other network namespaces. `setns(2)` changes only the calling thread, so
/// the work runs on dedicated pthreads (never on a Swift concurrency pool thread). Sockets
/// opened there stay in that namespace and may be used from any thread afterwards.
enum NamespaceThread {
    /// Enters the namespace behind `fd` on the current (dedicated) thread.
    static func enter(fd: Int32, path: String) throws {
        guard cnl_setns(fd, cnl_clone_newnet()) == 0 else { throw SystemCallError("setns", subject: path) }
    }

    /// Runs `body(worker)` for `workers` dedicated threads and waits for all of them.
    static func runWorkers(_ workers: Int, _ body: @escaping @Sendable (Int) -> Void) {
        final class Context: @unchecked Sendable {
            let body: @Sendable (Int) -> Void
            let index: Int
            init(_ body: @escaping @Sendable (Int) -> Void, _ index: Int) { self.body = body; self.index = index }
        }
        var threads: [pthread_t] = []
        for i in 0..<max(1, workers) {
            let ctx = Unmanaged.passRetained(Context(body, i)).toOpaque()
            var t = pthread_t()
            let r = pthread_create(&t, nil, { raw in
                let c = Unmanaged<Context>.fromOpaque(raw!).takeRetainedValue()
                c.body(c.index)
                return nil
            }, ctx)
            if r == 0 {
                threads.append(t)
            } else {
                // No thread could be made: run inline would setns the caller; do it on the
                // caller only if it is the sole worker, else drop to fewer workers.
                Unmanaged<Context>.fromOpaque(ctx).release()
            }
        }
        for t in threads { pthread_join(t, nil) }
    }
}

import Glibc

/// An exclusive advisory lock (flock) on a lock file, so two overlapping runs (cron) do not
/// interleave their work; released when the value goes away.
public final class FileLock {
    private let fd: Int32
    public let path: String

    /// Waits up to `timeout` seconds for the lock.
    public init(path: String, timeout: Double) throws {
        self.path = path
        let f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard f >= 0 else { throw SystemError("open lock file", subject: path) }
        let deadline = Double(time(nil)) + timeout
        while flock(f, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK, Double(time(nil)) < deadline else {
                let e = SystemError("lock (another nsaudit run holds it)", subject: path)
                close(f)
                throw e
            }
            usleep(100_000)
        }
        fd = f
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

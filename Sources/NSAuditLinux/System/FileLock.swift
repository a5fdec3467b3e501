import Glibc
import SystemPackage

/// An exclusive advisory lock (flock) on a lock file, so two overlapping runs (cron) do not
/// interleave their work; released when the value goes away.
public final class FileLock {
    private let fd: FileDescriptor
    public let path: String

    /// Waits up to `timeout` seconds for the lock.
    public init(path: String, timeout: Double) throws {
        self.path = path
        let f: FileDescriptor
        do {
            f = try FileDescriptor.open(FilePath(path), .readWrite, options: [.create, .closeOnExec],
                                        permissions: [.ownerReadWrite, .groupRead, .otherRead])
        } catch {
            throw SystemCallError("open lock file", errno: error as? Errno ?? .ioError, subject: path)
        }
        let deadline = Double(time(nil)) + timeout
        while case .failure(let e) = retryingInterrupts({ flock(f.rawValue, LOCK_EX | LOCK_NB) }) {
            guard e == .wouldBlock, Double(time(nil)) < deadline else {
                try? f.close()
                throw SystemCallError("lock (another nsaudit run holds it)", errno: e, subject: path)
            }
            usleep(100_000)
        }
        fd = f
    }

    deinit {
        flock(fd.rawValue, LOCK_UN)
        try? fd.close()
    }
}

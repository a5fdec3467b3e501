import Glibc

/// A failed system call: which call, on what, and the errno.
public struct SystemError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let errno: Int32
    public let subject: String?

    public init(_ call: String, errno: Int32 = Glibc.errno, subject: String? = nil) {
        self.call = call; self.errno = errno; self.subject = subject
    }

    /// The symbolic name (ENOENT, EPERM, ...) for the errnos nsaudit reports.
    public var name: String { ErrnoName.name(errno) }

    public var description: String {
        let what = subject.map { " \($0)" } ?? ""
        return "\(call)\(what): \(String(cString: strerror(errno))) (\(name))"
    }
}

public enum ErrnoName {
    public static func name(_ e: Int32) -> String {
        switch e {
        case EPERM: "EPERM"; case ENOENT: "ENOENT"; case ESRCH: "ESRCH"; case EINTR: "EINTR"
        case EIO: "EIO"; case EBADF: "EBADF"; case EAGAIN: "EAGAIN"; case ENOMEM: "ENOMEM"
        case EACCES: "EACCES"; case EBUSY: "EBUSY"; case EEXIST: "EEXIST"; case EXDEV: "EXDEV"
        case ENODEV: "ENODEV"; case EINVAL: "EINVAL"; case ENOSPC: "ENOSPC"; case ERANGE: "ERANGE"
        case ENETDOWN: "ENETDOWN"; case ENETUNREACH: "ENETUNREACH"; case EHOSTUNREACH: "EHOSTUNREACH"
        case EOPNOTSUPP: "EOPNOTSUPP"; case EAFNOSUPPORT: "EAFNOSUPPORT"; case ENOBUFS: "ENOBUFS"
        case EPROTONOSUPPORT: "EPROTONOSUPPORT"; case ENOTSUP: "ENOTSUP"
        default: "E\(e)"
        }
    }
}

/// Retries a call interrupted by a signal.
@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ body: () -> T) -> T {
    while true {
        let r = body()
        if r >= 0 || errno != EINTR { return r }
    }
}

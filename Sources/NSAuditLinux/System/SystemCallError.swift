import Glibc
import SystemPackage

/// A failed system call: what was done, to what (a file, a namespace), and the errno, as
/// `open /run/netns/x: No such file or directory (ENOENT)`.
public struct SystemCallError: Error, CustomStringConvertible, Equatable, Sendable {
    public let call: String
    public let errno: Errno
    public let subject: String?

    /// `errno`: by default the one the failed call left on this thread.
    public init(_ call: String, errno: Errno = .lastCall, subject: String? = nil) {
        self.call = call; self.errno = errno; self.subject = subject
    }

    public var description: String {
        let what = subject.map { " \($0)" } ?? ""
        return "\(call)\(what): \(errno.description) (\(errno.symbolicName))"
    }
}

extension Errno {
    /// The errno the last failed call left on this thread.
    public static var lastCall: Errno { Errno(rawValue: Glibc.errno) }

    /// The symbolic name (ENOENT, EPERM, ...) for the errnos nsaudit reports; `E<number>`
    /// for others. swift-system gives the text (strerror) but not the name.
    public var symbolicName: String {
        switch rawValue {
        case Glibc.EPERM: "EPERM"; case Glibc.ENOENT: "ENOENT"; case Glibc.ESRCH: "ESRCH"; case Glibc.EINTR: "EINTR"
        case Glibc.EIO: "EIO"; case Glibc.EBADF: "EBADF"; case Glibc.EAGAIN: "EAGAIN"; case Glibc.ENOMEM: "ENOMEM"
        case Glibc.EACCES: "EACCES"; case Glibc.EBUSY: "EBUSY"; case Glibc.EEXIST: "EEXIST"; case Glibc.EXDEV: "EXDEV"
        case Glibc.ENODEV: "ENODEV"; case Glibc.ENOTDIR: "ENOTDIR"; case Glibc.EISDIR: "EISDIR"; case Glibc.EINVAL: "EINVAL"
        case Glibc.EMFILE: "EMFILE"; case Glibc.ENFILE: "ENFILE"; case Glibc.ENOSPC: "ENOSPC"; case Glibc.EROFS: "EROFS"
        case Glibc.EPIPE: "EPIPE"; case Glibc.ERANGE: "ERANGE"; case Glibc.EPROTO: "EPROTO"
        case Glibc.ENETDOWN: "ENETDOWN"; case Glibc.ENETUNREACH: "ENETUNREACH"; case Glibc.EHOSTUNREACH: "EHOSTUNREACH"
        case Glibc.EOPNOTSUPP: "EOPNOTSUPP"; case Glibc.EAFNOSUPPORT: "EAFNOSUPPORT"; case Glibc.ENOBUFS: "ENOBUFS"
        case Glibc.EPROTONOSUPPORT: "EPROTONOSUPPORT"
        default: "E\(rawValue)"
        }
    }
}

/// Runs a system call until a signal no longer interrupts it: its result, or the errno.
/// For the calls swift-system has no wrapper for (sockets, flock, fsync).
@inline(__always)
func retryingInterrupts<T: FixedWidthInteger>(_ body: () -> T) -> Result<T, Errno> {
    while true {
        let r = body()
        if r >= 0 { return .success(r) }
        let e = Errno.lastCall
        if e != .interrupted { return .failure(e) }
    }
}

/// The process's standard output and standard error as swift-system descriptors: whole
/// writes, retried when a signal interrupts them, and an error that says which stream.
public enum StandardStream: Sendable {
    case output, error

    public var descriptor: FileDescriptor { self == .output ? .standardOutput : .standardError }
    public var name: String { self == .output ? "standard output" : "standard error" }

    /// Writes every byte (throws `SystemCallError`).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try descriptor.writeAll(bytes, naming: name)
    }

    public func write<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
        let done: Void? = try bytes.withContiguousStorageIfAvailable { try write(UnsafeRawBufferPointer($0)) }
        if done == nil { try Array(bytes).withUnsafeBytes { try write($0) } }
    }

    public func write(_ s: String) throws { try write(Array(s.utf8)) }
}

extension FileDescriptor {
    /// swift-system's `writeAll` (every byte, retried on EINTR), its error naming the file.
    func writeAll(_ bytes: UnsafeRawBufferPointer, naming name: String) throws {
        do { _ = try writeAll(bytes) } catch {
            throw SystemCallError("write", errno: error as? Errno ?? .ioError, subject: name)
        }
    }
}

import CNetlink
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

    /// The symbolic name (ENOENT, EROFS, ...), glibc's (strerrorname_np) for every errno it
    /// knows; `errno <number>` for one it does not. swift-system gives the text (strerror)
    /// but not the name. Every errno nsaudit shows goes through here (SystemCallError).
    public var symbolicName: String {
        guard let p = cnl_errno_name(rawValue) else { return "errno \(rawValue)" }
        return String(cString: p)
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

import Glibc
import SystemPackage

/// Where a command's result goes: stdout, or a file written atomically (a temporary file in
/// the same directory, fsync, rename), so a reader never sees half a file and a failed run
/// leaves the previous file in place. A target that exists and is not a regular file (a
/// device such as /dev/null, a FIFO) is written in place: renaming over it would replace it.
public final class OutputFile {
    private let fd: FileDescriptor
    private let path: String?
    private let tempPath: String?
    private let ownsFD: Bool
    private var committed = false

    /// `path` nil or "-" means standard output.
    public init(path: String?) throws {
        var st = stat()
        if let path, path != "-", stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            do {
                fd = try FileDescriptor.open(FilePath(path), .writeOnly, options: [.closeOnExec])
            } catch {
                throw SystemCallError("open for writing", errno: error as? Errno ?? .ioError, subject: path)
            }
            self.path = path
            tempPath = nil
            ownsFD = true
        } else if var path, path != "-" {
            // Write next to the real file when the name is a symbolic link, and keep the link.
            if let real = realpath(path, nil) { path = String(cString: real); free(real) }
            let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            var template = Array("\(dir.isEmpty ? "/" : dir)/.\(path.split(separator: "/").last ?? "out").XXXXXX".utf8CString)
            // mkstemp: swift-system has no temporary-file call.
            let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard f >= 0 else { throw SystemCallError("create temporary file in", subject: dir) }
            fchmod(f, 0o644)
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            fd = FileDescriptor(rawValue: f)
            self.path = path
            tempPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            ownsFD = true
        } else {
            fd = .standardOutput
            self.path = nil
            tempPath = nil
            ownsFD = false
        }
    }

    /// Writes every byte (retried when a signal interrupts the write).
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try fd.writeAll($0, naming: path ?? "standard output") }
    }

    public func write(_ s: String) throws { try write(Array(s.utf8)) }

    /// Makes the file visible under its name (no-op for stdout).
    public func commit() throws {
        guard let path, let tempPath else { return }
        if case .failure(let e) = retryingInterrupts({ fsync(fd.rawValue) }) { throw SystemCallError("fsync", errno: e, subject: tempPath) }
        guard rename(tempPath, path) == 0 else { throw SystemCallError("rename to", subject: path) }
        committed = true
    }

    deinit {
        if ownsFD { try? fd.close() }
        if let tempPath, !committed { unlink(tempPath) }
    }
}

/// Reads a whole file, with errors that name it.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd: FileDescriptor
    do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
        throw SystemCallError("open", errno: error as? Errno ?? .ioError, subject: path)
    }
    defer { try? fd.close() }
    var st = stat()
    fstat(fd.rawValue, &st)
    var out = [UInt8]()
    out.reserveCapacity(Int(st.st_size) + 1)
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n: Int
        do { n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) } } catch {
            throw SystemCallError("read", errno: error as? Errno ?? .ioError, subject: path)
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

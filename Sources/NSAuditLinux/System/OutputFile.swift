import Glibc

/// Where a command's result goes: stdout, or a file written atomically (a temporary file in
/// the same directory, fsync, rename), so a reader never sees half a file and a failed run
/// leaves the previous file in place. A target that exists and is not a regular file (a
/// device such as /dev/null, a FIFO) is written in place: renaming over it would replace it.
public final class OutputFile {
    private let fd: Int32
    private let path: String?
    private let tempPath: String?
    private let ownsFD: Bool
    private var committed = false

    /// `path` nil or "-" means standard output.
    public init(path: String?) throws {
        var st = stat()
        if let path, path != "-", stat(path, &st) == 0, (st.st_mode & S_IFMT) != S_IFREG {
            let f = open(path, O_WRONLY | O_CLOEXEC)
            guard f >= 0 else { throw SystemError("open for writing", subject: path) }
            fd = f
            self.path = path
            tempPath = nil
            ownsFD = true
        } else if var path, path != "-" {
            // Write next to the real file when the name is a symbolic link, and keep the link.
            if let real = realpath(path, nil) { path = String(cString: real); free(real) }
            let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            var template = Array("\(dir.isEmpty ? "/" : dir)/.\(path.split(separator: "/").last ?? "out").XXXXXX".utf8CString)
            let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard f >= 0 else { throw SystemError("create temporary file in", subject: dir) }
            fchmod(f, 0o644)
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            fd = f
            self.path = path
            tempPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            ownsFD = true
        } else {
            fd = STDOUT_FILENO
            self.path = nil
            tempPath = nil
            ownsFD = false
        }
    }

    public func write(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { p in
                retryingEINTR { Glibc.write(fd, p.baseAddress! + off, p.count - off) }
            }
            guard n > 0 else { throw SystemError("write", subject: path ?? "standard output") }
            off += n
        }
    }

    public func write(_ s: String) throws { try write(Array(s.utf8)) }

    /// Makes the file visible under its name (no-op for stdout).
    public func commit() throws {
        guard let path, let tempPath else { return }
        guard fsync(fd) == 0 else { throw SystemError("fsync", subject: tempPath) }
        guard rename(tempPath, path) == 0 else { throw SystemError("rename to", subject: path) }
        committed = true
    }

    deinit {
        if ownsFD { close(fd) }
        if let tempPath, !committed { unlink(tempPath) }
    }
}

/// Reads a whole file, with errors that name it.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError("open", subject: path) }
    defer { close(fd) }
    var st = stat()
    fstat(fd, &st)
    var out = [UInt8]()
    out.reserveCapacity(Int(st.st_size) + 1)
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = chunk.withUnsafeMutableBytes { p in retryingEINTR { read(fd, p.baseAddress, p.count) } }
        guard n >= 0 else { throw SystemError("read", subject: path) }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

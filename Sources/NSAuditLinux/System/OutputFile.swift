import Glibc
import SystemPackage

/// Where a command's result goes: stdout, or a file written atomically (a temporary file in
/// the same directory, fsync, rename), so a reader never sees half a file and a failed run
/// leaves the previous file in place. A target that exists and is not a regular file (a
/// device such as /dev/null, a FIFO) is written in place: renaming over it would replace it.
///
/// The temporary file is `NAME.nsaudit-tmp.XXXXXX` beside NAME (visible, and not matching
/// `*.prom` or `*.json` globs of readers); it is removed when the run fails, and on SIGINT,
/// SIGTERM and SIGHUP (`TemporaryFiles`); only SIGKILL or a crash can leave it behind. A
/// file that is replaced keeps its owner, group and mode.
public final class OutputFile {
    /// What the temporary file's name adds to the output's.
    public static let temporaryInfix = ".nsaudit-tmp."
    private let fd: FileDescriptor
    private let path: String?
    private let tempPath: String?
    private let ownsFD: Bool
    private var committed = false
    private var slot: Int?

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
            var template = Array("\(dir.isEmpty ? "/" : dir)/\(path.split(separator: "/").last ?? "out")\(Self.temporaryInfix)XXXXXX".utf8CString)
            // mkstemp: swift-system has no temporary-file call.
            let f = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard f >= 0 else { throw SystemCallError("create temporary file in", subject: dir) }
            let temp = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            slot = TemporaryFiles.register(temp)
            // The file replaced keeps its owner and mode; a new one is 0644.
            var old = stat()
            if stat(path, &old) == 0 {
                _ = fchown(f, old.st_uid, old.st_gid)   // only root may give a file away; otherwise ours
                fchmod(f, old.st_mode & 0o7777)
            } else {
                fchmod(f, 0o644)
            }
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
            fd = FileDescriptor(rawValue: f)
            self.path = path
            tempPath = temp
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
        if let slot { TemporaryFiles.unregister(slot); self.slot = nil }
    }

    deinit {
        if ownsFD { try? fd.close() }
        if let tempPath, !committed { unlink(tempPath) }
        if let slot { TemporaryFiles.unregister(slot) }
    }
}

/// Temporary output files to remove if the process is stopped by SIGINT, SIGTERM or SIGHUP
/// before it renames them: the handler unlinks them (unlink is async-signal-safe), restores
/// the default action and raises the signal again, so the process still ends as killed.
/// Installed for a signal only while nothing else handles it (a capture's own Ctrl-C
/// handler stops the capture and lets the run finish, which removes or renames the file).
public enum TemporaryFiles {
    static let capacity = 32
    /// C strings of the registered paths (nil: free slot). A path is never freed once
    /// registered, so the handler cannot read freed memory.
    nonisolated(unsafe) static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let p = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        p.initialize(repeating: nil, count: capacity)
        return p
    }()
    nonisolated(unsafe) static var lock = pthread_mutex_t()
    nonisolated(unsafe) static var installed = false
    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Registers `path`; returns its slot (nil when every slot is taken: then only a normal
    /// end removes it).
    static func register(_ path: String) -> Int? {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        if !installed {
            installed = true
            for s in signals {
                var current = sigaction()
                sigaction(s, nil, &current)
                // Only where the default action (termination) would leave the file behind.
                if current.__sigaction_handler.sa_handler == nil {
                    var act = sigaction()
                    act.__sigaction_handler.sa_handler = { sig in
                        for i in 0..<TemporaryFiles.capacity { if let p = TemporaryFiles.slots[i] { unlink(p) } }
                        signal(sig, SIG_DFL)
                        raise(sig)
                    }
                    sigemptyset(&act.sa_mask)
                    sigaction(s, &act, nil)
                }
            }
        }
        for i in 0..<capacity where slots[i] == nil {
            slots[i] = strdup(path)
            return i
        }
        return nil
    }

    static func unregister(_ slot: Int) {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        slots[slot] = nil
    }
}

/// Reads a whole file, with errors that name it.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let fd: FileDescriptor
    do { fd = try FileDescriptor.open(FilePath(path), .readOnly, options: [.closeOnExec]) } catch {
        throw SystemCallError("open", errno: error as? Errno ?? .ioError, subject: path)
    }
    defer { try? fd.close() }
    return try readToEnd(fd, naming: path)
}

/// Reads standard input to its end (`-` for a file argument), with errors that name it.
public func readStandardInput() throws -> [UInt8] {
    try readToEnd(.standardInput, naming: "standard input")
}

/// Everything left to read from `fd` (retried when a signal interrupts a read).
private func readToEnd(_ fd: FileDescriptor, naming name: String) throws -> [UInt8] {
    var st = stat()
    fstat(fd.rawValue, &st)
    // Straight into the array's storage, the size fstat gave and one byte more (a big
    // snapshot is copied once, from the page cache, not through a staging buffer); then on in
    // pieces for a file that has no size (a pipe, /proc) or grew since.
    var failure: (any Error)?
    var eof = false
    var out = [UInt8](unsafeUninitializedCapacity: max(Int(st.st_size), 0) + 1) { buf, count in
        while count < buf.count {
            let n: Int
            do { n = try fd.read(into: UnsafeMutableRawBufferPointer(UnsafeMutableBufferPointer(rebasing: buf[count...]))) } catch {
                failure = error
                return
            }
            if n == 0 { eof = true; return }
            count += n
        }
    }
    if let failure { throw SystemCallError("read", errno: failure as? Errno ?? .ioError, subject: name) }
    if !eof {
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n: Int
            do { n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0) } } catch {
                throw SystemCallError("read", errno: error as? Errno ?? .ioError, subject: name)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
    }
    return out
}

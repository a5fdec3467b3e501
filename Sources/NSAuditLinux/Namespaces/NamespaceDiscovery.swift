import Glibc
import NSAuditCore
import SystemPackage

/// A network namespace found on the host, before it is entered.
public struct NamespaceCandidate: Sendable {
    public var id: String
    public var names: [String]
    public var inode: UInt64
    public var foundBy: [Discovery]
    /// The path to open to enter it, as text (escaped when the name is not valid UTF-8:
    /// see `DirectoryName`).
    public var path: String
    /// The path's bytes when they are not valid UTF-8 (`path` is then only for display).
    public var rawPath: [UInt8]?

    /// Opens the namespace (O_RDONLY | O_CLOEXEC) by its real path: a descriptor or -1 and errno.
    public func open() -> Int32 {
        guard let rawPath else { return Glibc.open(path, O_RDONLY | O_CLOEXEC) }
        return (rawPath + [0]).withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { Glibc.open($0.baseAddress!, O_RDONLY | O_CLOEXEC) }
        }
    }
}

/// A directory entry's name. Linux names are bytes: one that is not valid UTF-8 (a namespace
/// created as `ip netns add $'\xff'`) is shown with its bytes escaped, `\xHH` for each byte
/// that is not part of valid UTF-8 and a backslash doubled (as `String.terminalEscaped`
/// writes control characters), and opened by its raw bytes, never skipped.
struct DirectoryName {
    let bytes: [UInt8]
    /// The name as text: itself when valid UTF-8, escaped otherwise.
    let text: String
    var isValidUTF8: Bool { String(validating: bytes, as: UTF8.self) != nil }

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        if let s = String(validating: bytes, as: UTF8.self) { text = s } else { text = Self.escaped(bytes) }
    }

    static func escaped(_ bytes: [UInt8]) -> String {
        var out = ""
        var i = 0
        while i < bytes.count {
            // the valid UTF-8 sequence starting here (1 to 4 bytes), else one byte escaped
            var taken = 0
            for len in 1...4 where i + len <= bytes.count {
                if let s = String(validating: bytes[i..<(i + len)], as: UTF8.self), s.unicodeScalars.count == 1 {
                    out += s == "\\" ? "\\\\" : s; taken = len; break
                }
            }
            if taken == 0 {
                let h = String(bytes[i], radix: 16)
                out += "\\x" + (h.count < 2 ? "0" : "") + h
                taken = 1
            }
            i += taken
        }
        return out
    }
}

/// Finds every network namespace of the host once, deduplicated by nsfs inode: the root
/// namespace, `ip netns` names (/run/netns), Docker's (/run/docker/netns), and namespaces
/// only held by processes (/proc/PID/ns/net).
public enum NamespaceDiscovery {
    public static let namedDir = "/run/netns"
    public static let dockerDir = "/run/docker/netns"

    /// What discovery found: the namespaces, and the entries of the namespace directories it
    /// could not stat (gone meanwhile, unreadable), which the collector records with the
    /// reason: nothing is skipped silently.
    public struct Found: Sendable {
        public var candidates: [NamespaceCandidate]
        public var unreadable: [Unreadable]
    }

    public struct Unreadable: Sendable {
        public var id: String
        public var name: String
        public var discovery: Discovery
        public var error: SystemCallError
    }

    public static func discover(includeProcesses: Bool = true) -> [NamespaceCandidate] {
        discoverAll(includeProcesses: includeProcesses).candidates
    }

    public static func discoverAll(includeProcesses: Bool = true, namedDir: String = namedDir, dockerDir: String = dockerDir) -> Found {
        var byInode: [UInt64: NamespaceCandidate] = [:]
        var order: [UInt64] = []
        var unreadable: [Unreadable] = []
        func add(_ inode: UInt64, _ d: Discovery, name: String?, path: String, id: String, rawPath: [UInt8]? = nil) {
            if var c = byInode[inode] {
                c.foundBy.append(d)
                if let name, !c.names.contains(name) { c.names.append(name) }
                // A name beats a process label; "root" stays "root".
                if c.id.hasPrefix("pid:"), d.kind == .named || d.kind == .docker { c.id = id; c.path = path; c.rawPath = rawPath }
                byInode[inode] = c
            } else {
                byInode[inode] = NamespaceCandidate(id: id, names: name.map { [$0] } ?? [], inode: inode, foundBy: [d], path: path,
                                                    rawPath: rawPath)
                order.append(inode)
            }
        }
        /// Every entry of a namespace directory, by its raw name.
        func scan(_ dir: String, _ kind: Discovery.Kind, id: (String) -> String) {
            for entry in listDirectoryBytes(dir).sorted(by: { $0.bytes.lexicographicallyPrecedes($1.bytes) }) {
                let path = "\(dir)/\(entry.text)"
                let raw = entry.isValidUTF8 ? nil : Array(dir.utf8) + [UInt8(ascii: "/")] + entry.bytes
                switch inode(ofBytes: raw ?? Array(path.utf8)) {
                case .success(let ino):
                    add(ino, Discovery(kind: kind, path: path), name: entry.text, path: path, id: id(entry.text), rawPath: raw)
                case .failure(let e):
                    unreadable.append(Unreadable(id: id(entry.text), name: entry.text, discovery: Discovery(kind: kind, path: path),
                                                 error: SystemCallError("stat", errno: e, subject: path)))
                }
            }
        }
        // The root namespace is init's. Inside a container (or a sandbox that hides pid 1)
        // it cannot be read; then nsaudit's own namespace stands in as "root".
        if let ino = inode(of: "/proc/1/ns/net") {
            add(ino, Discovery(kind: .root, path: "/proc/1/ns/net", pid: 1), name: nil, path: "/proc/1/ns/net", id: "root")
        } else if let ino = inode(of: "/proc/self/ns/net") {
            add(ino, Discovery(kind: .root, path: "/proc/self/ns/net", pid: getpid()), name: nil,
                path: "/proc/self/ns/net", id: "root")
        }
        scan(namedDir, .named) { $0 }
        scan(dockerDir, .docker) { "docker:\($0)" }
        if includeProcesses {
            let pids = listDirectory("/proc").compactMap { Int32($0) }.sorted()
            for pid in pids {
                let path = "/proc/\(pid)/ns/net"
                guard let ino = linkInode(path), byInode[ino] == nil else { continue }
                let comm = readSmallFile("/proc/\(pid)/comm")?.trimmingTrailingNewline() ?? "?"
                add(ino, Discovery(kind: .process, path: path, pid: pid, comm: comm), name: nil, path: path,
                    id: "pid:\(pid):\(comm)")
            }
        }
        var candidates = order.compactMap { byInode[$0] }
        // Ids are unique: an escaped name that reads like another namespace's gets its inode.
        var seen = Set<String>()
        for i in candidates.indices {
            if seen.contains(candidates[i].id) { candidates[i].id += "#\(candidates[i].inode)" }
            seen.insert(candidates[i].id)
        }
        return Found(candidates: candidates, unreadable: unreadable)
    }

    static func inode(of path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }

    static func inode(ofBytes path: [UInt8]) -> Result<UInt64, Errno> {
        var st = stat()
        let r = (path + [0]).withUnsafeBufferPointer { b in b.withMemoryRebound(to: CChar.self) { stat($0.baseAddress!, &st) } }
        return r == 0 ? .success(UInt64(st.st_ino)) : .failure(.lastCall)
    }

    /// Reads "net:[4026531840]" from a /proc/PID/ns/net link without following it.
    static func linkInode(_ path: String) -> UInt64? {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink(path, &buf, buf.count - 1)
        guard n > 0 else { return nil }
        let s = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard s.hasPrefix("net:["), s.hasSuffix("]") else { return nil }
        return UInt64(s.dropFirst(5).dropLast())
    }
}

func listDirectory(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    return directoryEntries(dir)
}

/// Entry names of a directory as bytes (without "." and ".."); none when it cannot be opened.
func listDirectoryBytes(_ path: String) -> [DirectoryName] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var out: [DirectoryName] = []
    while let e = readdir(dir) {
        let bytes = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: UInt8.self, capacity: 256) { p in Array(UnsafeBufferPointer(start: p, count: strlen(UnsafeRawPointer(p).assumingMemoryBound(to: CChar.self)))) }
        }
        if bytes != [46] && bytes != [46, 46] { out.append(DirectoryName(bytes)) }
    }
    return out
}

/// Entry names of an open DIR stream (without "." and ".."), closing it.
func directoryEntries(_ dir: OpaquePointer) -> [String] {
    defer { closedir(dir) }
    var out: [String] = []
    while let e = readdir(dir) {
        let name = withUnsafePointer(to: e.pointee.d_name) {
            $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name != "." && name != ".." { out.append(name) }
    }
    return out
}

/// Reads a small text file (sysctl, /proc) with one read(2) of at most `limit` bytes; nil if
/// it cannot be opened.
func readSmallFile(_ path: String, limit: Int = 256) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: limit)
    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, limit) }
    guard n >= 0 else { return nil }
    return String(decoding: buf[0..<n], as: UTF8.self)
}

extension String {
    func trimmingTrailingNewline() -> String {
        var s = self
        while s.last == "\n" || s.last == " " { s.removeLast() }
        return s
    }
}

import Glibc
import NSAuditCore

/// A network namespace found on the host, before it is entered.
public struct NamespaceCandidate: Sendable {
    public var id: String
    public var names: [String]
    public var inode: UInt64
    public var foundBy: [Discovery]
    /// The path to open to enter it.
    public var path: String
}

/// Finds every network namespace of the host once, deduplicated by nsfs inode: the root
/// namespace, `ip netns` names (/run/netns), Docker's (/run/docker/netns), and namespaces
/// only held by processes (/proc/PID/ns/net).
public enum NamespaceDiscovery {
    public static let namedDir = "/run/netns"
    public static let dockerDir = "/run/docker/netns"

    public static func discover(includeProcesses: Bool = true) -> [NamespaceCandidate] {
        var byInode: [UInt64: NamespaceCandidate] = [:]
        var order: [UInt64] = []
        func add(_ inode: UInt64, _ d: Discovery, name: String?, path: String, id: String) {
            if var c = byInode[inode] {
                c.foundBy.append(d)
                if let name, !c.names.contains(name) { c.names.append(name) }
                // A name beats a process label; "root" stays "root".
                if c.id.hasPrefix("pid:"), d.kind == .named || d.kind == .docker { c.id = id; c.path = path }
                byInode[inode] = c
            } else {
                byInode[inode] = NamespaceCandidate(id: id, names: name.map { [$0] } ?? [], inode: inode, foundBy: [d], path: path)
                order.append(inode)
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
        for name in listDirectory(namedDir).sorted() {
            let path = "\(namedDir)/\(name)"
            if let ino = inode(of: path) {
                add(ino, Discovery(kind: .named, path: path), name: name, path: path, id: name)
            }
        }
        for name in listDirectory(dockerDir).sorted() {
            let path = "\(dockerDir)/\(name)"
            if let ino = inode(of: path) {
                add(ino, Discovery(kind: .docker, path: path), name: name, path: path, id: "docker:\(name)")
            }
        }
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
        return order.compactMap { byInode[$0] }
    }

    static func inode(of path: String) -> UInt64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
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

/// Reads a small text file (sysctl, /proc) with one read(2); nil if it cannot be opened.
func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var buf = [UInt8](repeating: 0, count: 256)
    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, 256) }
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

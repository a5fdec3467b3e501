import CNetlink
import FoundationEssentials
import Glibc
import NSAuditCore
import SystemPackage

public struct CollectOptions: Sendable {
    /// Restrict to these namespaces (names as `ip netns list` shows them, Docker names, or
    /// snapshot ids). Empty: every namespace of the host.
    public var netns: [String]
    /// Include the root namespace. nil: yes when `netns` is empty, no otherwise.
    public var includeRoot: Bool?
    /// Record TCP/UDP sockets (sock_diag).
    public var sockets: Bool
    /// Worker threads (each enters namespaces one after the other).
    public var workers: Int

    public init(netns: [String] = [], includeRoot: Bool? = nil, sockets: Bool = true, workers: Int = 2) {
        self.netns = netns; self.includeRoot = includeRoot; self.sockets = sockets; self.workers = workers
    }
}

public enum CollectError: Error, CustomStringConvertible {
    case unknownNamespace(String, known: [String])
    public var description: String {
        switch self {
        case .unknownNamespace(let n, let known):
            "no network namespace named \"\(n)\" (known: \(known.isEmpty ? "none" : known.joined(separator: ", "))); `ip netns list` shows the named ones"
        }
    }
}

/// Snapshots namespaces over rtnetlink: discovery, then one dedicated thread per worker that
/// enters each namespace in turn (setns), dumps links, addresses, rules, routes, nexthops,
/// sockets, neighbours and bridge FDBs, reads the routing sysctls and which netfilter tables
/// exist; finally peer namespaces of veth links are resolved.
public enum Collector {
    public static let maxDumpAttempts = 4

    /// `discovered`: the namespaces found by an earlier `NamespaceDiscovery.discover()` (the
    /// default discovers now). Ones that are gone by the time they are entered are recorded
    /// as vanished.
    public static func collect(_ options: CollectOptions, discovered: [NamespaceCandidate]? = nil,
                               progress: (@Sendable (String) -> Void)? = nil) throws -> Snapshot {
        let found = discovered.map { NamespaceDiscovery.Found(candidates: $0, unreadable: []) } ?? NamespaceDiscovery.discoverAll()
        let all = found.candidates
        var chosen: [NamespaceCandidate]
        // Directory entries discovery could not stat, recorded with the reason.
        var unreadable: [NamespaceSnapshot] = []
        if options.netns.isEmpty {
            chosen = all.filter { options.includeRoot != false || $0.id != "root" }
            for u in found.unreadable {
                var ns = NamespaceSnapshot(id: u.id, names: [u.name], inode: 0, foundBy: [u.discovery])
                ns.status = status(for: u.error.errno, gone: u.error.errno == .noSuchFileOrDirectory)
                ns.error = u.error.description
                unreadable.append(ns)
            }
        } else {
            chosen = []
            for want in options.netns {
                guard let c = all.first(where: { $0.id == want || $0.names.contains(want) }) else {
                    throw CollectError.unknownNamespace(want, known: all.flatMap { $0.names })
                }
                if !chosen.contains(where: { $0.inode == c.inode }) { chosen.append(c) }
            }
            if options.includeRoot == true, let root = all.first(where: { $0.id == "root" }),
               !chosen.contains(where: { $0.inode == root.inode }) {
                chosen.insert(root, at: 0)
            }
        }
        progress?("collecting \(chosen.count) namespace(s)")

        let results = UnsafeMutableBufferPointer<NamespaceResult>.allocate(capacity: chosen.count)
        results.initialize(repeating: NamespaceResult())
        defer { results.deinitialize(); results.deallocate() }
        // Open every namespace from the main thread first: a missing one is "vanished".
        var fds = [Int32](repeating: -1, count: chosen.count)
        for (i, c) in chosen.enumerated() {
            var ns = NamespaceSnapshot(id: c.id, names: c.names, inode: c.inode, foundBy: c.foundBy)
            let fd = c.open()
            if fd < 0 {
                let err = SystemCallError("open", subject: c.path)
                ns.status = status(for: err.errno, gone: isGone(c))
                ns.error = err.description
            } else if let ino = NamespaceDiscovery.fdInode(fd), ino != c.inode {
                // The name now points at another namespace: the one we discovered is gone.
                ns.status = .vanished
                ns.error = "\(c.path) now refers to another namespace (inode \(ino))"
                close(fd)
            } else {
                fds[i] = fd
            }
            results[i].snapshot = ns
        }
        defer { for fd in fds where fd >= 0 { close(fd) } }

        let total = chosen.count
        let fdsCopy = fds
        let paths = chosen.map { $0.path }
        let candidates = chosen
        let shared = SharedResults(results)
        let withSockets = options.sockets
        let nftables = NetfilterProbe.nftablesAvailability()
        let workers = max(1, min(options.workers, total))
        let done = Counter()
        NamespaceThread.runWorkers(workers) { w in
            var i = w
            while i < total {
                let fd = fdsCopy[i]
                if fd >= 0 {
                    collectOne(&shared.results[i], fd: fd, path: paths[i], sockets: withSockets, nftables: nftables)
                    // A failure because the namespace went away meanwhile (deleted mid-dump)
                    // is "vanished", not an error: checked against its name and inode.
                    if shared.results[i].snapshot.status == .error && isGone(candidates[i]) {
                        shared.results[i].snapshot.status = .vanished
                        shared.results[i].snapshot.error = (shared.results[i].snapshot.error ?? "")
                            + "; \(candidates[i].path) no longer names namespace inode \(candidates[i].inode)"
                    }
                }
                let n = done.increment()
                if let progress, total >= 20, n % 50 == 0 || n == total { progress("\(n)/\(total) namespaces") }
                i += workers
            }
        }

        // Resolve veth peers: which namespace does each link-netnsid name?
        resolvePeers(results, fds: fds, candidates: chosen)

        let release = kernelRelease()
        var snap = Snapshot(generator: NSAuditInfo.generator, host: hostName(), kernel: release,
                            takenAt: isoNow(), kernelFacts: probeKernelFacts(release: release),
                            namespaces: results.map { $0.snapshot } + unreadable)
        snap.metadata = SnapshotMetadata(source: "kernel")
        return snap
    }


    /// The status of a namespace that could not be opened or entered: vanished when it is
    /// gone, denied for a permission error, error otherwise.
    static func status(for errno: Errno, gone: Bool) -> NamespaceSnapshot.Status {
        if gone || errno == .noSuchFileOrDirectory || errno == .noSuchProcess { return .vanished }
        if errno == .permissionDenied || errno == .notPermitted { return .denied }
        return .error
    }

    /// Whether the namespace discovery found is gone: its path no longer exists or names
    /// another namespace (another nsfs inode), or its process exited.
    public static func isGone(_ c: NamespaceCandidate) -> Bool {
        let fd = c.open()
        if fd < 0 { return Errno.lastCall == .noSuchFileOrDirectory || Errno.lastCall == .noSuchProcess }
        defer { close(fd) }
        return NamespaceDiscovery.fdInode(fd) != c.inode
    }

    /// Dumps one namespace on the current worker thread (after entering it).
    static func collectOne(_ r: inout NamespaceResult, fd: Int32, path: String, sockets: Bool,
                           nftables: NetfilterProbe.NftablesAvailability = .ask) {
        do {
            try NamespaceThread.enter(fd: fd, path: path)
        } catch let e as SystemCallError {
            r.snapshot.status = [.notPermitted, .permissionDenied].contains(e.errno) ? .denied : .error
            r.snapshot.error = e.description + (e.errno == .notPermitted ? "; run nsaudit as root (CAP_SYS_ADMIN) to enter other namespaces" : "")
            return
        } catch { return }
        do {
            let nl = try NetlinkSocket()
            var attempt = 0
            var deviceSysctls = DeviceSysctls()
            while true {
                attempt += 1
                var ns = r.snapshot
                var interrupted = false
                let l = try nl.dumpLinks(); ns.links = l.links; interrupted = interrupted || l.outcome.interrupted
                deviceSysctls = l.sysctls
                let a = try nl.dumpAddresses(); ns.addresses = a.addresses; interrupted = interrupted || a.outcome.interrupted
                var rules: [Rule] = []
                for fam in [IPAddress.Family.v4, .v6] {
                    let x = try nl.dumpRules(family: fam); rules += x.rules; interrupted = interrupted || x.outcome.interrupted
                }
                ns.rules = rules
                let routes = RouteChunks()
                for fam in [IPAddress.Family.v4, .v6] {
                    let o = try nl.dumpRoutes(family: fam, into: routes); interrupted = interrupted || o.interrupted
                }
                ns.routes = routes.array()
                let n = try nl.dumpNexthops(); ns.nexthops = n.nexthops; interrupted = interrupted || n.outcome.interrupted
                if !interrupted || attempt >= maxDumpAttempts {
                    ns.consistent = !interrupted
                    ns.dumpRetries = attempt - 1
                    r.snapshot = ns
                    break
                }
            }
            r.snapshot.settings = RoutingSysctls.read(devices: deviceSysctls, linkNames: r.snapshot.links.map { $0.name })
            if sockets {
                // A TCP dump walks the host-wide established hash (262,144 buckets here, ~2-4 ms
                // even for a namespace without sockets); the namespace's own counters in
                // /proc/thread-self/net/sockstat{,6} say which dumps can find anything.
                let inUse = SocketsInUse.read()
                var socks: [Socket] = []
                if inUse.any {
                    let diag = try NetlinkSocket(protocol: NETLINK_SOCK_DIAG)
                    for fam in [IPAddress.Family.v4, .v6] {
                        for proto in [IPProto.tcp, IPProto.udp] where inUse.mayHave(fam, proto) {
                            try diag.dumpSockets(family: fam, protocol: proto, into: &socks)
                        }
                    }
                }
                r.snapshot.sockets = socks
            }
            // Link-layer state for tracing: not part of the consistent routing dump above
            // (neighbour entries change with traffic; a trace reads them as hints).
            r.snapshot.neighbors = try nl.dumpNeighbors().neighbors
            r.snapshot.fdb = try nl.dumpFDB().entries
            r.snapshot.netfilter = NetfilterProbe.read(nftables: nftables)
            if r.snapshot.links.contains(where: { $0.linkNetnsid != nil }) { r.socket = nl }
        } catch let e as SystemCallError {
            r.snapshot.status = .error
            r.snapshot.error = e.description
        } catch {
            r.snapshot.status = .error
            r.snapshot.error = "\(error)"
        }
    }

    /// Maps each link-netnsid to a namespace of the snapshot with RTM_GETNSID, trying the
    /// likeliest namespace first (the one holding a link that points back at this one).
    static func resolvePeers(_ results: UnsafeMutableBufferPointer<NamespaceResult>, fds: [Int32], candidates: [NamespaceCandidate]) {
        // (peer ifindex, pointing-back ifindex) → namespaces holding such a link
        var linkOwners: [Int64: [Int]] = [:]
        for i in results.indices {
            for l in results[i].snapshot.links where l.linkNetnsid != nil {
                if let peer = l.link { linkOwners[key(l.index, peer), default: []].append(i) }
            }
        }
        for i in results.indices {
            guard let sock = results[i].socket else { continue }
            var map: [Int32: String] = [:]
            var needed = Set(results[i].snapshot.links.compactMap { $0.linkNetnsid }.filter { $0 >= 0 })
            // Likely candidates first, then everyone else.
            var order: [Int] = []
            for l in results[i].snapshot.links {
                if let peer = l.link, l.linkNetnsid != nil { order += linkOwners[key(peer, l.index)] ?? [] }
            }
            order += Array(results.indices)
            var tried = Set<Int>()
            for j in order where !needed.isEmpty && j != i && fds[j] >= 0 && !tried.contains(j) {
                tried.insert(j)
                if let id = try? sock.nsid(of: fds[j]), needed.contains(id) {
                    map[id] = candidates[j].id
                    needed.remove(id)
                }
            }
            results[i].snapshot.nsids = Dictionary(uniqueKeysWithValues: map.map { (String($0.key), $0.value) })
            for k in results[i].snapshot.links.indices {
                if let id = results[i].snapshot.links[k].linkNetnsid { results[i].snapshot.links[k].peerNetns = map[id] }
            }
            results[i].socket = nil
        }
    }

    private static func key(_ a: Int32, _ b: Int32) -> Int64 { Int64(a) << 32 | Int64(UInt32(bitPattern: b)) }
}

struct NamespaceResult {
    var snapshot = NamespaceSnapshot(id: "")
    /// The namespace's rtnetlink socket, kept while its peers are resolved.
    var socket: NetlinkSocket?
}

/// Worker threads write disjoint slots of one preallocated buffer.
final class SharedResults: @unchecked Sendable {
    let results: UnsafeMutableBufferPointer<NamespaceResult>
    init(_ r: UnsafeMutableBufferPointer<NamespaceResult>) { results = r }
}

final class Counter: @unchecked Sendable {
    private var value = 0
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func increment() -> Int {
        pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }
        value += 1
        return value
    }
}

func hostName() -> String {
    var buf = [CChar](repeating: 0, count: 256)
    gethostname(&buf, 255)
    let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

public func kernelRelease() -> String {
    var u = utsname()
    uname(&u)
    return withUnsafePointer(to: u.release) { $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) } }
}

/// The kernel facts the model depends on (`KernelFacts`), probed on this host. Build options
/// are the same in every namespace, so the process's own namespace answers for all.
public func probeKernelFacts(release: String = kernelRelease()) -> KernelFacts {
    // CONFIG_IPV6_MROUTE registers /proc/net/ip6_mr_vif in every namespace (ip6mr_net_init).
    KernelFacts(release: release, ipv6MulticastRouting: access("/proc/self/net/ip6_mr_vif", F_OK) == 0)
}

func isoNow() -> String {
    Date().formatted(.iso8601)
}

extension NamespaceDiscovery {
    static func fdInode(_ fd: Int32) -> UInt64? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return UInt64(st.st_ino)
    }
}

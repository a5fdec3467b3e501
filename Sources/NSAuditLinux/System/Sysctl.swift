import Glibc

/// Reads the sysctls that steer routing, as the calling thread's namespace sees them
/// (/proc/sys follows the thread's network namespace).
///
/// Every namespace has its own `net/ipv4`, `net/ipv6` (and deeper) sysctl directories, and
/// their dentries hang under one parent with the same name: resolving a path through them
/// compares against the entry of every namespace seen so far (proc_sys_compare, under a
/// spinlock). With 300 namespaces a full path per file cost ~10 µs and the ~80 files of a
/// namespace most of a millisecond, growing with the number of namespaces. So `ipv4` and
/// `ipv6` are resolved once per namespace and every file is opened relative to them.
enum RoutingSysctls {
    static let ipv4PerDevice = ["rp_filter", "src_valid_mark", "accept_local", "arp_ignore",
                                "arp_announce", "arp_filter", "forwarding", "route_localnet",
                                "ignore_routes_with_linkdown", "accept_redirects", "send_redirects"]
    static let ipv6PerDevice = ["forwarding", "disable_ipv6", "ignore_routes_with_linkdown", "accept_ra"]
    /// Position of each `ipv4PerDevice` key in IFLA_INET_CONF: IPV4_DEVCONF_* − 1
    /// (linux/ip.h: FORWARDING 1, ACCEPT_REDIRECTS 4, SEND_REDIRECTS 6, RP_FILTER 8,
    /// ARPFILTER 13, ARP_ANNOUNCE 18, ARP_IGNORE 19, ACCEPT_LOCAL 23, SRC_VMARK 24,
    /// ROUTE_LOCALNET 26, IGNORE_ROUTES_WITH_LINKDOWN 29).
    static let ipv4DevconfIndex: [(String, Int)] = [
        ("rp_filter", 7), ("src_valid_mark", 23), ("accept_local", 22), ("arp_ignore", 18),
        ("arp_announce", 17), ("arp_filter", 12), ("forwarding", 0), ("route_localnet", 25),
        ("ignore_routes_with_linkdown", 28), ("accept_redirects", 3), ("send_redirects", 5),
    ]
    /// Position of each `ipv6PerDevice` key in IFLA_INET6_CONF: DEVCONF_* (linux/ipv6.h:
    /// FORWARDING 0, ACCEPT_RA 3, DISABLE_IPV6 26, IGNORE_ROUTES_WITH_LINKDOWN 39).
    static let ipv6DevconfIndex: [(String, Int)] = [
        ("forwarding", 0), ("disable_ipv6", 26), ("ignore_routes_with_linkdown", 39), ("accept_ra", 3),
    ]
    static let global = ["net/ipv4/ip_forward", "net/ipv4/fib_multipath_hash_policy",
                         "net/ipv4/fib_multipath_use_neigh", "net/ipv4/tcp_l3mdev_accept",
                         "net/ipv4/udp_l3mdev_accept", "net/ipv4/raw_l3mdev_accept",
                         "net/ipv6/fib_multipath_hash_policy"]

    /// The `global` entries under net/ipv4 and net/ipv6: (file relative to that directory,
    /// sysctl(8) name).
    static let globalIPv4 = global.filter { $0.hasPrefix("net/ipv4/") }.map { (String($0.dropFirst(9)), $0.replacingSlashes()) }
    static let globalIPv6 = global.filter { $0.hasPrefix("net/ipv6/") }.map { (String($0.dropFirst(9)), $0.replacingSlashes()) }

    /// `devices`: per-device values already taken from the link dump; only the devices it
    /// does not cover (`all`, `default`, any other) are read from files.
    /// `linkNames`: the namespace's devices from the same link dump; with them the conf
    /// directories are not listed (a listing instantiates a dentry and inode per entry):
    /// their entries are exactly `all`, `default` and the devices.
    static func read(devices: DeviceSysctls = DeviceSysctls(), linkNames: [String]? = nil) -> [String: Int] {
        var out = devices.values
        out.reserveCapacity(out.count + global.count + 2 * ipv4PerDevice.count + 2 * ipv6PerDevice.count)
        for g in global where !g.hasPrefix("net/ipv4/") && !g.hasPrefix("net/ipv6/") {
            if let v = readInt(AT_FDCWD, "/proc/sys/" + g) { out[g.replacingSlashes()] = v }
        }
        for (family, keys) in [("ipv4", ipv4PerDevice), ("ipv6", ipv6PerDevice)] {
            let dir = open("/proc/sys/net/\(family)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { continue }
            defer { close(dir) }
            for (file, key) in family == "ipv4" ? globalIPv4 : globalIPv6 {
                if let v = readInt(dir, file) { out[key] = v }
            }
            let conf = openat(dir, "conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard conf >= 0 else { continue }
            defer { close(conf) }
            let covered = family == "ipv4" ? devices.v4Devices : devices.v6Devices
            let entries = linkNames.map { ["all", "default"] + $0 } ?? listDirectory(at: conf)
            for dev in entries where !covered.contains(dev) {
                let devDir = openat(conf, dev, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard devDir >= 0 else { continue }
                // sysctl(8) shows a device name's own dots as '/'.
                let keyPrefix = "net.\(family).conf.\(String(dev.map { $0 == "." ? "/" : $0 }))."
                for k in keys {
                    if let v = readInt(devDir, k) { out[keyPrefix + k] = v }
                }
                close(devDir)
            }
        }
        return out
    }

    /// An integer sysctl file (trailing spaces and newline allowed); nil for anything else.
    static func readInt(_ dir: Int32, _ rel: String) -> Int? {
        let fd = openat(dir, rel, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buf) { p -> Int? in
            let n = Glibc.read(fd, p.baseAddress, p.count)
            guard n > 0 else { return nil }
            var i = 0
            var negative = false
            if p[0] == UInt8(ascii: "-") { negative = true; i = 1 }
            var value = 0
            var digits = 0
            while i < n, p[i] >= 48, p[i] <= 57 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(p[i] - 48))
                guard !o1, !o2 else { return nil }
                value = a; digits += 1; i += 1
            }
            guard digits > 0 else { return nil }
            while i < n, p[i] == UInt8(ascii: " ") || p[i] == UInt8(ascii: "\n") { i += 1 }
            guard i == n, n < p.count else { return nil }
            return negative ? -value : value
        }
    }

    /// Entry names of an open directory (the descriptor stays open).
    static func listDirectory(at fd: Int32) -> [String] {
        let dupfd = dup(fd)
        guard dupfd >= 0, let dir = fdopendir(dupfd) else { return [] }
        return directoryEntries(dir)
    }
}

extension String {
    /// "net/ipv4/conf/eth0/rp_filter" → "net.ipv4.conf.eth0.rp_filter" (device names with
    /// dots keep them, as sysctl(8) shows them with '/').
    func replacingSlashes() -> String {
        String(self.map { $0 == "/" ? "." : $0 == "." ? "/" : $0 })
    }
}

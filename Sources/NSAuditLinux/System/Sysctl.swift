import Glibc
import NSAuditCore

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
    /// Position of each IPv4 field in IFLA_INET_CONF: IPV4_DEVCONF_* − 1 (linux/ip.h:
    /// FORWARDING 1, ACCEPT_REDIRECTS 4, SEND_REDIRECTS 6, RP_FILTER 8, ARPFILTER 13,
    /// ARP_ANNOUNCE 18, ARP_IGNORE 19, ACCEPT_LOCAL 23, SRC_VMARK 24, ROUTE_LOCALNET 26,
    /// IGNORE_ROUTES_WITH_LINKDOWN 29, BC_FORWARDING 32).
    static let ipv4DevconfIndex: [(WritableKeyPath<RoutingSettings.IPv4Conf, Int?> & Sendable, Int)] = [
        (\.rpFilter, 7), (\.srcValidMark, 23), (\.acceptLocal, 22), (\.arpIgnore, 18),
        (\.arpAnnounce, 17), (\.arpFilter, 12), (\.forwarding, 0), (\.routeLocalnet, 25),
        (\.ignoreRoutesWithLinkdown, 28), (\.acceptRedirects, 3), (\.sendRedirects, 5), (\.bcForwarding, 31),
    ]
    /// Position of each IPv6 field in IFLA_INET6_CONF: DEVCONF_* (linux/ipv6.h: FORWARDING 0,
    /// ACCEPT_RA 3, DISABLE_IPV6 26, USE_OIF_ADDRS_ONLY 37, IGNORE_ROUTES_WITH_LINKDOWN 39,
    /// KEEP_ADDR_ON_DOWN 42).
    static let ipv6DevconfIndex: [(WritableKeyPath<RoutingSettings.IPv6Conf, Int?> & Sendable, Int)] = [
        (\.forwarding, 0), (\.disableIPv6, 26), (\.ignoreRoutesWithLinkdown, 39), (\.acceptRA, 3),
        (\.useOifAddrsOnly, 37), (\.keepAddrOnDown, 42),
    ]

    /// The namespace-wide sysctls under net/ipv4 and net/ipv6: (file relative to that
    /// directory, field).
    static let globalIPv4 = global(under: "net.ipv4.")
    static let globalIPv6 = global(under: "net.ipv6.")
    private static func global(under prefix: String) -> [(String, WritableKeyPath<RoutingSettings, Int?> & Sendable)] {
        RoutingSettings.globalKeys.filter { $0.name.hasPrefix(prefix) }.map { (String($0.name.dropFirst(prefix.count)), $0.field) }
    }

    /// `devices`: per-device values already taken from the link dump; only the `conf`
    /// directories it does not cover (`all`, `default`, any other) are read from files.
    /// `linkNames`: the namespace's devices from the same link dump; with them the conf
    /// directories are not listed (a listing instantiates a dentry and inode per entry):
    /// their entries are exactly `all`, `default` and the devices.
    static func read(devices: DeviceSysctls = DeviceSysctls(), linkNames: [String]? = nil) -> RoutingSettings {
        var out = devices.settings
        for family in ["ipv4", "ipv6"] {
            let dir = open("/proc/sys/net/\(family)", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dir >= 0 else { continue }
            defer { close(dir) }
            for (file, field) in family == "ipv4" ? globalIPv4 : globalIPv6 {
                if let v = readInt(dir, file) { out[keyPath: field] = v }
            }
            let conf = openat(dir, "conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard conf >= 0 else { continue }
            defer { close(conf) }
            let covered = family == "ipv4" ? devices.v4Devices : devices.v6Devices
            let entries = linkNames.map { ["all", "default"] + $0 } ?? listDirectory(at: conf)
            for dev in entries where !covered.contains(dev) {
                // The directory is named after the device, dots and all.
                let devDir = openat(conf, dev, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                guard devDir >= 0 else { continue }
                defer { close(devDir) }
                if family == "ipv4" { out.ipv4[dev] = readConf(devDir) } else { out.ipv6[dev] = readConf(devDir) }
            }
        }
        return out
    }

    /// One `conf` directory's files, those that exist.
    static func readConf<C: ConfDirectory>(_ dir: Int32) -> C {
        var c = C()
        for k in C.keys { c[keyPath: k.field] = readInt(dir, k.name) }
        return c
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

/// The sysctls that steer routing in one namespace, typed: the namespace-wide ones, and the
/// IPv4 and IPv6 `conf` of every device plus `all` and `default`.
///
/// Filled once, when a snapshot is collected or decoded; the FIB model, the analysis and the
/// report read these fields and the effective values below, never sysctl names. The JSON form
/// is the flat `sysctls` object of the snapshot, keyed by sysctl(8) names
/// (`net.ipv4.conf.eth0/100.rp_filter`: a device name's own dots are written '/', as sysctl(8)
/// writes them); `sysctlEntries` and `init(sysctls:)` convert, and only they build or split
/// such names.
public struct RoutingSettings: Sendable, Equatable {
    /// net.ipv4.ip_forward
    public var ipForward: Int?
    /// net.ipv4.fib_multipath_hash_policy
    public var multipathHashPolicy4: Int?
    /// net.ipv4.fib_multipath_use_neigh
    public var multipathUseNeigh4: Int?
    /// net.ipv4.tcp_l3mdev_accept, udp_l3mdev_accept, raw_l3mdev_accept
    public var tcpL3mdevAccept: Int?
    public var udpL3mdevAccept: Int?
    public var rawL3mdevAccept: Int?
    /// net.ipv6.fib_multipath_hash_policy
    public var multipathHashPolicy6: Int?

    /// net.ipv4.conf.{all,default,DEVICE}
    public var ipv4 = ConfSet<IPv4Conf>()
    /// net.ipv6.conf.{all,default,DEVICE}
    public var ipv6 = ConfSet<IPv6Conf>()
    /// Recorded sysctls this type has no field for (written back unchanged).
    public var other: [String: Int] = [:]

    public init() {}

    /// The `conf` directories of one family: `all`, `default` and one per device.
    public struct ConfSet<C: ConfDirectory>: Sendable, Equatable {
        public var all = C()
        public var `default` = C()
        public var devices: [String: C] = [:]
        public init() {}
        /// The directory named `dev`: "all", "default" or a device (empty when not recorded).
        public subscript(_ dev: String) -> C {
            get { dev == "all" ? all : dev == "default" ? `default` : devices[dev] ?? C() }
            set {
                switch dev {
                case "all": all = newValue
                case "default": `default` = newValue
                default: devices[dev] = newValue
                }
            }
        }
    }

    /// An IPv4 `conf` directory (a device's, `all` or `default`); nil: not recorded.
    public struct IPv4Conf: ConfDirectory {
        public var forwarding: Int?
        public var rpFilter: Int?
        public var acceptLocal: Int?
        public var srcValidMark: Int?
        public var routeLocalnet: Int?
        public var ignoreRoutesWithLinkdown: Int?
        public var acceptRedirects: Int?
        public var sendRedirects: Int?
        public var bcForwarding: Int?
        public var arpIgnore: Int?
        public var arpAnnounce: Int?
        public var arpFilter: Int?
        public init() {}

        /// File names under net/ipv4/conf/DEV, with their fields.
        public static let keys: [(name: String, field: WritableKeyPath<IPv4Conf, Int?> & Sendable)] = [
            ("forwarding", \.forwarding), ("rp_filter", \.rpFilter), ("accept_local", \.acceptLocal),
            ("src_valid_mark", \.srcValidMark), ("route_localnet", \.routeLocalnet),
            ("ignore_routes_with_linkdown", \.ignoreRoutesWithLinkdown),
            ("accept_redirects", \.acceptRedirects), ("send_redirects", \.sendRedirects),
            ("bc_forwarding", \.bcForwarding), ("arp_ignore", \.arpIgnore),
            ("arp_announce", \.arpAnnounce), ("arp_filter", \.arpFilter),
        ]
    }

    /// An IPv6 `conf` directory; nil: not recorded.
    public struct IPv6Conf: ConfDirectory {
        public var forwarding: Int?
        public var disableIPv6: Int?
        public var ignoreRoutesWithLinkdown: Int?
        public var acceptRA: Int?
        public var useOifAddrsOnly: Int?
        public var keepAddrOnDown: Int?
        public init() {}

        /// File names under net/ipv6/conf/DEV, with their fields.
        public static let keys: [(name: String, field: WritableKeyPath<IPv6Conf, Int?> & Sendable)] = [
            ("forwarding", \.forwarding), ("disable_ipv6", \.disableIPv6),
            ("ignore_routes_with_linkdown", \.ignoreRoutesWithLinkdown), ("accept_ra", \.acceptRA),
            ("use_oif_addrs_only", \.useOifAddrsOnly), ("keep_addr_on_down", \.keepAddrOnDown),
        ]
    }

    /// The namespace-wide sysctls, by sysctl(8) name.
    public static let globalKeys: [(name: String, field: WritableKeyPath<RoutingSettings, Int?> & Sendable)] = [
        ("net.ipv4.ip_forward", \.ipForward),
        ("net.ipv4.fib_multipath_hash_policy", \.multipathHashPolicy4),
        ("net.ipv4.fib_multipath_use_neigh", \.multipathUseNeigh4),
        ("net.ipv4.tcp_l3mdev_accept", \.tcpL3mdevAccept),
        ("net.ipv4.udp_l3mdev_accept", \.udpL3mdevAccept),
        ("net.ipv4.raw_l3mdev_accept", \.rawL3mdevAccept),
        ("net.ipv6.fib_multipath_hash_policy", \.multipathHashPolicy6),
    ]

    // MARK: effective values (the kernel's IN_DEV_* combinations of `all` and the device)

    /// The IPv4 settings that decide a lookup on one device, combined as the kernel combines
    /// `all` and the device (include/linux/inetdevice.h).
    public struct EffectiveIPv4: Sendable, Equatable {
        /// IN_DEV_FORWARD: the device's own value (a device without one: ip_forward).
        public var forwarding: Bool
        /// IN_DEV_RPFILTER: max(all, dev).
        public var rpFilter: Int
        /// IN_DEV_ORCONF: all || dev.
        public var acceptLocal: Bool
        public var srcValidMark: Bool
        public var routeLocalnet: Bool
        public var ignoreRoutesWithLinkdown: Bool
        public var sendRedirects: Bool
        /// IN_DEV_BFORWARD: all && dev.
        public var bcForwarding: Bool
        /// IN_DEV_ARP_IGNORE / IN_DEV_ARP_ANNOUNCE: max(all, dev).
        public var arpIgnore: Int
        public var arpAnnounce: Int
    }

    public func effectiveIPv4(_ device: String) -> EffectiveIPv4 {
        let d = ipv4[device], a = ipv4.all
        func or(_ k: KeyPath<IPv4Conf, Int?>, _ def: Int) -> Bool { (d[keyPath: k] ?? def) != 0 || (a[keyPath: k] ?? def) != 0 }
        func max(_ k: KeyPath<IPv4Conf, Int?>) -> Int { Swift.max(d[keyPath: k] ?? 0, a[keyPath: k] ?? 0) }
        return EffectiveIPv4(
            forwarding: (d.forwarding ?? ipForward ?? a.forwarding ?? 0) != 0,
            rpFilter: max(\.rpFilter),
            acceptLocal: or(\.acceptLocal, 0), srcValidMark: or(\.srcValidMark, 0),
            routeLocalnet: or(\.routeLocalnet, 0), ignoreRoutesWithLinkdown: or(\.ignoreRoutesWithLinkdown, 0),
            sendRedirects: or(\.sendRedirects, 1),
            bcForwarding: (d.bcForwarding ?? 0) != 0 && (a.bcForwarding ?? 0) != 0,
            arpIgnore: max(\.arpIgnore), arpAnnounce: max(\.arpAnnounce))
    }

    /// rp_filter on a device as recorded: nil when the snapshot has no value for the device.
    public func recordedRPFilter(_ device: String) -> Int? {
        guard let v = ipv4.devices[device]?.rpFilter else { return nil }
        return Swift.max(v, ipv4.all.rpFilter ?? 0)
    }

    /// The IPv6 settings that decide a lookup on one device.
    public struct EffectiveIPv6: Sendable, Equatable {
        /// idev->cnf.ignore_routes_with_linkdown || all's (rt6_check_dev / rt6_score_route).
        public var ignoreRoutesWithLinkdown: Bool
        /// idev->cnf.use_oif_addrs_only (ipv6_dev_get_saddr reads only the device's own).
        public var useOifAddrsOnly: Bool
        /// addrconf_ifdown: all's value, or the device's where all's is 0; positive keeps the
        /// permanent global addresses of a device that goes down.
        public var keepAddrOnDown: Bool
    }

    public func effectiveIPv6(_ device: String) -> EffectiveIPv6 {
        let d = ipv6[device]
        return EffectiveIPv6(
            ignoreRoutesWithLinkdown: (d.ignoreRoutesWithLinkdown ?? 0) != 0 || (ipv6.all.ignoreRoutesWithLinkdown ?? 0) != 0,
            useOifAddrsOnly: (d.useOifAddrsOnly ?? 0) != 0,
            keepAddrOnDown: ((ipv6.all.keepAddrOnDown ?? 0) != 0 ? ipv6.all.keepAddrOnDown! : d.keepAddrOnDown ?? 0) > 0)
    }

    /// IPv4 forwarding for the namespace (net.ipv4.ip_forward, else conf.all.forwarding).
    public var forwardsIPv4: Bool { (ipForward ?? ipv4.all.forwarding ?? 0) != 0 }
    /// IPv6 forwarding for the namespace (net.ipv6.conf.all.forwarding).
    public var forwardsIPv6: Bool { (ipv6.all.forwarding ?? 0) != 0 }

    /// The settings without the devices named (both families).
    public func removingDevices(_ names: Set<String>) -> RoutingSettings {
        var s = self
        for n in names { s.ipv4.devices[n] = nil; s.ipv6.devices[n] = nil }
        return s
    }

    // MARK: sysctl(8) names

    /// From sysctl(8) names and values; names of no field go to `other`.
    public init(sysctls: [String: Int]) {
        for (k, v) in sysctls { set(k, v) }
    }

    /// Sets the value of one sysctl(8) name (`net.ipv4.conf.x/10.rp_filter`; the slash form
    /// `net/ipv4/conf/x.10/rp_filter` is accepted too). Returns false when the name is not
    /// one of the fields (it is then kept in `other`).
    @discardableResult
    public mutating func set(_ name: String, _ value: Int) -> Bool {
        let dotted = name.hasPrefix("net/") ? RoutingSettings.dottedName(name) : name
        if let g = Self.globalKeys.first(where: { $0.name == dotted }) { self[keyPath: g.field] = value; return true }
        if let (fam, dev, key) = Self.splitConf(dotted) {
            if fam == "ipv4", let f = IPv4Conf.keys.first(where: { $0.name == key })?.field {
                ipv4[dev][keyPath: f] = value
                return true
            }
            if fam == "ipv6", let f = IPv6Conf.keys.first(where: { $0.name == key })?.field {
                ipv6[dev][keyPath: f] = value
                return true
            }
        }
        other[dotted] = value
        return false
    }

    /// Every recorded value by sysctl(8) name, sorted by name.
    public func sysctlEntries() -> [(name: String, value: Int)] {
        var out: [(String, Int)] = []
        for g in Self.globalKeys { if let v = self[keyPath: g.field] { out.append((g.name, v)) } }
        func conf4(_ dev: String, _ c: IPv4Conf) {
            let p = "net.ipv4.conf.\(Self.sysctlDevice(dev))."
            for k in IPv4Conf.keys { if let v = c[keyPath: k.field] { out.append((p + k.name, v)) } }
        }
        func conf6(_ dev: String, _ c: IPv6Conf) {
            let p = "net.ipv6.conf.\(Self.sysctlDevice(dev))."
            for k in IPv6Conf.keys { if let v = c[keyPath: k.field] { out.append((p + k.name, v)) } }
        }
        conf4("all", ipv4.all); conf4("default", ipv4.default)
        for (d, c) in ipv4.devices { conf4(d, c) }
        conf6("all", ipv6.all); conf6("default", ipv6.default)
        for (d, c) in ipv6.devices { conf6(d, c) }
        out += other.map { ($0.key, $0.value) }
        return out.sorted { $0.0 < $1.0 }
    }

    /// Every recorded value by sysctl(8) name.
    public var byName: [String: Int] {
        Dictionary(sysctlEntries().map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// A device name as sysctl(8) writes it in a dotted name: its own dots become '/'.
    public static func sysctlDevice(_ dev: String) -> String { String(dev.map { $0 == "." ? "/" : $0 }) }

    /// `net/ipv4/conf/x.10/rp_filter` → `net.ipv4.conf.x/10.rp_filter` (the two notations swap
    /// '.' and '/').
    public static func dottedName(_ path: String) -> String {
        String(path.map { $0 == "/" ? "." : $0 == "." ? "/" : $0 })
    }

    /// `net.FAMILY.conf.DEV.KEY` → (FAMILY, DEV with its own dots, KEY). Keys hold no dots
    /// and device names no '/', so the split is unambiguous.
    static func splitConf(_ name: String) -> (String, String, String)? {
        for fam in ["ipv4", "ipv6"] {
            let prefix = "net.\(fam).conf."
            guard name.hasPrefix(prefix), let dot = name.lastIndex(of: ".") else { continue }
            let start = name.index(name.startIndex, offsetBy: prefix.count)
            guard dot > start else { return nil }
            let dev = String(name[start..<dot].map { $0 == "/" ? "." : $0 })
            return (fam, dev, String(name[name.index(after: dot)...]))
        }
        return nil
    }
}

extension RoutingSettings: Codable {
    public init(from decoder: Decoder) throws {
        self.init(sysctls: try decoder.singleValueContainer().decode([String: Int].self))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(byName)
    }
}

/// A `conf` directory type: its files, by name, with their fields.
public protocol ConfDirectory: Sendable, Equatable {
    init()
    static var keys: [(name: String, field: WritableKeyPath<Self, Int?> & Sendable)] { get }
}

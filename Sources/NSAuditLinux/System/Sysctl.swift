import Glibc

/// Reads the sysctls that steer routing, as the calling thread's namespace sees them
/// (/proc/sys follows the thread's network namespace).
enum RoutingSysctls {
    static let ipv4PerDevice = ["rp_filter", "src_valid_mark", "accept_local", "arp_ignore",
                                "arp_announce", "arp_filter", "forwarding", "route_localnet",
                                "ignore_routes_with_linkdown", "accept_redirects", "send_redirects"]
    static let ipv6PerDevice = ["forwarding", "disable_ipv6", "ignore_routes_with_linkdown", "accept_ra"]
    static let global = ["net/ipv4/ip_forward", "net/ipv4/fib_multipath_hash_policy",
                         "net/ipv4/fib_multipath_use_neigh", "net/ipv4/tcp_l3mdev_accept",
                         "net/ipv4/udp_l3mdev_accept", "net/ipv4/raw_l3mdev_accept",
                         "net/ipv6/fib_multipath_hash_policy"]

    static func read() -> [String: Int] {
        var out: [String: Int] = [:]
        func get(_ rel: String) {
            if let s = readSmallFile("/proc/sys/" + rel), let v = Int(s.trimmingTrailingNewline()) {
                out[rel.replacingSlashes()] = v
            }
        }
        for g in global { get(g) }
        for dev in listDirectory("/proc/sys/net/ipv4/conf") {
            for k in ipv4PerDevice { get("net/ipv4/conf/\(dev)/\(k)") }
        }
        for dev in listDirectory("/proc/sys/net/ipv6/conf") {
            for k in ipv6PerDevice { get("net/ipv6/conf/\(dev)/\(k)") }
        }
        return out
    }
}

extension String {
    /// "net/ipv4/conf/eth0/rp_filter" → "net.ipv4.conf.eth0.rp_filter" (device names with
    /// dots keep them, as sysctl(8) shows them with '/').
    func replacingSlashes() -> String {
        String(self.map { $0 == "/" ? "." : $0 == "." ? "/" : $0 })
    }
}

/// What the FIB model depends on beyond routing state: the kernel's release and the build
/// options it was probed for. Recorded by the collector (`kernel_facts` in the snapshot,
/// `schema/snapshot.schema.json`), read by the model; every branch of the model on a kernel
/// build or version goes through one of these properties.
///
/// A snapshot written before the facts were recorded gets `assumed(release:)`: the release from
/// the snapshot's `kernel` string when it parses (else a current kernel) and the build options
/// of the distribution kernels (Debian, Ubuntu, Fedora, RHEL all build CONFIG_IPV6_MROUTE).
/// `recorded` is false then, and `route-get` and `report` say what was assumed.
public struct KernelFacts: Sendable, Equatable {
    /// `uname -r` of the kernel the snapshot was taken on.
    public var release: String
    /// CONFIG_IPV6_MROUTE: the namespace has /proc/net/ip6_mr_vif. Decides what
    /// `route get MULTICAST iif DEV` answers (rt6_fill_node asks ip6mr_get_route only then).
    public var ipv6MulticastRouting: Bool
    /// False when the snapshot did not record the facts and these are the documented defaults.
    public var recorded: Bool

    public init(release: String, ipv6MulticastRouting: Bool, recorded: Bool = true) {
        self.release = release; self.ipv6MulticastRouting = ipv6MulticastRouting; self.recorded = recorded
    }

    /// The defaults for a snapshot without facts (see the type's comment).
    public static func assumed(release: String = "") -> KernelFacts {
        KernelFacts(release: release, ipv6MulticastRouting: true, recorded: false)
    }

    /// (major, minor) of `release`; nil when it does not start with "N.N".
    public var version: (major: Int, minor: Int)? {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2, release.first?.isNumber == true else { return nil }
        return (parts[0], parts[1])
    }

    /// At least this version; an unknown release counts as a current kernel.
    public func atLeast(_ major: Int, _ minor: Int) -> Bool {
        guard let v = version else { return true }
        return v.major != major ? v.major > major : v.minor >= minor
    }

    /// ipv4_is_zeronet covers all of 0.0.0.0/8 before Linux 5.3, only 0.0.0.0 since (commit
    /// 96125bf9985a "Allow 0.0.0.0/8 as a valid address range"): on 5.3 and later a source
    /// such as 0.1.2.3 is ordinary unicast on input and output, not a martian.
    public var zeronetIsSlash8: Bool { !atLeast(5, 3) }

    /// What was assumed, for output (nil when recorded): the clause before and the clause
    /// after the line break a terminal report puts between them.
    public var assumption: (head: String, tail: String)? {
        guard !recorded else { return nil }
        let v = version.map { "Linux \($0.major).\($0.minor)" } ?? "a current Linux"
        return ("the snapshot records no kernel facts; assumed \(v)", "with IPv6 multicast routing")
    }
}

extension KernelFacts: Codable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case release, ipv6MulticastRouting = "ipv6_multicast_routing"
    }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(release: try c.decode(String.self, forKey: .release),
                  ipv6MulticastRouting: try c.decode(Bool.self, forKey: .ipv6MulticastRouting))
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(release, forKey: .release)
        try c.encode(ipv6MulticastRouting, forKey: .ipv6MulticastRouting)
    }
}

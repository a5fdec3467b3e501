/// What lies behind an interface, as far as the snapshot can see: the namespaces a veth (or a
/// bridge's ports, or the device under a VLAN/macvlan) leads to; or nothing the snapshot
/// holds — a hardware NIC, a tunnel, a veth whose peer namespace was not collected — where
/// routers, and so clients from anywhere, may sit; or nothing at all (loopback, dummy).
public struct FarSide: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Every path out of the interface leads into namespaces of the snapshot.
        case seen
        /// Some path leads where the snapshot cannot see.
        case unseen
        /// Nothing is behind the interface (loopback, dummy, a bridge without ports).
        case none
    }

    public struct Reached: Sendable, Hashable {
        /// Namespace id and ifindex of the device at the far end.
        public var netns: String
        public var index: Int32
    }

    public var state: State
    /// What is behind, for people: "namespace nsarec-left-router (eth1)", "hardware NIC
    /// (virtio virtio2)", "veth whose peer namespace was not collected".
    public var detail: String
    /// The far-end devices, when seen.
    public var reached: [Reached] = []

    /// Link kinds that carry packets to or from elsewhere than a namespace of this host.
    static let tunnels: Set<String> = [
        "vxlan", "geneve", "gre", "gretap", "ip6gre", "ip6gretap", "erspan", "ip6erspan", "ipip", "sit", "ip6tnl",
        "vti", "vti6", "xfrm", "wireguard", "bareudp", "gtp", "l2tp", "ppp", "tun", "openvpn", "amt",
    ]
    /// Link kinds stacked on one lower device (IFLA_LINK): what is behind them is what is
    /// behind it.
    static let stacked: Set<String> = ["vlan", "macvlan", "macvtap", "ipvlan", "ipvtap", "macsec", "veth-vlan"]
    /// Link kinds whose ports (links with IFLA_MASTER pointing at them) carry their traffic.
    static let aggregates: Set<String> = ["bridge", "bond", "team", "hsr", "openvswitch"]
}

extension Snapshot {
    /// What is behind `l` (a link of `ns`).
    public func farSide(of l: Link, in ns: NamespaceSnapshot) -> FarSide { farSide(of: l, in: ns, depth: 0) }

    private func farSide(of l: Link, in ns: NamespaceSnapshot, depth: Int) -> FarSide {
        guard depth < 6 else { return FarSide(state: .unseen, detail: "devices stacked too deep to follow") }
        if l.isLoopback { return FarSide(state: .none, detail: "loopback") }
        if l.isVRF { return FarSide(state: .none, detail: "VRF device (its ports carry the traffic)") }
        let kind = l.kind ?? ""
        if kind == "dummy" || kind == "nlmon" || kind == "ifb" { return FarSide(state: .none, detail: "\(kind) device: nothing behind it") }
        if kind == "veth" {
            guard let peerIndex = l.link else { return FarSide(state: .unseen, detail: "veth whose peer is not known") }
            if l.linkNetnsid == nil && l.peerNetns == nil {
                let name = ns.link(index: peerIndex)?.name ?? "#\(peerIndex)"
                return FarSide(state: .seen, detail: "veth peer \(name) in this namespace", reached: [.init(netns: ns.id, index: peerIndex)])
            }
            guard let peerID = l.peerNetns, let peer = namespace(peerID), peer.status == .ok else {
                return FarSide(state: .unseen, detail: "veth whose peer namespace was not collected")
            }
            let name = peer.link(index: peerIndex)?.name ?? "#\(peerIndex)"
            return FarSide(state: .seen, detail: "namespace \(peer.names.first ?? peer.id) (\(name))", reached: [.init(netns: peer.id, index: peerIndex)])
        }
        if FarSide.stacked.contains(kind) {
            guard let lowerIndex = l.link else { return FarSide(state: .unseen, detail: "\(kind) over a device not known") }
            var home = ns
            if l.linkNetnsid != nil {
                guard let id = l.peerNetns, let other = namespace(id), other.status == .ok else {
                    return FarSide(state: .unseen, detail: "\(kind) over a device in a namespace not collected")
                }
                home = other
            }
            guard let lower = home.link(index: lowerIndex) else { return FarSide(state: .unseen, detail: "\(kind) over a device not in the snapshot") }
            var under = farSide(of: lower, in: home, depth: depth + 1)
            under.detail = "\(kind) over \(lower.name): \(under.detail)"
            return under
        }
        if FarSide.aggregates.contains(kind) {
            let ports = ns.links.filter { $0.master == l.index }
            guard !ports.isEmpty else { return FarSide(state: .none, detail: "\(kind) without ports") }
            let sides = ports.map { ($0.name, farSide(of: $0, in: ns, depth: depth + 1)) }
            if let (name, side) = sides.first(where: { $0.1.state == .unseen }) {
                return FarSide(state: .unseen, detail: "\(kind) port \(name): \(side.detail)")
            }
            let reached = sides.flatMap(\.1.reached)
            if reached.isEmpty { return FarSide(state: .none, detail: "\(kind) whose ports lead nowhere") }
            let names = Set(reached.map { namespace($0.netns)?.names.first ?? $0.netns }).sorted()
            return FarSide(state: .seen, detail: "\(kind) ports lead to \(names.count == 1 ? "namespace" : "namespaces") \(names.joined(separator: ", "))",
                           reached: reached)
        }
        if FarSide.tunnels.contains(kind) { return FarSide(state: .unseen, detail: "\(kind) tunnel") }
        if l.isHardware {
            let hw = [l.parentBus, l.parentDev].compactMap { $0 }.joined(separator: " ")
            return FarSide(state: .unseen, detail: "hardware NIC" + (hw.isEmpty ? "" : " (\(hw))"))
        }
        return FarSide(state: .unseen, detail: kind.isEmpty ? "device of link type \(l.linkType)" : "\(kind) device")
    }

    /// Interfaces of `ns` on which clients from beyond their subnets are expected: those
    /// whose far side the snapshot cannot see (routers may sit there: a hardware NIC, a
    /// tunnel, a veth into a namespace not collected), and those whose far side is seen and
    /// holds a forwarding namespace with an address on the same subnet (a router on that
    /// link).
    public func routerFacingInterfaces(_ ns: NamespaceSnapshot) -> Set<String> {
        var out: Set<String> = []
        for l in ns.links {
            let far = farSide(of: l, in: ns)
            if far.state == .unseen { out.insert(l.name); continue }
            let mine = ns.addresses.filter { $0.index == l.index }.map(\.prefix)
            guard !mine.isEmpty else { continue }
            for r in far.reached {
                guard let peer = namespace(r.netns), peer.id != ns.id else { continue }
                let forwarding = (peer.settings.ipForward ?? 0) == 1 || (peer.settings.ipv6.all.forwarding ?? 0) == 1
                guard forwarding else { continue }
                // The far-end device, the bridge it is a port of, and devices stacked on it.
                let far = peer.link(index: r.index)
                let devices = Set([r.index] + [far?.master].compactMap { $0 } + peer.links.filter { $0.link == r.index && $0.linkNetnsid == nil }.map(\.index))
                let theirs = peer.addresses.filter { devices.contains($0.index) }
                if theirs.contains(where: { t in mine.contains { $0.contains(t.local) } }) { out.insert(l.name); break }
            }
        }
        return out
    }
}

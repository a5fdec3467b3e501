/// Local delivery checked against the listening sockets of the snapshot (sock_diag), as the
/// kernel's socket lookup matches them (inet_lookup_listener / udp lookup, compute_score):
/// the port and protocol; the address, or the wildcard (an IPv6 wildcard socket takes IPv4
/// too: the snapshot does not record IPV6_V6ONLY, so net.ipv6.bindv6only's default 0 is
/// assumed); and the device binding (inet_sk_bound_dev_eq): a socket bound to a device takes
/// packets that arrive on it or on the VRF it is bound to; an unbound socket takes packets
/// that arrive in a VRF only with net.ipv4.tcp_l3mdev_accept / udp_l3mdev_accept = 1.
enum Listeners {
    struct Match { var socket: Socket?; var kernel: Bool }

    static func match(_ ns: NamespaceSnapshot, model: RoutingModel, ingress: Link?, _ pkt: Packet) -> Match {
        if pkt.ipproto == IPProto.icmp || pkt.ipproto == IPProto.icmpv6 { return Match(socket: nil, kernel: true) }
        guard pkt.ipproto == IPProto.tcp || pkt.ipproto == IPProto.udp else { return Match(socket: nil, kernel: false) }
        let vrf = ingress.map { model.enslavingVRF($0.index) } ?? 0
        let dev = ingress?.index ?? 0
        let l3mdevAccept = (pkt.ipproto == IPProto.tcp ? ns.settings.tcpL3mdevAccept : ns.settings.udpL3mdevAccept) ?? 0
        var best: (Socket, Int)? = nil
        for s in candidates(ns, pkt) {
            // compute_score: the device binding decides, then exact address beats wildcard.
            if let b = s.boundIf {
                guard b == dev || (vrf != 0 && b == vrf) else { continue }
            } else if vrf != 0 && l3mdevAccept == 0 {
                continue
            }
            let score = (s.local.isZero ? 0 : 2) + (s.boundIf != nil ? 1 : 0) + (s.family == pkt.dst.family ? 1 : 0)
            if best == nil || score > best!.1 { best = (s, score) }
        }
        return Match(socket: best?.0, kernel: false)
    }

    /// Sockets of `ns` listening on the packet's protocol and port for its address (or a
    /// wildcard that covers it), whatever their device binding.
    static func candidates(_ ns: NamespaceSnapshot, _ pkt: Packet) -> [Socket] {
        let proto = IPProto.name(pkt.ipproto)
        return ns.sockets.filter { $0.protocol == proto && $0.localPort == pkt.dport && $0.isListening && $0.takes(pkt.dst) }
    }

    /// Listeners for the packet's protocol and port in the other namespaces of the host
    /// (any address: the "sshd runs in the default namespace" case).
    static func elsewhere(_ context: TraceContext, except: Int, _ pkt: Packet) -> [TraceListener] {
        var out: [TraceListener] = []
        for (i, s) in context.listeners["\(IPProto.name(pkt.ipproto))/\(pkt.dport)"] ?? [] where i != except {
            let l = describe(s, context.snapshot.namespaces[i])
            if !out.contains(l) { out.append(l) }
        }
        return out
    }

    static func describe(_ s: Socket, _ ns: NamespaceSnapshot) -> TraceListener {
        TraceListener(netns: ns.id, protocol: s.protocol, address: s.local, port: s.localPort, device: ns.linkName(s.boundIf))
    }
}

extension Socket {
    /// Waiting for packets: a TCP socket in LISTEN, a UDP socket not connected.
    public var isListening: Bool { `protocol` == "tcp" ? state == "LISTEN" : state == "UNCONN" }

    /// Whether its local address takes packets to `a`: the same address, the wildcard of its
    /// family, or for IPv4 an IPv6 socket's wildcard or v4-mapped address (IPV6_V6ONLY is not
    /// recorded: net.ipv6.bindv6only's default 0 is assumed).
    public func takes(_ a: IPAddress) -> Bool {
        if family == a.family { return local == a || local.isZero }
        guard family == .v6, a.family == .v4 else { return false }
        return local.isZero || local.bits == (UInt128(0xffff) << 32 | UInt128(a.v4))
    }
}

/// fib_validate_source / __fib_validate_source: reverse-path validation of an input packet's
/// source. Effective rp_filter = max(all, device); 1 = strict, 2 = loose.
extension RoutingModel {
    enum SourceVerdict { case ok, invalid, rpfFailed }

    func validateSource4(src: UInt32, dst: UInt32, tos: UInt8, oif: Int32, dev: LinkInfo, mark: UInt32,
                         proto: UInt8, sport: UInt16, dport: UInt16, lookup: FIBLookupHook? = nil) -> SourceVerdict {
        validateSource4Scoped(src: src, dst: dst, tos: tos, oif: oif, dev: dev, mark: mark, proto: proto, sport: sport,
                              dport: dport, lookup: lookup).verdict
    }

    /// The same, with fib_validate_source's positive answer: `hostScope` when it returns 1
    /// (the nexthop of the route back to the source has host scope: the source is on-link),
    /// which __mkroute_input needs to decide on an ICMP redirect.
    func validateSource4Scoped(src: UInt32, dst: UInt32, tos: UInt8, oif: Int32, dev: LinkInfo, mark: UInt32,
                               proto: UInt8, sport: UInt16, dport: UInt16,
                               lookup: FIBLookupHook? = nil) -> (verdict: SourceVerdict, hostScope: Bool) {
        let rpf = dev.rpFilter
        let txRedirects = dev.forwarding && dev.sendRedirects
        if rpf == 0 && (dev.index != oif || !txRedirects) {
            if dev.acceptLocal { return (.ok, false) }
            if !(customLocalRoutes4 || !merged4) {
                if isLocalAddr4(src) { return (.invalid, false) }
                return (.ok, false)
            }
        }
        // __fib_validate_source
        var fl = Flow(dst: UInt128(src), src: UInt128(dst), iif: oif != 0 ? oif : loopbackIndex, oif: 0,
                      mark: dev.srcValidMark ? mark : 0, tos: tos, proto: 0, sport: 0, dport: 0, uid: 0)
        fl.l3mdev = l3mdevMaster(dev.index)
        if requireFlowDissect4 {
            fl.proto = proto == 0 ? 17 : proto
            if fl.proto == 6 || fl.proto == 17 { fl.sport = dport; fl.dport = sport }
        }
        let noAddr = dev.addrs4.isEmpty
        var f1 = fl
        let o = lookup.map { $0(&f1) } ?? fibLookup4(&f1)
        guard o.error == nil, let h = o.hit else {
            return (rpf != 0 ? .rpfFailed : .ok, false)
        }
        let r = routes4[Int(h.route)]
        if r.type != .unicast && (r.type != .local || !dev.acceptLocal) { return (.invalid, false) }
        var devMatch = false
        for k in 0..<Int(r.pathCount) where paths[Int(r.pathStart) + k].dev == dev.index { devMatch = true }
        devMatch = devMatch || (r.type == .local && dev.loopback)
        // A nexthop has host scope when it has no gateway (or its gateway is a local address,
        // which the model keeps as no gateway): fib_check_nh.
        if devMatch { return (.ok, r.pathCount > 0 && paths[Int(r.pathStart + h.nhSel)].gateway == nil) }
        if noAddr { return (rpf != 0 ? .rpfFailed : .ok, false) }
        if rpf == 1 { return (.rpfFailed, false) }
        // Loose mode: the second lookup, through the input device, only decides the scope.
        guard lookup == nil else { return (.ok, false) }
        var f2 = fl
        f2.oif = dev.index
        let o2 = fibLookup4(&f2, ignoreLinkstate: true)
        if o2.error == nil, let h2 = o2.hit, routes4[Int(h2.route)].type == .unicast {
            let r2 = routes4[Int(h2.route)]
            return (.ok, r2.pathCount > 0 && paths[Int(r2.pathStart + h2.nhSel)].gateway == nil)
        }
        return (.ok, false)
    }
}

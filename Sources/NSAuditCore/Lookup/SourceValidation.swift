/// fib_validate_source / __fib_validate_source: reverse-path validation of an input packet's
/// source. Effective rp_filter = max(all, device); 1 = strict, 2 = loose.
extension RoutingModel {
    enum SourceVerdict { case ok, invalid, rpfFailed }

    func validateSource4(src: UInt32, dst: UInt32, tos: UInt8, oif: Int32, dev: LinkInfo, mark: UInt32,
                         proto: UInt8, sport: UInt16, dport: UInt16, lookup: FIBLookupHook? = nil) -> SourceVerdict {
        let rpf = dev.rpFilter
        let txRedirects = dev.forwarding && dev.sendRedirects
        if rpf == 0 && (dev.index != oif || !txRedirects) {
            if dev.acceptLocal { return .ok }
            if !(customLocalRoutes4 || !merged4) {
                if isLocalAddr4(src) { return .invalid }
                return .ok
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
            return rpf != 0 ? .rpfFailed : .ok
        }
        let r = routes4[Int(h.route)]
        if r.type != .unicast && (r.type != .local || !dev.acceptLocal) { return .invalid }
        var devMatch = false
        for k in 0..<Int(r.pathCount) where paths[Int(r.pathStart) + k].dev == dev.index { devMatch = true }
        devMatch = devMatch || (r.type == .local && dev.loopback)
        if devMatch { return .ok }
        if noAddr { return rpf != 0 ? .rpfFailed : .ok }
        if rpf == 1 { return .rpfFailed }
        // loose mode: the second lookup only affects the returned scope, never an error.
        return .ok
    }
}

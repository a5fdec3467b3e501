/// The namespace's devices as the lookups see them: each with its addresses and effective
/// routing sysctls (from the snapshot's typed `RoutingSettings`), by ifindex and by name.
struct DeviceTable: Sendable {
    let links: [LinkInfo]
    /// ifindex → position in `links` (-1: none), for ifindexes below `denseLimit`.
    let slotOf: [Int32]
    /// ifindex → position for the few larger ones (a kernel numbers devices from 1 upwards,
    /// but a long-lived host, or a snapshot file, can hold any positive int: an array as long
    /// as the largest would be gigabytes).
    let sparseSlotOf: [Int32: Int32]
    static let denseLimit: Int32 = 1 << 16
    let byName: [String: Int32]
    let loopbackIndex: Int32

    init(_ ns: NamespaceSnapshot) {
        var maxIndex: Int32 = 0
        for l in ns.links where l.index < Self.denseLimit { maxIndex = max(maxIndex, l.index) }
        var slot = [Int32](repeating: -1, count: Int(maxIndex) + 1)
        var sparse: [Int32: Int32] = [:]
        var byName: [String: Int32] = [:]
        var lo: Int32 = 1
        for (position, l) in ns.links.enumerated() {
            if l.isLoopback { lo = l.index }
            // ifindexes are positive; a link numbered otherwise (only a snapshot file can
            // hold one) cannot be reached by index
            if l.index > 0 && l.index < Self.denseLimit { slot[Int(l.index)] = Int32(position) }
            else if l.index > 0 { sparse[l.index] = Int32(position) }
            byName[l.name] = l.index
        }
        slotOf = slot; sparseSlotOf = sparse
        // each device's addresses, in snapshot order, before the device is made
        var addrs4 = [[Address]](repeating: [], count: ns.links.count)
        var addrs6 = [[Address]](repeating: [], count: ns.links.count)
        for a in ns.addresses {
            guard let s = Self.position(a.index, slot, sparse) else { continue }
            if a.family == .v4 { addrs4[s].append(a) } else { addrs6[s].append(a) }
        }
        links = ns.links.enumerated().map { position, l in
            LinkInfo(l, addrs4: addrs4[position], addrs6: addrs6[position],
                     ipv4: ns.settings.effectiveIPv4(l.name), ipv6: ns.settings.effectiveIPv6(l.name))
        }
        self.byName = byName; loopbackIndex = lo
    }

    private static func position(_ index: Int32, _ slot: [Int32], _ sparse: [Int32: Int32]) -> Int? {
        guard index > 0 else { return nil }
        if Int(index) < slot.count { return slot[Int(index)] < 0 ? nil : Int(slot[Int(index)]) }
        return sparse[index].map(Int.init)
    }

    @inline(__always) func link(_ index: Int32) -> LinkInfo? {
        guard index > 0 else { return nil }
        guard Int(index) < slotOf.count else {
            return sparseSlotOf.isEmpty ? nil : sparseSlotOf[index].map { links[Int($0)] }
        }
        let s = slotOf.withUnsafeBufferPointer { $0[Int(index)] }
        return s < 0 ? nil : links.withUnsafeBufferPointer { $0[Int(s)] }
    }

    /// l3mdev_master_ifindex: the VRF itself for a VRF device, its master for an enslaved one.
    @inline(__always) func l3mdevMaster(_ index: Int32) -> Int32 {
        guard let l = link(index) else { return 0 }
        if l.isVRF { return index }
        if let m = l.master, let ml = link(m), ml.isVRF { return m }
        return 0
    }

    /// l3mdev_master_dev_rcu: the VRF an enslaved device belongs to (not the VRF itself).
    @inline(__always) func enslavingVRF(_ index: Int32) -> Int32 {
        guard let l = link(index), let m = l.master, let ml = link(m), ml.isVRF else { return 0 }
        return m
    }

    /// inet_select_addr.
    func selectAddr4(_ dev: Int32, dst: UInt32, scope: UInt8) -> UInt32 {
        func inDevSelect4(_ l: LinkInfo, scope: UInt8) -> UInt32? {
            for a in l.addrs4 where a.flags & AddressFlags.secondary == 0 {
                if a.scope != Scope.link && a.scope <= scope { return a.local.v4 }
            }
            return nil
        }
        var addr: UInt32 = 0
        if let l = link(dev) {
            let localnetScope: UInt8 = l.routeLocalnet ? Scope.link : Scope.host
            for a in l.addrs4 {
                if a.flags & AddressFlags.secondary != 0 { continue }
                if min(a.scope, localnetScope) > scope { continue }
                let local = a.local.v4
                let mask = UInt32(truncatingIfNeeded: IPPrefix.mask(Int(a.prefixlen), 32))
                if dst == 0 || (dst ^ local) & mask == 0 { return local }
                if addr == 0 { addr = local }
            }
            if addr != 0 { return addr }
        }
        let master = l3mdevMaster(dev)
        if master != 0, let m = link(master) {
            if let a = inDevSelect4(m, scope: scope) { return a }
        }
        for l in links where l3mdevMaster(l.index) == master {
            if let a = inDevSelect4(l, scope: scope) { return a }
        }
        return 0
    }

    /// fib_result_prefsrc for a path of a route.
    func resultPrefsrc4(_ r: FIBRoute, _ nh: FIBNexthop) -> UInt32 {
        if let p = r.prefsrc { return p.v4 }
        let gw = (nh.gateway ?? nh.selectGateway).flatMap { $0.family == .v4 ? $0.v4 : nil } ?? 0
        var scope = r.scope
        if r.usesObject { scope = (nh.gateway != nil ? Scope.link : Scope.host) - 1 }
        return selectAddr4(nh.dev, dst: gw, scope: scope)
    }

    /// Whether `a` is one of the devices' IPv4 addresses.
    func isLocalAddr4(_ a: UInt32) -> Bool {
        for l in links { for x in l.addrs4 where x.local.v4 == a { return true } }
        return false
    }
}

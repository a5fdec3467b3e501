import NSAuditCore
import Testing

/// Found by the netlink fuzz target: the device table was an array as long as the largest
/// ifindex, so one link numbered 809,122,352 made building the model allocate 3.2 GB (and a
/// link numbered below 0, which only a snapshot file can hold, trapped). A kernel numbers
/// devices upwards from 1 and a long-lived host can reach any positive int.
@Suite struct LargeIfindexTests {
    func namespace(bigIndex: Int32) -> NamespaceSnapshot {
        var ns = NamespaceSnapshot(id: "big")
        ns.links = [Link(index: 1, name: "lo", flags: LinkFlags.up | LinkFlags.loopback, operstate: "UNKNOWN", mtu: 65536, linkType: 772),
                    Link(index: bigIndex, name: "eth0", flags: LinkFlags.up | LinkFlags.lowerUp, operstate: "UP", mtu: 1500, linkType: 1),
                    Link(index: -5, name: "odd", flags: LinkFlags.up | LinkFlags.lowerUp, operstate: "UP", mtu: 1500, linkType: 1)]
        ns.addresses = [Address(index: bigIndex, local: IPAddress("10.0.0.1")!, prefixlen: 24),
                        Address(index: -5, local: IPAddress("10.5.0.1")!, prefixlen: 24)]
        var connected = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix("10.0.0.0/24")!, protocol: 2, scope: 253)
        connected.oif = bigIndex; connected.prefsrc = IPAddress("10.0.0.1")
        var local = Route(family: .v4, table: 255, type: .local, dst: IPPrefix("10.0.0.1/32")!, protocol: 2, scope: 254)
        local.oif = bigIndex; local.prefsrc = IPAddress("10.0.0.1")
        var gone = Route(family: .v4, table: 254, type: .unicast, dst: IPPrefix("10.5.0.0/24")!, protocol: 2, scope: 253)
        gone.oif = -5
        ns.routes = [connected, local, gone]
        ns.rules = [Rule(family: .v4, priority: 0, table: 255), Rule(family: .v4, priority: 32766, table: 254)]
        return ns
    }

    @Test(arguments: [Int32(70_000), 809_122_352, .max])
    func aLargeIfindexIsADeviceLikeAnyOther(index: Int32) throws {
        let model = RoutingModel(namespace(bigIndex: index))
        let out = try model.routeGet(line: "10.0.0.7")
        #expect(out.error == nil && out.dev == "eth0" && out.prefsrc == IPAddress("10.0.0.1"))
        let back = try model.routeGet(line: "10.0.0.1")
        #expect(back.type == .local)
        // the device numbered -5 cannot be reached by its index; its route leads nowhere
        #expect(try model.routeGet(line: "10.5.0.9").dev != "odd")
    }
}

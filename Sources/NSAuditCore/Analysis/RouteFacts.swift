/// What the audit needs of a namespace's routes, found in one pass over them (a million
/// routes are read once per namespace, not once per finding or proposal): the local host
/// routes of the local table, the default routes, the routes per table, and the interfaces
/// some route or nexthop uses with a gateway.
struct RouteFacts: Sendable {
    var localHosts: Set<IPAddress> = []
    var defaults: [Route] = []
    var perTable: [TableID: Int] = [:]
    var gatewayLinks: Set<Int32> = []

    init(_ routes: [Route]) {
        var last: (TableID, Int)? = nil
        routes.withUnsafeBufferPointer { rs in
            for i in rs.indices {
                let d = rs[i].dst
                if d.length == 0 { defaults.append(rs[i]) } else if rs[i].table == Table.local && rs[i].type == .local
                    && Int(d.length) == d.family.bitWidth { localHosts.insert(d.address) }
                let t = TableID(family: rs[i].family, table: rs[i].table)
                if let l = last, l.0 == t { last = (t, l.1 + 1) } else {
                    if let l = last { perTable[l.0, default: 0] += l.1 }
                    last = (t, 1)
                }
                if rs[i].gateway != nil, let o = rs[i].oif { gatewayLinks.insert(o) }
                if let nhs = rs[i].nexthops { for n in nhs where n.gateway != nil { if let o = n.oif { gatewayLinks.insert(o) } } }
            }
        }
        if let l = last { perTable[l.0, default: 0] += l.1 }
    }

    mutating func add(_ o: RouteFacts) {
        localHosts.formUnion(o.localHosts)
        defaults += o.defaults
        for (k, v) in o.perTable { perTable[k, default: 0] += v }
        gatewayLinks.formUnion(o.gatewayLinks)
    }
}
struct TableID: Hashable, Sendable { var family: IPAddress.Family; var table: UInt32 }

/// What the audit needs of a namespace's routes, found in one pass over them (a million
/// routes are read once per namespace, not once per finding or proposal): the local host
/// routes of every table, the default routes, the tables holding a throw route, the routes
/// per table, and the interfaces some route or nexthop uses with a gateway.
struct RouteFacts: Sendable {
    /// Host routes of type local, in any table (a VRF keeps its own).
    var locals: [Route] = []
    var defaults: [Route] = []
    var throwTables: Set<TableID> = []
    var perTable: [TableID: Int] = [:]
    var gatewayLinks: Set<Int32> = []

    init(_ routes: [Route]) {
        var last: (TableID, Int)? = nil
        routes.withUnsafeBufferPointer { rs in
            for i in rs.indices {
                let d = rs[i].dst
                let t = TableID(family: rs[i].family, table: rs[i].table)
                if d.length == 0 { defaults.append(rs[i]) } else if rs[i].type == .local && Int(d.length) == d.family.bitWidth {
                    locals.append(rs[i])
                }
                if rs[i].type == .throw { throwTables.insert(t) }
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
        locals += o.locals
        defaults += o.defaults
        throwTables.formUnion(o.throwTables)
        for (k, v) in o.perTable { perTable[k, default: 0] += v }
        gatewayLinks.formUnion(o.gatewayLinks)
    }
}
struct TableID: Hashable, Sendable { var family: IPAddress.Family; var table: UInt32 }

extension RouteFacts {
    /// The routes of one family in all of `tables`.
    func routeCount(_ family: IPAddress.Family, tables: Set<UInt32>) -> Int {
        perTable.reduce(0) { $0 + ($1.key.family == family && tables.contains($1.key.table) ? $1.value : 0) }
    }

    /// The routes of one family.
    func routeCount(_ family: IPAddress.Family) -> Int {
        perTable.reduce(0) { $0 + ($1.key.family == family ? $1.value : 0) }
    }
}

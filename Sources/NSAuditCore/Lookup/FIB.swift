/// Per-namespace lookup structures built once from a `NamespaceSnapshot`. Pure data: no
/// syscalls. Built in four steps, each by the type that says what it builds:
///
/// - DeviceTable: devices with their addresses and effective routing sysctls;
/// - RuleSet: the policy rules of each family, in lookup order, and what the kernel derives
///   from them (local and main merged when only the default rules exist);
/// - RouteEntries and RouteTables: routes with their resolved nexthops (dead fib_info, local
///   gateways), one PrefixTable per (family, table) (fib6 leaf order by metric) and the
///   compact copies the lookup loops read;
/// - LookupAccelerator4: the IPv4 caches (leaves, output rule program, touch tables, output
///   block index), which only ever give what the general path gives.
public final class RoutingModel: Sendable {
    public let namespace: String
    /// The kernel's release and build options (the model's branches on them).
    public let kernel: KernelFacts
    /// kernel.zeronetIsSlash8, read on the lookup path.
    let zeronetIsSlash8: Bool
    let devices: DeviceTable
    let ruleSet: RuleSet
    let entries: RouteEntries
    let routeTables: RouteTables
    let accel4: LookupAccelerator4

    public convenience init(_ ns: NamespaceSnapshot) {
        self.init(ns, forceUnmerged: false)
    }

    /// `forceUnmerged` keeps IPv4 local and main apart even with the default rules only;
    /// `outputIndexMinimum`: the fewest prefixes of the table for which OutputBlockIndex4 is
    /// built (tests lower it to check the index on small tables against the general path).
    convenience init(_ ns: NamespaceSnapshot, forceUnmerged: Bool, outputIndexMinimum: Int = PrefixTable<UInt32>.dirThreshold) {
        var options = LookupAccelerator4.Options.standard
        options.outputIndexMinimum = outputIndexMinimum
        self.init(ns, forceUnmerged: forceUnmerged, accelerators: options)
    }

    init(_ ns: NamespaceSnapshot, forceUnmerged: Bool, accelerators options: LookupAccelerator4.Options) {
        namespace = ns.id
        kernel = ns.kernel
        zeronetIsSlash8 = ns.kernel.zeronetIsSlash8
        let devices = DeviceTable(ns)
        let rules = RuleSet(ns, devices: devices, forceUnmerged: forceUnmerged)
        let (entries, items4, items6) = RouteEntries.build(ns, devices: devices, mergeLocalIntoMain: rules.merged4)
        let plan = LookupAccelerator4.Plan(rules: rules, devices: devices, entries: entries, items4: items4, options: options)
        let tables = RouteTables(entries, items4: items4, items6: items6, devices: devices,
                                 withoutDirectIndex: plan.blockTarget?.table)
        accel4 = LookupAccelerator4(plan, rules: rules, entries: entries, tables: tables, options: options)
        self.devices = devices; ruleSet = rules; self.entries = entries; routeTables = tables
    }

    /// Every large lookup array (see PrefixTable.withStorage).
    public func withLookupStorage(_ body: (UnsafeRawBufferPointer) -> Void) {
        for t in routeTables.tables4.values { t.withStorage(body) }
        for t in routeTables.tables6.values { t.withStorage(body) }
        hot4.withUnsafeBytes(body); pathHot.withUnsafeBytes(body); hot6.withUnsafeBytes(body)
        accel4.withStorage(body)
    }

    @inline(__always) func table4(_ id: UInt32) -> PrefixTable<UInt32>? { routeTables.table4(id) }
    @inline(__always) func table6(_ id: UInt32) -> PrefixTable<UInt128>? { routeTables.table6(id) }

    /// Feature categories of an answer's route (reporting only).
    func routeFeatures(_ r: FIBRoute, _ nh: FIBNexthop?) -> [String] {
        var f: [String] = []
        if r.usesObject { f.append("route:nexthop-object") }
        if r.onlink { f.append("route:onlink") }
        if r.tos != 0 { f.append("route:tos") }
        if r.prefsrc != nil { f.append("route:prefsrc") }
        if let s = r.src, s.length > 0 { f.append("route:source-specific") }
        if let nh, nh.linkdown { f.append("route:linkdown") }
        if let nh, nh.selectGateway != nil { f.append("route:local-gateway") }
        if r.metric != 0 && r.dst.family == .v4 { f.append("route:metric") }
        return f
    }

    // MARK: devices
    @inline(__always) func link(_ index: Int32) -> LinkInfo? { devices.link(index) }
    public func index(of name: String) -> Int32? { devices.byName[name] }
    public func name(of index: Int32) -> String? { link(index)?.name }
    /// l3mdev_master_ifindex: the VRF itself for a VRF device, its master for an enslaved one.
    @inline(__always) func l3mdevMaster(_ index: Int32) -> Int32 { devices.l3mdevMaster(index) }
    /// l3mdev_master_dev_rcu: the VRF an enslaved device belongs to (not the VRF itself).
    @inline(__always) func enslavingVRF(_ index: Int32) -> Int32 { devices.enslavingVRF(index) }
}

/// The parts of the model by the names the lookups use.
extension RoutingModel {
    @inline(__always) var links: [LinkInfo] { devices.links }
    @inline(__always) var loopbackIndex: Int32 { devices.loopbackIndex }
    public var rules4: [FIBRule] { ruleSet.rules4 }
    public var rules6: [FIBRule] { ruleSet.rules6 }
    @inline(__always) var allRules4: RuleProgram { ruleSet.allRules4 }
    @inline(__always) var allRules6: RuleProgram { ruleSet.allRules6 }
    /// IPv4 local and main are one trie (see RuleSet.merged4).
    public var merged4: Bool { ruleSet.merged4 }
    public var customRules6: Bool { ruleSet.customRules6 }
    @inline(__always) var ifgroupRules6: Bool { ruleSet.ifgroupRules6 }
    @inline(__always) var ifgroupSuppressors6: Set<Int64> { ruleSet.ifgroupSuppressors6 }
    @inline(__always) var requireFlowDissect4: Bool { ruleSet.requireFlowDissect4 }
    @inline(__always) var routes4: [FIBRoute] { entries.routes4 }
    @inline(__always) var routes6: [FIBRoute] { entries.routes6 }
    @inline(__always) var paths: [FIBNexthop] { entries.paths }
    @inline(__always) var origin4: [Int32] { entries.origin4 }
    @inline(__always) var origin6: [Int32] { entries.origin6 }
    public var snapshotRoutes: [Route] { entries.snapshotRoutes }
    @inline(__always) var customLocalRoutes4: Bool { entries.customLocalRoutes4 }
    @inline(__always) var routesWithMetrics4: Bool { entries.routesWithMetrics4 }
    @inline(__always) var hot4: [RouteHot] { routeTables.hot4 }
    @inline(__always) var hot6: [RouteHot6] { routeTables.hot6 }
    @inline(__always) var pathHot: [PathHot] { routeTables.pathHot }
}

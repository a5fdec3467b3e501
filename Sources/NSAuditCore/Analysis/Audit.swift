import Dispatch

/// Turns a snapshot into report findings: return-path analysis of every namespace, evidence
/// from sockets, declared intents, related misconfigurations, and verified remediations.
public struct Audit: Sendable {
    public struct Options: Sendable {
        public var anyIngress = false
        public var intents: [FlowIntent] = []
        /// Propose fixes and check them on a copy of the snapshot.
        public var remediate = true
        /// At most this many CIDR blocks in a finding's `sources` (the count of all of them is
        /// in `sources_total`); `.max` lists every block.
        public var maxSources = Int.max
        /// Keep a few sources of every verdict class for the kernel self-check
        /// (`Outcome.samples`); off where no kernel will be asked.
        public var selfCheckSamples = true
        public init(anyIngress: Bool = false, intents: [FlowIntent] = [], remediate: Bool = true, maxSources: Int = .max) {
            self.anyIngress = anyIngress; self.intents = intents; self.remediate = remediate
            self.maxSources = maxSources
        }
    }

    public let snapshot: Snapshot
    public let options: Options

    public init(_ snapshot: Snapshot, options: Options = Options()) {
        self.snapshot = snapshot
        self.options = options
    }

    public struct Outcome: Sendable {
        public var namespaces: [ReportNamespace]
        public var findings: [Finding]
        /// The FIB model built for each audited namespace (by id), for callers that ask it
        /// more (the kernel self-check) without building it again.
        public var models: [String: RoutingModel] = [:]
        /// A few sources of every verdict class of every audited (address, ingress), the
        /// symmetric one included, for the kernel self-check (`SelfCheck.samples`).
        public var samples: [SelfCheckSample] = []
        /// The return-path results of each audited namespace (by id), with its route facts:
        /// what `IncrementalAudit` starts from.
        var results: [String: Given] = [:]
    }

    /// Audits every namespace of the snapshot, or only those in `only` (the others still
    /// inform the audit: e.g. which veth peers are routers).
    public func run(namespaces only: Set<String>? = nil) -> Outcome { run(namespaces: only, given: [:]) }

    /// The return-path results of a namespace found without analysing it here (by
    /// `IncrementalAudit`, from another snapshot's audit), with the facts of its routes.
    typealias Given = (results: [ReturnPathAnalysis.Result], facts: RouteFacts)

    /// `run`, taking the return-path results of the namespaces in `given` (by id) as they are:
    /// the findings, checks and fixes that follow from them are made as for the others.
    func run(namespaces only: Set<String>?, given: [String: Given]) -> Outcome {
        let chosen = snapshot.namespaces.filter { only?.contains($0.id) ?? true }
        // Namespaces are independent. A big one (a full routing table) is audited alone, its
        // own work spread over every core (work nested in a concurrent loop would run on one
        // thread); then the others side by side on every core.
        let big = chosen.indices.filter { chosen[$0].routes.count >= Self.bigNamespace }
            .sorted { chosen[$0].routes.count > chosen[$1].routes.count }
        let small = chosen.indices.filter { chosen[$0].routes.count < Self.bigNamespace }
        var byIndex = [NamespaceAudit?](repeating: nil, count: chosen.count)
        for i in big { byIndex[i] = auditNamespace(chosen[i], given: given[chosen[i].id]) }
        let done = parallelMap(small.count) { k in auditNamespace(chosen[small[k]], given: given[chosen[small[k]].id]) }
        for (k, i) in small.enumerated() { byIndex[i] = done[k] }
        var namespaces: [ReportNamespace] = []
        var findings: [Finding] = []
        var models: [String: RoutingModel] = [:]
        var samples: [SelfCheckSample] = []
        var results: [String: Given] = [:]
        for (i, x) in byIndex.enumerated() {
            let (entry, nsFindings, model, nsSamples, nsResults) = x!
            namespaces.append(entry)
            findings += nsFindings
            if let model { models[chosen[i].id] = model }
            samples += nsSamples
            if let nsResults { results[chosen[i].id] = nsResults }
        }
        findings += FlowIntent.unmatched(options.intents, in: snapshot)
        // Declared flows to local addresses, end to end through the host's namespaces (the
        // chosen ones: their models are built; a trace builds the others it enters).
        if options.intents.contains(where: { $0.transit != true }) {
            let context = TraceContext(snapshot, models: models)
            let ids = Set(chosen.map(\.id))
            findings += FlowIntent.checkEndToEnd(options.intents, context: context).filter { f in
                ids.contains(f.netns) || chosen.contains { $0.names.first == f.netns }
            }
        }
        var out = Outcome(namespaces: namespaces, findings: findings.sorted(by: Self.order), models: models, samples: samples)
        out.results = results
        return out
    }

    /// Namespaces with this many routes are audited one at a time, each on every core.
    static let bigNamespace = 50_000

    typealias NamespaceAudit = (ReportNamespace, [Finding], RoutingModel?, [SelfCheckSample], Given?)

    /// The report entry, findings, FIB model, self-check samples and return-path results of
    /// one namespace; with `given`, its return-path results as found elsewhere (the FIB model
    /// is then built only for flow intents, and not returned otherwise).
    func auditNamespace(_ ns: NamespaceSnapshot, given: Given? = nil) -> NamespaceAudit {
        var entry = ReportNamespace(name: ns.names.first ?? ns.id, id: ns.id, status: ns.status.rawValue,
                                    interfaces: interfaces(ns), addressesAudited: 0, errors: [])
        if ns.status != .ok {
            entry.errors.append("\(ns.status.rawValue): \(ns.error ?? "no detail")")
            var f = Finding(kind: .collectionError, severity: ns.status == .vanished ? .info : .warning, netns: entry.name,
                            summary: "Namespace \(ns.id) could not be audited: \(ns.status.rawValue)\(ns.error.map { " (\($0))" } ?? "").")
            f.evidence = ["collector"]
            f.assignID()
            return (entry, [f], nil, [], nil)
        }
        if !ns.consistent { entry.errors.append("dumps kept changing during collection (NLM_F_DUMP_INTR); the snapshot may mix states") }
        let model: RoutingModel?, results: [ReturnPathAnalysis.Result], facts: RouteFacts
        if let given {
            (results, facts) = given
            model = options.intents.isEmpty ? nil : RoutingModel(ns)
            entry.addressesAudited = ReturnPathAnalysis.auditedAddresses(ns).count
        } else {
            // The FIB model beside the analysis's own structures and the route facts (the
            // model takes longer than the other two together).
            let (m, (prepared, f)) = parallel({ RoutingModel(ns) }, { (ReturnPathAnalysis.Prepared(ns), RouteFacts(ns.routes)) })
            facts = f
            let analysis = ReturnPathAnalysis(ns, model: m, options: .init(anyIngress: options.anyIngress), prepared: prepared,
                                              facts: facts)
            entry.addressesAudited = analysis.auditedAddresses.count
            results = analysis.run()
            model = m
        }
        let farSides = Dictionary(ns.links.map { ($0.name, snapshot.farSide(of: $0, in: ns)) }, uniquingKeysWith: { a, _ in a })
        var nsFindings = Self.findings(ns, entry.name, results, routerFacing: snapshot.routerFacingInterfaces(ns),
                                       maxSources: options.maxSources, gatewayLinks: facts.gatewayLinks, farSides: farSides)
        nsFindings += Misconfiguration.check(ns, netns: entry.name)
        // What Remediator.audit gives for the namespace as it is: the same analysis,
        // findings and checks (flow intents are not part of it).
        let memo = Remediator.Memo(before: Set(nsFindings.map(\.id)))
        if let model { nsFindings += FlowIntent.check(options.intents, ns: ns, netns: entry.name, model: model) }
        if options.remediate {
            let remediator = Remediator(snapshot: snapshot, ns: ns, options: options, memo: memo, baseResults: results,
                                        beforeFacts: facts)
            let due = nsFindings.indices.filter { nsFindings[$0].severity >= .warning
                && (nsFindings[$0].kind == .asymmetricReply || nsFindings[$0].kind == .rpFilterDrop) }
            // The edited copies to audit, all at once on every core; then each finding's
            // proposals are verified against them in order.
            remediator.precompute(due.flatMap { remediator.candidates(for: nsFindings[$0]) })
            for i in due {
                nsFindings[i].remediation = remediator.proposals(for: nsFindings[i])
            }
        }
        return (entry, nsFindings, model, options.selfCheckSamples ? SelfCheck.samples(ns, results) : [], (results, facts))
    }

    static func order(_ a: Finding, _ b: Finding) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.netns != b.netns { return a.netns < b.netns }
        if a.kind != b.kind { return a.kind.rawValue < b.kind.rawValue }
        return a.id < b.id
    }

    func interfaces(_ ns: NamespaceSnapshot) -> [ReportInterface] {
        ns.links.map { l in
            let addrs = ns.addresses.filter { $0.index == l.index }.map { "\($0.local)/\($0.prefixlen)" }
            let vrf = l.master.flatMap { ns.link(index: $0) }.flatMap { $0.isVRF ? $0.name : nil }
            let far = snapshot.farSide(of: l, in: ns)
            var lower = ns.links.filter { $0.master == l.index && !l.isVRF }.map(\.name)
            if let x = l.link, l.kind != "veth", l.linkNetnsid == nil, let under = ns.link(index: x) { lower.append(under.name) }
            var i = ReportInterface(name: l.name, state: l.operstate, addresses: addrs, vrf: vrf,
                                    rpFilter: ns.settings.recordedRPFilter(l.name))
            i.kind = l.kind ?? (l.isHardware ? "hardware" : nil)
            i.lower = lower.isEmpty ? nil : lower
            i.farSide = ReportFarSide(state: far.state, detail: far.detail)
            return i
        }
    }

    /// Findings for the return-path verdicts of one namespace.
    /// `describe: false` leaves out the source lists (and the summaries' samples of them): for
    /// callers that only compare identities and severities (remediation checks).
    static func findings(_ ns: NamespaceSnapshot, _ netns: String, _ results: [ReturnPathAnalysis.Result],
                         routerFacing: Set<String>, describe: Bool = true, maxSources: Int = .max,
                         gatewayLinks known: Set<Int32>? = nil, farSides: [String: FarSide] = [:]) -> [Finding] {
        let gatewayLinks = known ?? (results.isEmpty ? [] : RouteFacts(ns.routes).gatewayLinks)
        // The findings of one (address, ingress) result: one per kind, its routes as parts.
        @Sendable func describeResult(_ r: ReturnPathAnalysis.Result) -> [Finding] {
            var out: [Finding] = []
            let a = r.address.local
            let services = Self.services(ns, r.address)
            // The sources that reach the address on this ingress at all (the universe of
            // "every source except ...").
            // Short forms are looked for only where the result's sets are small (a full
            // table's are listed as they are: the search would cost more than the audit).
            let shortForms = r.byVerdict.reduce(r.symmetric.ranges.count) { $0 + $1.1.ranges.count } <= SourceSet.exceptSearchLimit
            var reachableSet: AddressRanges?
            func reachable() -> AddressRanges {
                if let x = reachableSet { return x }
                let x = AddressRanges(merging: [r.symmetric] + r.byVerdict.compactMap { v, ranges in
                    if case .requestRejected = v { return nil }
                    return ranges
                }, family: r.address.family)
                reachableSet = x
                return x
            }
            func sev(_ route: ReturnPathAnalysis.RouteKind) -> Severity {
                severity(ns, r, services: services, route: route, routerFacing: routerFacing, gatewayLinks: gatewayLinks)
            }
            // The verdicts by finding kind, in the order they first appear.
            var kinds: [FindingKind] = []
            var byKind: [FindingKind: [(FindingPart, AddressRanges, String?, SourceSet)]] = [:]
            for (verdict, ranges) in r.byVerdict {
                var p = FindingPart()
                let kind: FindingKind
                var error: String?
                switch verdict {
                case .symmetric, .notApplicable, .requestRejected:
                    continue
                case .asymmetric(let egress, let gw, let table, let rule, let route):
                    kind = .asymmetricReply
                    p.egress = egress; p.gateway = gw; p.table = table; p.rule = rule; p.route = route.rawValue
                    p.severity = sev(route)
                case .rpFilterDrop(let e, let rule, let reverse):
                    kind = .rpFilterDrop
                    p.rule = rule; p.route = reverse.rawValue; error = e
                    p.severity = sev(reverse)
                case .unroutable(let type, let table, let rule):
                    kind = .replyUnroutable
                    p.table = table; p.rule = rule; p.unroutable = type
                    // A configured drop (blackhole, unreachable, prohibit) on a link clients
                    // are expected on matters; "no route at all" means nothing sends them here.
                    let explicit = ["blackhole", "unreachable", "prohibit"].contains(type)
                    p.severity = sev(explicit ? .default : .specific)
                case .ecmpSplit(let egress, let table, let rule, let route):
                    kind = .ecmpSplit
                    p.egress = egress.joined(separator: ","); p.table = table; p.rule = rule; p.route = route.rawValue
                    p.severity = sev(route)
                }
                let set = describe ? SourceSet(ranges, reachable: shortForms ? reachable : nil, limit: maxSources) : SourceSet(blocks: [], total: 0, except: nil)
                if describe {
                    p.sources = set.blocks; p.sourcesTotal = set.total
                    p.sourcesTruncated = set.total > set.blocks.count; p.sourcesExcept = set.except
                }
                if byKind[kind] == nil { kinds.append(kind) }
                byKind[kind, default: []].append((p, ranges, error, set))
            }
            for kind in kinds {
                // The worst part first, then by route.
                let group = byKind[kind]!.sorted { x, y in
                    if x.0.severity != y.0.severity { return x.0.severity > y.0.severity }
                    return (x.0.egress ?? "", x.0.gateway?.description ?? "", x.0.unroutable ?? "", x.0.route ?? "")
                        < (y.0.egress ?? "", y.0.gateway?.description ?? "", y.0.unroutable ?? "", y.0.route ?? "")
                }
                let parts = group.map(\.0)
                let ranges = AddressRanges(merging: group.map(\.1), family: r.address.family)
                let set = describe ? SourceSet(ranges, reachable: shortForms ? reachable : nil, limit: maxSources) : SourceSet(blocks: [], total: 0, except: nil)
                var f = Finding(kind: kind, severity: parts.map(\.severity).max()!, netns: netns,
                                summary: summary(kind, a, r.ingress, set, parts, group.map(\.3), ns: ns))
                f.parts = parts
                let egresses = Set(parts.flatMap { ($0.egress ?? "").split(separator: ",").map(String.init) }).sorted()
                if !egresses.isEmpty { f.egress = egresses.joined(separator: ",") }
                let gateways = Set(parts.compactMap(\.gateway))
                if gateways.count == 1 { f.gateway = gateways.first }
                if Set(parts.map(\.table)).count == 1 { f.table = parts[0].table }
                if Set(parts.map(\.rule)).count == 1 { f.rule = parts[0].rule }
                if kind == .rpFilterDrop {
                    let all = ns.settings.ipv4.all.rpFilter ?? 0
                    let dev = ns.settings.ipv4.devices[r.ingress]?.rpFilter ?? 0
                    f.details = ["rp_filter.all": String(all), "rp_filter.\(r.ingress)": String(dev),
                                 "rp_filter.effective": String(max(all, dev)),
                                 "kernel_error": Set(group.compactMap(\.2)).sorted().joined(separator: ",")]
                }
                if kind == .replyUnroutable {
                    f.details = ["route": Set(parts.compactMap(\.unroutable)).sorted().joined(separator: ",")]
                }
                // What lies behind the ingress decided the severity: say it.
                if let far = farSides[r.ingress] {
                    f.details = (f.details ?? [:]).merging(["ingress_far_side": "\(far.state.rawValue): \(far.detail)"]) { a, _ in a }
                }
                f.localAddress = a
                f.ingress = r.ingress
                f.sources = set.blocks
                if describe {
                    f.sourcesTotal = set.total
                    f.sourcesTruncated = set.total > set.blocks.count
                    f.sourcesExcept = set.except
                    f.sourceRanges = ranges
                }
                if !services.isEmpty { f.services = services }
                // Established connections whose peer is in these ranges: real, current flows.
                let flows = ns.sockets.filter { $0.state == "ESTABLISHED" && $0.local == a && ranges.contains($0.remote) }
                if let s = flows.first {
                    f.evidence.append("socket")
                    f.severity = .error
                    var d = f.details ?? [:]
                    d["established_flows"] = String(flows.count)
                    d["example_flow"] = "\(s.protocol) \(s.remote) port \(s.remotePort) -> \(s.local) port \(s.localPort)"
                    f.details = d
                }
                f.assignID()
                out.append(f)
            }
            return out
        }
        // Many source blocks to write (a full routing table's worth): results described on
        // every core.
        let blocks = describe ? results.reduce(0) { $0 + $1.byVerdict.reduce(0) { $0 + $1.1.ranges.count } } : 0
        let lists = blocks > 100_000 ? parallelMap(results.count) { describeResult(results[$0]) } : results.map(describeResult)
        return lists.flatMap { $0 }
    }

    /// The sentence that says a return-path finding: its sources the short way, and each
    /// part's route when there are several.
    static func summary(_ kind: FindingKind, _ a: IPAddress, _ ing: String, _ set: SourceSet, _ parts: [FindingPart],
                        _ partSets: [SourceSet], ns: NamespaceSnapshot) -> String {
        let from = set.phrase()
        let places = Set(parts.map { where_($0.table, $0.rule) })
        let place = places.count == 1 ? " (\(places.first!))" : ""
        // Each part with its sources, the one longest to say last as "for the rest".
        func each(_ describe: (FindingPart) -> String) -> String {
            let phrases = partSets.map { $0.phrase(shown: 2) }
            let rest = phrases.indices.max { phrases[$0].count < phrases[$1].count } ?? 0
            let order = phrases.indices.filter { $0 != rest } + [rest]
            return order.map { i in
                let p = parts[i]
                let whom = parts.count == 1 ? "" : i == rest ? " for the rest" : " for \(phrases[i])"
                return describe(p) + whom + (places.count > 1 ? " (\(where_(p.table, p.rule)))" : "")
            }.joined(separator: ", ")
        }
        switch kind {
        case .asymmetricReply:
            let egresses = Set(parts.compactMap(\.egress)).sorted()
            let routes = each { p in
                (egresses.count > 1 ? "through \(p.egress ?? "?") " : "") + (p.gateway.map { "via \($0)" } ?? "directly")
            }
            return "Requests to \(a) arriving on \(ing) from \(from) get their replies through \(egresses.joined(separator: ", ")), not \(ing): \(routes)\(place)."
        case .rpFilterDrop:
            let all = ns.settings.ipv4.all.rpFilter ?? 0
            let dev = ns.settings.ipv4.devices[ing]?.rpFilter ?? 0
            let eff = max(all, dev)
            return "Requests to \(a) arriving on \(ing) from \(from) are dropped by \(eff == 1 ? "strict" : "loose") reverse-path filtering (rp_filter all=\(all), \(ing)=\(dev)): the route back to them does not \(eff == 1 ? "leave through" : "exist for") \(ing)."
        case .replyUnroutable:
            return "Requests to \(a) arriving on \(ing) from \(from) get no reply, there is no usable route back: \(each { $0.unroutable ?? "no route" })\(place)."
        default:
            let egresses = Set(parts.flatMap { ($0.egress ?? "").split(separator: ",").map(String.init) }).sorted()
            return "Requests to \(a) arriving on \(ing) from \(from) get their replies spread over \(egresses.joined(separator: ", ")) by multipath\(place); the kernel's hash decides per flow."
        }
    }

    static func where_(_ table: UInt32?, _ rule: UInt32?) -> String {
        var parts: [String] = []
        if let t = table { parts.append("table \(Table.name(t))") }
        if let r = rule { parts.append("rule \(r)") }
        return parts.isEmpty ? "no matching route" : parts.joined(separator: ", ")
    }

    /// Listening sockets that accept connections on `a` (bound to it, or to the wildcard in
    /// the same device/VRF scope), as "tcp/22".
    static func services(_ ns: NamespaceSnapshot, _ a: Address) -> [String] {
        let vrf = ns.link(index: a.index)?.master
        var out: Set<String> = []
        for s in ns.sockets where s.isListening && s.takes(a.local) {
            if let b = s.boundIf, b != a.index, b != vrf { continue }
            out.insert("\(s.protocol)/\(s.localPort)")
        }
        return out.sorted { a, b in
            let pa = Int(a.split(separator: "/")[1]) ?? 0, pb = Int(b.split(separator: "/")[1]) ?? 0
            return pa != pb ? pa < pb : a < b
        }
    }

    /// warning when the clients are ones this namespace knows only through a default route
    /// (so they may well sit behind the ingress) and clients from beyond the ingress's subnet
    /// are expected there (`Snapshot.routerFacingInterfaces`: the snapshot cannot see what is
    /// behind the ingress — hardware, a tunnel, a veth into a namespace not collected — or
    /// sees a router on its link; or some route uses a gateway through it); info otherwise: clients whose network is connected to or specifically
    /// routed through another interface could only arrive on the ingress spoofed or
    /// misrouted. Socket or intent evidence raises a finding to error.
    static func severity(_ ns: NamespaceSnapshot, _ r: ReturnPathAnalysis.Result, services: [String],
                         route: ReturnPathAnalysis.RouteKind, routerFacing: Set<String>, gatewayLinks: Set<Int32>) -> Severity {
        guard route == .default, let ing = ns.link(named: r.ingress) else { return .info }
        return gatewayLinks.contains(ing.index) || routerFacing.contains(ing.name) ? .warning : .info
    }

}

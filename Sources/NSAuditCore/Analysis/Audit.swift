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
    }

    /// Audits every namespace of the snapshot, or only those in `only` (the others still
    /// inform the audit: e.g. which veth peers are routers).
    public func run(namespaces only: Set<String>? = nil) -> Outcome {
        let chosen = snapshot.namespaces.filter { only?.contains($0.id) ?? true }
        // Namespaces are independent. A big one (a full routing table) is audited alone, its
        // own work spread over every core (work nested in a concurrent loop would run on one
        // thread); then the others side by side on every core.
        let big = chosen.indices.filter { chosen[$0].routes.count >= Self.bigNamespace }
            .sorted { chosen[$0].routes.count > chosen[$1].routes.count }
        let small = chosen.indices.filter { chosen[$0].routes.count < Self.bigNamespace }
        var byIndex = [NamespaceAudit?](repeating: nil, count: chosen.count)
        for i in big { byIndex[i] = auditNamespace(chosen[i]) }
        let done = parallelMap(small.count) { k in auditNamespace(chosen[small[k]]) }
        for (k, i) in small.enumerated() { byIndex[i] = done[k] }
        var namespaces: [ReportNamespace] = []
        var findings: [Finding] = []
        var models: [String: RoutingModel] = [:]
        var samples: [SelfCheckSample] = []
        for (i, x) in byIndex.enumerated() {
            let (entry, nsFindings, model, nsSamples) = x!
            namespaces.append(entry)
            findings += nsFindings
            if let model { models[chosen[i].id] = model }
            samples += nsSamples
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
        return Outcome(namespaces: namespaces, findings: findings.sorted(by: Self.order), models: models, samples: samples)
    }

    /// Namespaces with this many routes are audited one at a time, each on every core.
    static let bigNamespace = 50_000

    typealias NamespaceAudit = (ReportNamespace, [Finding], RoutingModel?, [SelfCheckSample])

    /// The report entry, findings, FIB model and self-check samples of one namespace.
    func auditNamespace(_ ns: NamespaceSnapshot) -> NamespaceAudit {
        var entry = ReportNamespace(name: ns.names.first ?? ns.id, id: ns.id, status: ns.status.rawValue,
                                    interfaces: interfaces(ns), addressesAudited: 0, errors: [])
        if ns.status != .ok {
            entry.errors.append("\(ns.status.rawValue): \(ns.error ?? "no detail")")
            var f = Finding(kind: .collectionError, severity: ns.status == .vanished ? .info : .warning, netns: entry.name,
                            summary: "Namespace \(ns.id) could not be audited: \(ns.status.rawValue)\(ns.error.map { " (\($0))" } ?? "").")
            f.evidence = ["collector"]
            f.assignID()
            return (entry, [f], nil, [])
        }
        if !ns.consistent { entry.errors.append("dumps kept changing during collection (NLM_F_DUMP_INTR); the snapshot may mix states") }
        // The FIB model and the analysis's own structures, built side by side.
        let (model, prepared) = parallel({ RoutingModel(ns) }, { ReturnPathAnalysis.Prepared(ns) })
        let facts = RouteFacts(ns.routes)
        let analysis = ReturnPathAnalysis(ns, model: model, options: .init(anyIngress: options.anyIngress), prepared: prepared,
                                          facts: facts)
        entry.addressesAudited = analysis.auditedAddresses.count
        let results = analysis.run()
        var nsFindings = Self.findings(ns, entry.name, results, routerFacing: snapshot.routerFacingInterfaces(ns),
                                       maxSources: options.maxSources, gatewayLinks: facts.gatewayLinks)
        nsFindings += Misconfiguration.check(ns, netns: entry.name)
        // What Remediator.audit gives for the namespace as it is: the same analysis,
        // findings and checks (flow intents are not part of it).
        let memo = Remediator.Memo(before: Set(nsFindings.map(\.id)))
        nsFindings += FlowIntent.check(options.intents, ns: ns, netns: entry.name, model: model)
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
        return (entry, nsFindings, model, options.selfCheckSamples ? SelfCheck.samples(ns, results) : [])
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
            return ReportInterface(name: l.name, state: l.operstate, addresses: addrs, vrf: vrf,
                                   rpFilter: ns.settings.recordedRPFilter(l.name))
        }
    }

    /// Findings for the return-path verdicts of one namespace.
    /// `describe: false` leaves out the source lists (and the summaries' samples of them): for
    /// callers that only compare identities and severities (remediation checks).
    static func findings(_ ns: NamespaceSnapshot, _ netns: String, _ results: [ReturnPathAnalysis.Result],
                         routerFacing: Set<String>, describe: Bool = true, maxSources: Int = .max,
                         gatewayLinks known: Set<Int32>? = nil) -> [Finding] {
        let gatewayLinks = known ?? (results.isEmpty ? [] : RouteFacts(ns.routes).gatewayLinks)
        // The findings of one (address, ingress) result.
        @Sendable func describeResult(_ r: ReturnPathAnalysis.Result) -> [Finding] {
            var out: [Finding] = []
            let a = r.address.local
            let services = Self.services(ns, r.address)
            for (verdict, ranges) in r.byVerdict {
                var f: Finding
                let sources = describe ? ranges.prefixes(limit: maxSources) : []
                let count = describe ? (sources.count < maxSources ? sources.count : ranges.prefixCount) : 0
                let sample = sources.prefix(3).map(\.description).joined(separator: ", ") + (count > 3 ? " and \(count - 3) more" : "")
                switch verdict {
                case .symmetric, .notApplicable, .requestRejected:
                    continue
                case .asymmetric(let egress, let gw, let table, let rule, let route):
                    f = Finding(kind: .asymmetricReply, severity: .warning, netns: netns,
                                summary: "Requests to \(a) arriving on \(r.ingress) from \(sample) get their replies through \(egress)\(gw.map { " via \($0)" } ?? "") (\(where_(table, rule))), not \(r.ingress).")
                    f.egress = egress; f.gateway = gw; f.table = table; f.rule = rule
                    f.severity = severity(ns, r, services: services, route: route, routerFacing: routerFacing, gatewayLinks: gatewayLinks)
                case .rpFilterDrop(let error, let rule, let reverse):
                    let all = ns.settings.ipv4.all.rpFilter ?? 0
                    let dev = ns.settings.ipv4.devices[r.ingress]?.rpFilter ?? 0
                    let eff = max(all, dev)
                    f = Finding(kind: .rpFilterDrop, severity: .warning, netns: netns,
                                summary: "Requests to \(a) arriving on \(r.ingress) from \(sample) are dropped by \(eff == 1 ? "strict" : "loose") reverse-path filtering (rp_filter all=\(all), \(r.ingress)=\(dev)): the route back to them does not \(eff == 1 ? "leave through" : "exist for") \(r.ingress).")
                    f.rule = rule
                    f.details = ["rp_filter.all": String(all), "rp_filter.\(r.ingress)": String(dev),
                                 "rp_filter.effective": String(eff), "kernel_error": error]
                    f.severity = severity(ns, r, services: services, route: reverse, routerFacing: routerFacing, gatewayLinks: gatewayLinks)
                case .unroutable(let type, let table, let rule):
                    f = Finding(kind: .replyUnroutable, severity: .warning, netns: netns,
                                summary: "Replies from \(a) to clients \(sample) arriving on \(r.ingress) have no usable route back (\(type), \(where_(table, rule))).")
                    f.table = table; f.rule = rule
                    f.details = ["route": type]
                    // A configured drop (blackhole, unreachable, prohibit) on a link clients
                    // are expected on matters; "no route at all" means nothing sends them here.
                    let explicit = ["blackhole", "unreachable", "prohibit"].contains(type)
                    f.severity = severity(ns, r, services: services, route: explicit ? .default : .specific, routerFacing: routerFacing, gatewayLinks: gatewayLinks)
                case .ecmpSplit(let egress, let table, let rule, let route):
                    f = Finding(kind: .ecmpSplit, severity: .warning, netns: netns,
                                summary: "Replies from \(a) to clients \(sample) arriving on \(r.ingress) are spread over \(egress.joined(separator: ", ")) by multipath (\(where_(table, rule))); the kernel's hash decides per flow.")
                    f.egress = egress.joined(separator: ","); f.table = table; f.rule = rule
                    f.severity = severity(ns, r, services: services, route: route, routerFacing: routerFacing, gatewayLinks: gatewayLinks)
                }
                f.localAddress = a
                f.ingress = r.ingress
                f.sources = sources
                if describe {
                    f.sourcesTotal = count
                    f.sourcesTruncated = count > sources.count
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
    /// are expected there (a router sits on the ingress link, or some route uses a gateway
    /// through it); info otherwise: clients whose network is connected to or specifically
    /// routed through another interface could only arrive on the ingress spoofed or
    /// misrouted. Socket or intent evidence raises a finding to error.
    static func severity(_ ns: NamespaceSnapshot, _ r: ReturnPathAnalysis.Result, services: [String],
                         route: ReturnPathAnalysis.RouteKind, routerFacing: Set<String>, gatewayLinks: Set<Int32>) -> Severity {
        guard route == .default, let ing = ns.link(named: r.ingress) else { return .info }
        return gatewayLinks.contains(ing.index) || routerFacing.contains(ing.name) ? .warning : .info
    }

}

extension Snapshot {
    /// Interfaces of `ns` whose veth peer is in a forwarding namespace of this snapshot with
    /// an address on the same subnet: a router sits on that link, so clients from beyond the
    /// subnet are expected to arrive through it.
    public func routerFacingInterfaces(_ ns: NamespaceSnapshot) -> Set<String> {
        var out: Set<String> = []
        for l in ns.links {
            guard let peerID = l.peerNetns, let peerIndex = l.link, let peer = namespace(peerID),
                  let pl = peer.link(index: peerIndex) else { continue }
            let forwarding = (peer.settings.ipForward ?? 0) == 1 || (peer.settings.ipv6.all.forwarding ?? 0) == 1
            guard forwarding else { continue }
            let mine = ns.addresses.filter { $0.index == l.index }.map(\.prefix)
            let theirs = peer.addresses.filter { $0.index == pl.index }
            if theirs.contains(where: { t in mine.contains { $0.contains(t.local) } }) { out.insert(l.name) }
        }
        return out
    }
}

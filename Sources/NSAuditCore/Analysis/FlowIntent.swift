
/// A declared, expected flow (`--flows FILE`, YAML). Two shapes:
///
///     flows:
///       - name: management ssh          # to a local address of the namespace
///         netns: server
///         clients: [192.168.127.0/24]
///         to: 10.99.0.40
///         protocol: tcp
///         port: 22
///         ingress: ens19
///       - name: transit north           # forwarded through the namespace
///         netns: router
///         clients: [192.168.0.0/16]
///         to: 0.0.0.0/0
///         ingress: eth1
///         egress: eth0
///         transit: true
///
/// Every flow expects symmetry: replies leave through the interface the request came in on.
public struct FlowIntent: Codable, Sendable, Equatable {
    public var name: String
    public var netns: String?
    public var clients: [String]
    public var to: String
    public var `protocol`: String?
    public var port: UInt16?
    public var ingress: String
    public var egress: String?
    public var transit: Bool?

    /// Parses a flows file; errors name the flow, the field and its line and column
    /// (`FlowsFileReader`: streamed, one flow at a time).
    public static func parse(yaml: String, name: String) throws -> [FlowIntent] {
        do throws(FlowsFileReader.Failure) {
            return try FlowsFileReader(name: name).read(yaml)
        } catch {
            throw FlowIntentError(file: name, message: error.message)
        }
    }

    public init(name: String, netns: String? = nil, clients: [String], to: String, protocol: String? = nil, port: UInt16? = nil,
                ingress: String, egress: String? = nil, transit: Bool? = nil) {
        self.name = name; self.netns = netns; self.clients = clients; self.to = to; self.protocol = `protocol`
        self.port = port; self.ingress = ingress; self.egress = egress; self.transit = transit
    }

    /// The checks beyond the file's shape: addresses, families, protocol, a local `to`.
    func validate(_ label: String, _ fail: (String) -> FlowIntentError) throws(FlowIntentError) {
        guard !clients.isEmpty else { throw fail("\(label): clients is empty") }
        var family: IPAddress.Family?
        for c in clients {
            do throws(IPPrefixError) { family = try IPPrefix(validating: c).family } catch { throw fail("\(label): client: \(error)") }
        }
        let to: IPPrefix
        do throws(IPPrefixError) { to = try IPPrefix(validating: self.to) } catch { throw fail("\(label): to: \(error)") }
        if family != to.family || clients.contains(where: { IPPrefix($0)?.family != to.family }) {
            throw fail("\(label): clients and to are of different address families")
        }
        if let p = self.protocol, IPProto.parse(p) == nil {
            throw fail("\(label): unknown protocol \"\(p)\"")
        }
        if transit != true && !to.isHost {
            throw fail("\(label): to must be one local address (or set transit: true)")
        }
    }

    func applies(to ns: NamespaceSnapshot) -> Bool {
        guard let n = netns else { return true }
        return ns.id == n || ns.names.contains(n)
    }

    /// intent-violated findings (errors) for the flows that apply to no namespace of the
    /// snapshot: one that names a namespace the snapshot does not hold, or, without a
    /// namespace, one whose ingress interface no namespace has. Such a flow cannot be
    /// checked, and passing it over would report a declared flow as fine.
    public static func unmatched(_ intents: [FlowIntent], in snapshot: Snapshot) -> [Finding] {
        var names = Set<String>(), links = Set<String>()
        for ns in snapshot.namespaces {
            names.insert(ns.id); names.formUnion(ns.names)
            for l in ns.links { links.insert(l.name) }
        }
        var out: [Finding] = []
        for intent in intents {
            let summary: String
            if let n = intent.netns {
                if names.contains(n) { continue }
                summary = "Declared flow \"\(intent.name)\" cannot be checked: the snapshot has no namespace \"\(n)\"."
            } else {
                if links.contains(intent.ingress) { continue }
                summary = "Declared flow \"\(intent.name)\" cannot be checked: no namespace has its ingress interface \"\(intent.ingress)\"."
            }
            var f = Finding(kind: .intentViolated, severity: .error, netns: intent.netns ?? "", summary: summary)
            f.evidence = ["intent"]
            f.ingress = intent.ingress
            f.details = ["intent": intent.name, "key": intent.name]
            f.assignID()
            out.append(f)
        }
        return out
    }

    /// intent-violated findings for the flows that apply to `ns`.
    public static func check(_ intents: [FlowIntent], ns: NamespaceSnapshot, netns: String, model: RoutingModel) -> [Finding] {
        var out: [Finding] = []
        // One analysis for the namespace, one result per (address, ingress): many flows
        // share them (a flows file may declare hundreds of thousands).
        var analysis: ReturnPathAnalysis?
        var results: [LocalKey: ReturnPathAnalysis.Result] = [:]
        let linkNames = Set(ns.links.map(\.name))
        for intent in intents where intent.applies(to: ns) {
            // A flow without a namespace applies only where its ingress exists.
            if intent.netns == nil && !linkNames.contains(intent.ingress) { continue }
            let found: Problem?
            if intent.transit == true {
                found = intent.checkTransit(ns, model)
            } else {
                found = intent.checkLocal(ns) { addr, ing in
                    let key = LocalKey(address: addr.local, ingress: ing.index)
                    if let r = results[key] { return r }
                    if analysis == nil { analysis = ReturnPathAnalysis(ns, model: model) }
                    let r = analysis!.analyze(addr, ingress: ing)
                    results[key] = r
                    return r
                }
            }
            if let problem = found {
                var f = Finding(kind: .intentViolated, severity: .error, netns: netns,
                                summary: "Declared flow \"\(intent.name)\" is violated: \(problem.summary)")
                f.evidence = ["intent", "model"]
                f.localAddress = intent.transit == true ? nil : IPPrefix(intent.to)?.address
                f.ingress = intent.ingress
                f.egress = problem.egress
                f.gateway = problem.gateway
                f.table = problem.table
                f.rule = problem.rule
                f.sources = problem.sources
                f.details = ["intent": intent.name, "key": intent.name]
                f.assignID()
                out.append(f)
            }
        }
        return out
    }

    struct Problem {
        var summary: String
        var sources: [IPPrefix] = []
        var egress: String?
        var gateway: IPAddress?
        var table: UInt32?
        var rule: UInt32?
    }

    struct LocalKey: Hashable { var address: IPAddress; var ingress: Int32 }

    /// `analyze` gives the analysis of an (address, ingress) of `ns`.
    func checkLocal(_ ns: NamespaceSnapshot, analyze: (Address, Link) -> ReturnPathAnalysis.Result) -> Problem? {
        let to = IPPrefix(self.to)!.address
        guard let addr = ns.addresses.first(where: { $0.local == to }) else {
            return Problem(summary: "\(to) is not an address of this namespace.")
        }
        guard let ing = ns.link(named: ingress) else {
            return Problem(summary: "interface \(ingress) does not exist in this namespace.")
        }
        let result = analyze(addr, ing)
        var bad: [IPPrefix] = []
        var first: (ReturnPathAnalysis.Verdict, [IPPrefix])?
        for (verdict, ranges) in result.byVerdict {
            var hit: [IPPrefix] = []
            for c in clients { hit += ranges.intersecting(IPPrefix(c)!).prefixes }
            if !hit.isEmpty {
                bad += hit
                if first == nil { first = (verdict, hit) }
            }
        }
        guard let (verdict, hit) = first else { return nil }
        var p = Problem(summary: "", sources: bad)
        let who = "clients \(hit.prefix(3).map(\.description).joined(separator: ", "))"
        switch verdict {
        case .asymmetric(let e, let gw, let t, let r, _):
            p.summary = "\(who) reach \(to) on \(ingress) but the replies leave through \(e)\(gw.map { " via \($0)" } ?? "")."
            p.egress = e; p.gateway = gw; p.table = t; p.rule = r
        case .rpFilterDrop:
            p.summary = "requests from \(who) arriving on \(ingress) are dropped by reverse-path filtering."
        case .unroutable(let type, let t, let r):
            p.summary = "replies to \(who) have no route back (\(type))."
            p.table = t; p.rule = r
        case .ecmpSplit(let e, let t, let r, _):
            p.summary = "replies to \(who) are spread over \(e.joined(separator: ", "))."
            p.egress = e.joined(separator: ","); p.table = t; p.rule = r
        case .requestRejected(let e):
            p.summary = "requests from \(who) arriving on \(ingress) are rejected (\(e))."
        case .symmetric, .notApplicable:
            return nil
        }
        return p
    }

    func checkTransit(_ ns: NamespaceSnapshot, _ model: RoutingModel) -> Problem? {
        let dst = IPPrefix(self.to)!
        guard ns.link(named: ingress) != nil else { return Problem(summary: "interface \(ingress) does not exist in this namespace.") }
        let proto = self.protocol.flatMap { IPProto.parse($0) } ?? 0
        // Representatives: both ends and the middle of each client and destination prefix.
        func reps(_ p: IPPrefix) -> [IPAddress] {
            let lo = p.address.bits, hi = p.last.bits
            let mid = lo + (hi - lo) / 2
            return Array(Set([lo, mid, hi])).sorted().map { IPAddress(family: p.family, bits: $0) }
                .filter { !$0.isZeronet && !$0.isMulticast && !$0.isLoopback && !$0.isLimitedBroadcast }
        }
        for c in clients.compactMap(IPPrefix.init) {
            for client in reps(c) {
                for d in reps(dst) {
                    var fwd = RouteQuery(dst: d, line: "transit")
                    fwd.src = client; fwd.iif = ingress; fwd.ipproto = proto; fwd.dport = port ?? 0
                    guard let f = try? model.routeGet(fwd) else { continue }
                    if let e = f.error {
                        return Problem(summary: "traffic from \(client) to \(d) arriving on \(ingress) is not forwarded (\(e.rawValue)).",
                                       sources: [c], table: f.table, rule: f.rule)
                    }
                    let outDev = f.dev ?? f.multipath.first?.dev ?? "?"
                    if let want = egress, outDev != want {
                        return Problem(summary: "traffic from \(client) to \(d) arriving on \(ingress) is forwarded out \(outDev), not \(want).",
                                       sources: [c], egress: outDev, gateway: f.gateway, table: f.table, rule: f.rule)
                    }
                    var back = RouteQuery(dst: client, line: "transit-reply")
                    back.src = d; back.iif = outDev; back.ipproto = proto; back.sport = port ?? 0
                    guard let b = try? model.routeGet(back) else { continue }
                    if let e = b.error {
                        return Problem(summary: "replies from \(d) to \(client) arriving on \(outDev) are not forwarded (\(e.rawValue)).",
                                       sources: [c], table: b.table, rule: b.rule)
                    }
                    let backDev = b.dev ?? b.multipath.first?.dev ?? "?"
                    if backDev != ingress {
                        return Problem(summary: "replies from \(d) to \(client) leave through \(backDev), not \(ingress) where the request came in.",
                                       sources: [c], egress: backDev, gateway: b.gateway, table: b.table, rule: b.rule)
                    }
                }
            }
        }
        return nil
    }
}

public struct FlowIntentError: Error, CustomStringConvertible {
    public var file: String
    public var message: String
    public var description: String { "\(file): \(message)" }
}

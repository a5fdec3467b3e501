import Synchronization

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
    /// `label` names the flow in errors (made only when one is thrown).
    func validate(_ label: () -> String, _ fail: (String) -> FlowIntentError) throws(FlowIntentError) {
        guard !clients.isEmpty else { throw fail("\(label()): clients is empty") }
        var family: IPAddress.Family?
        for c in clients {
            do throws(IPPrefixError) { family = try IPPrefix(validating: c).family } catch { throw fail("\(label()): client: \(error)") }
        }
        let to: IPPrefix
        do throws(IPPrefixError) { to = try IPPrefix(validating: self.to) } catch { throw fail("\(label()): to: \(error)") }
        if family != to.family || clients.contains(where: { IPPrefix($0)?.family != to.family }) {
            throw fail("\(label()): clients and to are of different address families")
        }
        if let p = self.protocol, IPProto.parse(p) == nil {
            throw fail("\(label()): unknown protocol \"\(p)\"")
        }
        if transit != true && !to.isHost {
            throw fail("\(label()): to must be one local address (or set transit: true)")
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

    /// intent-violated findings for the transit flows that apply to `ns` (checked on the
    /// namespace's own model: the request forwarded from ingress to egress, the reply back).
    public static func check(_ intents: [FlowIntent], ns: NamespaceSnapshot, netns: String, model: RoutingModel) -> [Finding] {
        intents.filter { $0.transit == true && $0.applies(to: ns) && ($0.netns != nil || ns.link(named: $0.ingress) != nil) }
            .compactMap { intent in intent.checkTransit(ns, model).map { intent.finding($0, netns: netns) } }
    }

    /// intent-violated findings for the flows to a local address, checked end to end with
    /// the trace engine (`Trace`): from each client namespace of the host behind the
    /// intent's ingress (one holding a client address), or, when the clients are outside
    /// the host, as arriving on the ingress from representatives of each client prefix. A
    /// flow is violated unless it is accepted in the intent's namespace, having come in on
    /// the ingress, and its reply retraces it.
    ///
    /// Intents are checked on every core, in pieces, findings in input order. Flows that
    /// trace alike (the same start, arguments, namespace and ingress: intents differing in
    /// name only, or in client prefixes with the same representatives) are traced and judged
    /// once.
    public static func checkEndToEnd(_ intents: [FlowIntent], context: TraceContext) -> [Finding] {
        let local = intents.filter { $0.transit != true }
        let verdicts = Verdicts()
        let chunk = max(1, min(1024, local.count / (processorCount * 8)))
        let pieces = parallelMap((local.count + chunk - 1) / chunk) { c in
            var out: [Finding] = []
            for intent in local[(c * chunk)..<min(local.count, (c + 1) * chunk)] {
                for ns in context.snapshot.namespaces where ns.status == .ok && intent.applies(to: ns) {
                    if intent.netns == nil && ns.link(named: intent.ingress) == nil { continue }
                    if let p = intent.checkLocal(ns, context, verdicts) {
                        out.append(intent.finding(p, netns: ns.names.first ?? ns.id))
                    }
                }
            }
            return out
        }
        return pieces.flatMap { $0 }
    }

    /// What one traced flow came to, by what decides it (`checkLocal`'s key), shared by the
    /// workers of `checkEndToEnd`.
    /// Also the namespaces behind each (namespace, ingress), walked once for all intents.
    final class Verdicts: Sendable {
        private let known = Mutex<[String: Problem?]>([:])
        private let behind = Mutex<[String: [Int]]>([:])
        func get(_ key: String) -> Problem?? { known.withLock { $0[key] } }
        func set(_ key: String, _ p: Problem?) { known.withLock { $0[key] = p } }
        func namespacesBehind(_ ns: NamespaceSnapshot, _ ingress: Link, _ context: TraceContext) -> [Int] {
            let key = "\(ns.id)\u{0}\(ingress.index)"
            if let known = behind.withLock({ $0[key] }) { return known }
            let found = FlowIntent.namespacesBehind(ns, ingress, context)
            behind.withLock { $0[key] = found }
            return found
        }
    }

    func finding(_ problem: Problem, netns: String) -> Finding {
        var f = Finding(kind: .intentViolated, severity: .error, netns: netns,
                        summary: "Declared flow \"\(name)\" is violated: \(problem.summary)")
        f.evidence = ["intent", "model"]
        f.localAddress = transit == true ? nil : IPPrefix(to)?.address
        f.ingress = ingress
        f.egress = problem.egress
        f.gateway = problem.gateway
        f.table = problem.table
        f.rule = problem.rule
        f.sources = problem.sources
        f.details = ["intent": name, "key": name]
        if let t = problem.trace { f.details?["trace"] = t }
        f.assignID()
        return f
    }

    struct Problem {
        var summary: String
        var sources: [IPPrefix] = []
        var egress: String?
        var gateway: IPAddress?
        var table: UInt32?
        var rule: UInt32?
        /// The `nsaudit trace` command that shows it.
        var trace: String?
    }

    /// Source port of the traced flows: one from the kernel's default ephemeral range.
    static let clientPort: UInt16 = 40000

    func checkLocal(_ ns: NamespaceSnapshot, _ context: TraceContext, _ verdicts: Verdicts) -> Problem? {
        let to = IPPrefix(self.to)!.address
        guard ns.addresses.contains(where: { $0.local == to }) else {
            return Problem(summary: "\(to) is not an address of this namespace.")
        }
        guard let ing = ns.link(named: ingress) else {
            return Problem(summary: "interface \(ingress) does not exist in this namespace.")
        }
        let prefixes = clients.compactMap(IPPrefix.init)
        let proto = self.protocol.flatMap { IPProto.parse($0) } ?? 0
        var flowText = "\(to)"
        if proto != 0 { flowText += " ipproto \(IPProto.name(proto))" }
        if proto == IPProto.tcp || proto == IPProto.udp { flowText += " sport \(Self.clientPort) dport \(port ?? 0)" }
        // Clients inside the host: namespaces behind the ingress holding a client address.
        let behind = verdicts.namespacesBehind(ns, ing, context)
        var starts: [(netns: String, src: IPAddress, prefix: IPPrefix, iif: String?)] = []
        for i in behind {
            let n = context.snapshot.namespaces[i]
            for a in n.addresses where a.family == to.family {
                if let p = prefixes.first(where: { $0.contains(a.local) }) { starts.append((n.id, a.local, p, nil)) }
            }
        }
        let outside = starts.isEmpty
        if outside {
            for p in prefixes { for c in Self.representatives(p) { starts.append((ns.id, c, p, ingress)) } }
        }
        var bad: [IPPrefix] = []
        var first: Problem? = nil
        for s in starts {
            let args = "\(flowText) from \(s.src)" + (s.iif.map { " iif \($0)" } ?? "")
            let key = "\(s.netns)\u{0}\(args)\u{0}\(ns.id)\u{0}\(ingress)"
            let verdict: Problem?
            if let known = verdicts.get(key) { verdict = known } else {
                do {
                    let trace = try Trace.run(try TraceFlow.parse(netns: s.netns, arguments: args), in: context)
                    verdict = judge(trace, ns: ns, outside: outside).map { p in
                        var p = p
                        p.trace = "nsaudit trace --netns \(s.netns) \(args)"
                        return p
                    }
                } catch {
                    verdict = Problem(summary: "the flow from \(s.src) cannot be traced: \(error)")
                }
                verdicts.set(key, verdict)
            }
            guard let problem = verdict else { continue }
            bad.append(s.prefix)
            if first == nil { first = problem }
        }
        guard var p = first else { return nil }
        var seen: Set<IPPrefix> = []
        p.sources = bad.filter { seen.insert($0).inserted }
        return p
    }

    /// What is wrong with one traced flow of the intent, or nil.
    func judge(_ t: TraceResult, ns: NamespaceSnapshot, outside: Bool) -> Problem? {
        let who = "\(t.flow.protocolName) from \(t.source?.description ?? "?")\(t.flow.iif == nil ? " in \(t.flow.netns)" : "")"
        for b in t.branches {
            let f = b.forward
            guard f.disposition == .accepted else {
                return Problem(summary: "\(who) \(TraceRenderer.phrase(f.disposition)) in \(f.endNetns ?? "?"): \(f.detail).",
                               table: f.hops.last?.table, rule: f.hops.last?.rule)
            }
            let last = f.hops.last
            if last?.netns != ns.id || (last?.inInterface != ingress && last?.inPort != ingress) {
                return Problem(summary: "\(who) is accepted in \(last?.netns ?? "?") on \(last?.inInterface ?? "-"), not in \(ns.id) on \(ingress).")
            }
            if outside {
                // the far side of the ingress is not the clients': judge the reply where it
                // leaves this namespace
                guard let r = b.reverse.first, let h = r.hops.first else { continue }
                if h.outInterface != ingress || h.netns != ns.id {
                    return Problem(summary: "\(who) is accepted on \(ingress) but the reply leaves through \(h.outInterface ?? "nothing")\(h.gateway.map { " via \($0)" } ?? "") (\(Trace.decisionText(h))).",
                                   egress: h.outInterface, gateway: h.gateway, table: h.table, rule: h.rule)
                }
                continue
            }
            if !b.symmetric {
                let d = b.divergence
                let r = b.reverse.first { $0.disposition != .delivered } ?? b.reverse.first
                let end = r.map { " and \(TraceRenderer.phrase($0.disposition)) in \($0.endNetns ?? "?")" } ?? ""
                let h = d.flatMap { d in b.reverse.first?.hops.indices.contains(d.hop) == true ? b.reverse.first?.hops[d.hop] : nil }
                return Problem(summary: "\(who) is accepted, but the reply \(d.map { "diverges at \($0.netns): \($0.why)" } ?? "does not come back the same way")\(end).",
                               egress: d?.out, gateway: h?.gateway, table: d?.table, rule: d?.rule)
            }
        }
        return nil
    }

    /// Namespaces reached from the far side of `ingress` through links (veth peers, bridge
    /// ports) without passing through `ns` itself: where the intent's clients sit on this host.
    static func namespacesBehind(_ ns: NamespaceSnapshot, _ ingress: Link, _ context: TraceContext) -> [Int] {
        guard let me = context.namespaceIndex(ns.id) else { return [] }
        var starts: [Int] = []
        if let far = context.vethPeer(me, ingress) { starts.append(far.ns) }
        if ingress.kind == "bridge" { for p in context.bridgePorts(me, ingress) { if let far = context.vethPeer(me, p) { starts.append(far.ns) } } }
        var seen: Set<Int> = [me]
        var queue = starts.filter { seen.insert($0).inserted }
        var out: [Int] = []
        while let i = queue.popLast() {
            out.append(i)
            for l in context.snapshot.namespaces[i].links {
                if let far = context.vethPeer(i, l), seen.insert(far.ns).inserted { queue.append(far.ns) }
            }
        }
        return out.sorted()
    }

    /// Both ends and the middle of a client prefix (usable unicast sources only).
    static func representatives(_ p: IPPrefix) -> [IPAddress] {
        let lo = p.address.bits, hi = p.last.bits
        let mid = lo + (hi - lo) / 2
        return Array(Set([lo, mid, hi])).sorted().map { IPAddress(family: p.family, bits: $0) }
            .filter { !$0.isZeronet && !$0.isMulticast && !$0.isLoopback && !$0.isLimitedBroadcast }
    }

    func checkTransit(_ ns: NamespaceSnapshot, _ model: RoutingModel) -> Problem? {
        let dst = IPPrefix(self.to)!
        guard ns.link(named: ingress) != nil else { return Problem(summary: "interface \(ingress) does not exist in this namespace.") }
        let proto = self.protocol.flatMap { IPProto.parse($0) } ?? 0
        // Representatives: both ends and the middle of each client and destination prefix.
        let reps = Self.representatives
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

/// What the kernel answered to one RTM_GETROUTE (the lookup `ip route get` makes), as the
/// Linux layer reports it; compared with the model's answer to catch nsaudit being wrong.
public struct KernelRouteAnswer: Sendable, Equatable {
    /// errno name, e.g. "ENETUNREACH"; nil on success.
    public var error: String?
    public var type: RouteType?
    public var oif: Int32?
    public var gateway: IPAddress?
    public var table: UInt32?
    public var prefsrc: IPAddress?
    public init(error: String? = nil) { self.error = error }
}

/// One client source of one audited (address, ingress) pair, drawn from one verdict class of
/// the return-path analysis (the symmetric class included, so sources that produce no
/// finding are asked too), for the kernel self-check to ask the kernel and the model about.
public struct SelfCheckSample: Sendable, Equatable {
    /// The namespace's id.
    public var netns: String
    public var address: IPAddress
    public var ingress: String
    /// The class the audit put the source in (never `.notApplicable`).
    public var verdict: ReturnPathAnalysis.Verdict
    public var source: IPAddress
    /// The VRF a reply socket on the address is bound to, as the analysis binds it.
    public var binding: String?

    public init(netns: String, address: IPAddress, ingress: String, verdict: ReturnPathAnalysis.Verdict,
                source: IPAddress, binding: String? = nil) {
        self.netns = netns; self.address = address; self.ingress = ingress; self.verdict = verdict
        self.source = source; self.binding = binding
    }

    /// The request as it arrives: the input lookup `A from S iif I` (local delivery,
    /// rp_filter, forwarding).
    public var request: RouteQuery { SelfCheck.described(requestQuery) }

    /// `request` without its text (the check writes it only for a disagreement).
    var requestQuery: RouteQuery {
        var q = RouteQuery(dst: address, line: SelfCheck.undescribed)
        q.src = source; q.iif = ingress
        return q
    }

    /// The reply: the output lookup `S from A [oif VRF]`, bound like the socket.
    public var reply: RouteQuery { SelfCheck.described(replyQuery) }

    /// `reply` without its text.
    var replyQuery: RouteQuery {
        var q = RouteQuery(dst: source, line: SelfCheck.undescribed)
        q.src = address; q.oif = binding
        return q
    }

    /// The class's name: symmetric, or the kind of finding it gives (request-rejected for
    /// requests refused without rp_filter, which give none).
    public var verdictClass: String { SelfCheck.className(verdict) }
}

/// Checks the audit against the live kernel. Every audited (address, ingress) pair has a few
/// sampled sources per verdict class, symmetric ones included (`samples`): for each, the
/// request's input lookup and the reply's output lookup are asked of the kernel and of the
/// model. A finding is checked through the samples inside its sources (through its own
/// representative flows, `queries(for:in:)`, when none is). A disagreement, or kernel answers
/// that put a sample in another class than the audit did, becomes a `model-mismatch` finding
/// (one per namespace, address, ingress and kind of check).
public enum SelfCheck {
    /// Sources sampled per verdict class of each (address, ingress).
    public static let samplesPerClass = 3

    /// The text of a query not written yet: tens of thousands are asked, few are ever shown.
    static let undescribed = "?"

    /// `q` with its text, in `ip route get` words (dst, from, iif, oif: what the check sets).
    static func described(_ q: RouteQuery) -> RouteQuery {
        var q = q
        q.line = "\(q.dst)" + (q.src.map { " from \($0)" } ?? "") + (q.iif.map { " iif \($0)" } ?? "") + (q.oif.map { " oif \($0)" } ?? "")
        return q
    }

    /// The samples of one namespace's return-path results: from every class but not
    /// applicable, at most `perClass` sources spread over the class's ranges (`picks`). A
    /// class (ingress and verdict, which holds the table and rule decided) that another
    /// address of the namespace has already had sampled gets one source, the next of those
    /// positions in turn: addresses that route alike (a NIC's secondary addresses) are each
    /// checked without multiplying the kernel's work.
    public static func samples(_ ns: NamespaceSnapshot, _ results: [ReturnPathAnalysis.Result],
                               perClass: Int = samplesPerClass) -> [SelfCheckSample] {
        struct Class: Hashable { var family: IPAddress.Family; var ingress: String; var verdict: ReturnPathAnalysis.Verdict }
        var seen: [Class: Int] = [:]
        var out: [SelfCheckSample] = []
        let special = [IPAddress.Family.v4: ReturnPathAnalysis.specialPrefixes(.v4), .v6: ReturnPathAnalysis.specialPrefixes(.v6)]
        for r in results {
            let binding = ReturnPathAnalysis.replyBinding(ns, r.address)
            for (v, ranges) in [(ReturnPathAnalysis.Verdict.symmetric, r.symmetric)] + r.byVerdict where v != .notApplicable {
                var sources = picks(ranges, perClass, avoiding: special[ranges.family] ?? [])
                guard !sources.isEmpty else { continue }
                let c = Class(family: r.address.family, ingress: r.ingress, verdict: v)
                let before = seen[c, default: 0]
                seen[c] = before + 1
                if before > 0 { sources = [sources[(before - 1) % sources.count]] }
                for s in sources {
                    out.append(SelfCheckSample(netns: ns.id, address: r.address.local, ingress: r.ingress, verdict: v,
                                               source: s, binding: binding))
                }
            }
        }
        return out
    }

    /// At most `n` distinct addresses of `set`, spread over its ranges: the first range's start
    /// + 1, the last range's end - 1, and the middle of ranges evenly spaced between them
    /// (inner addresses, not a subnet's network or broadcast address). Never one of the
    /// special prefixes (the analysis skips those; checked anyway).
    static func picks(_ set: AddressRanges, _ n: Int,
                      avoiding special: [IPPrefix]? = nil) -> [IPAddress] {
        let rs = set.ranges
        guard !rs.isEmpty, n > 0 else { return [] }
        let special = special ?? ReturnPathAnalysis.specialPrefixes(set.family)
        var out: [IPAddress] = []
        for k in 0..<n {
            let i = n == 1 ? 0 : k * (rs.count - 1) / (n - 1)
            let (lo, hi) = rs[i]
            let bits = k == 0 ? (hi > lo ? lo + 1 : lo) : k == n - 1 ? (hi > lo ? hi - 1 : hi) : lo + (hi - lo) / 2
            let a = IPAddress(family: set.family, bits: bits)
            if !out.contains(a) && !special.contains(where: { $0.contains(a) }) { out.append(a) }
        }
        return out
    }

    /// A verdict class's name (see `SelfCheckSample.verdictClass`).
    public static func className(_ v: ReturnPathAnalysis.Verdict) -> String {
        switch v {
        case .symmetric: "symmetric"
        case .notApplicable: "not-applicable"
        case .asymmetric: FindingKind.asymmetricReply.rawValue
        case .rpFilterDrop: FindingKind.rpFilterDrop.rawValue
        case .requestRejected: "request-rejected"
        case .unroutable: FindingKind.replyUnroutable.rawValue
        case .ecmpSplit: FindingKind.ecmpSplit.rawValue
        }
    }

    /// The representative queries of a finding (at most two sources): the request for an
    /// rp_filter drop, else the reply.
    public static func queries(for f: Finding, in ns: NamespaceSnapshot) -> [RouteQuery] {
        representatives(of: f, in: ns).map(described)
    }

    /// `queries(for:in:)` without their text.
    static func representatives(of f: Finding, in ns: NamespaceSnapshot) -> [RouteQuery] {
        guard [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit].contains(f.kind),
              let a = f.localAddress, let ing = f.ingress else { return [] }
        let special = ReturnPathAnalysis.specialPrefixes(a.family)
        var reps: [IPAddress] = []
        // The blocks in memory when the audit made the finding, else its text (lazily: a
        // finding may list millions).
        let blocks: [IPPrefix] = f.sourceRanges?.prefixes(limit: 8) ?? Array(f.sources.prefix(8))
        for p in blocks {
            let w = p.family.bitWidth
            let cand = Int(p.length) >= w - 1 ? p.address : IPAddress(family: p.family, bits: p.address.bits + 1)
            if !special.contains(where: { $0.contains(cand) }) { reps.append(cand) }
            if reps.count == 2 { break }
        }
        // The reply is bound like the analysis binds it: to the VRF of the address's interface.
        let binding = ns.addresses.first { $0.local == a }.flatMap { ReturnPathAnalysis.replyBinding(ns, $0) }
        return reps.map { s in
            let sample = SelfCheckSample(netns: ns.id, address: a, ingress: ing, verdict: .symmetric, source: s, binding: binding)
            return f.kind == .rpFilterDrop ? sample.requestQuery : sample.replyQuery
        }
    }

    /// nil when the kernel agrees with the model on error and device (for multipath: the
    /// kernel's choice is one of the model's candidates); else a sentence saying how not.
    public static func disagreement(model r: RouteResult, kernel k: KernelRouteAnswer, ns: NamespaceSnapshot) -> String? {
        let kdev = ns.linkName(k.oif)
        switch (r.error, k.error) {
        case (nil, nil):
            if r.type == .local && k.type == .local { return nil }
            if r.multipath.isEmpty {
                if r.dev != kdev { return "the kernel routes \(r.query) via \(kdev ?? "?"), the model via \(r.dev ?? "?")" }
            } else if !r.multipath.contains(where: { $0.dev == kdev }) {
                return "the kernel routes \(r.query) via \(kdev ?? "?"), outside the model's multipath set \(r.multipath.map(\.dev).joined(separator: ","))"
            }
            if r.type != k.type, let kt = k.type { return "the kernel answers \(r.query) with a \(kt.name) route, the model with \(r.type?.name ?? "none")" }
            return nil
        case (let m?, let kk?):
            // Both refuse: the exact errno may differ between kernel versions for drops.
            return m.rawValue == kk || (["EINVAL", "EXDEV"].contains(m.rawValue) && ["EINVAL", "EXDEV"].contains(kk)) ? nil
                : "the kernel refuses \(r.query) with \(kk), the model with \(m.rawValue)"
        case (let m?, nil):
            return "the kernel routes \(r.query) via \(kdev ?? "?"), the model refuses it (\(m.rawValue))"
        case (nil, let kk?):
            return "the kernel refuses \(r.query) (\(kk)), the model routes it via \(r.dev ?? r.multipath.map(\.dev).joined(separator: ","))"
        }
    }

    /// nil when the kernel's answers to a sample's request and reply put its source in the
    /// class the audit gave it; else what the kernel does instead. Catches the analysis
    /// classing a range differently from what the lookups of its sources give.
    public static func contradiction(_ s: SelfCheckSample, request k: KernelRouteAnswer, reply kr: KernelRouteAnswer,
                                     ns: NamespaceSnapshot) -> String? {
        let delivered = k.error == nil && k.type == .local
        func requestDoes() -> String {
            k.error.map { "refuses the request (\($0))" }
                ?? (delivered ? "delivers the request" : "does not deliver the request locally (\(k.type?.name ?? "unknown") route)")
        }
        switch s.verdict {
        case .rpFilterDrop, .requestRejected:
            return k.error != nil ? nil : "the kernel \(requestDoes())"
        case .notApplicable:
            return nil
        case .symmetric, .asymmetric, .unroutable, .ecmpSplit:
            guard delivered else { return "the kernel \(requestDoes())" }
        }
        let routed = kr.error == nil && kr.type == .unicast
        let agrees: Bool
        switch s.verdict {
        case .symmetric: agrees = routed && ns.linkName(kr.oif) == s.ingress
        case .asymmetric(let egress, _, _, _, _): agrees = routed && ns.linkName(kr.oif) == egress
        case .ecmpSplit(let egress, _, _, _): agrees = routed && ns.linkName(kr.oif).map(egress.contains) == true
        case .unroutable: agrees = !routed
        case .rpFilterDrop, .requestRejected, .notApplicable: agrees = true
        }
        if agrees { return nil }
        let replyDoes = kr.error.map { "refuses the reply (\($0))" }
            ?? (routed ? "sends the reply through \(ns.linkName(kr.oif) ?? "?")" : "answers the reply with a \(kr.type?.name ?? "unknown") route")
        return "the kernel \(requestDoes()) and \(replyDoes)"
    }

    /// A kernel answer in `ip route get` words.
    static func describe(_ k: KernelRouteAnswer, _ ns: NamespaceSnapshot) -> String {
        if let e = k.error { return "error \(e)" }
        var s = k.type?.name ?? "unknown"
        if let d = ns.linkName(k.oif) { s += " dev \(d)" }
        if let g = k.gateway { s += " via \(g)" }
        if let t = k.table { s += " table \(Table.name(t))" }
        return s
    }

    /// The model's answer in `ip route get` words.
    static func describe(_ r: RouteResult) -> String {
        if let e = r.error { return "error \(e.rawValue)" }
        var s = r.type?.name ?? "unknown"
        if r.multipath.isEmpty {
            if let d = r.dev { s += " dev \(d)" }
            if let g = r.gateway { s += " via \(g)" }
        } else {
            s += " multipath " + r.multipath.map { "dev \($0.dev)\($0.gateway.map { " via \($0)" } ?? "")" }.joined(separator: ", ")
        }
        if let t = r.table { s += " table \(Table.name(t))" }
        return s
    }

    /// Deliberate faults of the model's answers, for tests that show the check catches a wrong
    /// model (the command line never sets one).
    @_spi(Testing) public enum Fault: String, Sendable, CaseIterable {
        /// Replies leave through a device other than the one the model chose.
        case wrongReplyEgress
        /// Requests the model would deliver locally are refused (as if by rp_filter).
        case refusesRequests
    }

    /// The model's answer, as `fault` spoils it.
    static func spoil(_ r: RouteResult, _ q: RouteQuery, _ fault: Fault?, _ ns: NamespaceSnapshot) -> RouteResult {
        guard let fault else { return r }
        var r = r
        switch fault {
        case .wrongReplyEgress:
            guard q.iif == nil, r.error == nil, r.type == .unicast else { return r }
            let used = Set([r.dev].compactMap { $0 } + r.multipath.map(\.dev))
            guard let other = (ns.links.first { !$0.isLoopback && !used.contains($0.name) } ?? ns.links.first { !used.contains($0.name) })?.name
            else { return r }
            r.dev = other
            for i in r.multipath.indices { r.multipath[i].dev = other }
        case .refusesRequests:
            guard q.iif != nil, r.error == nil, r.type == .local else { return r }
            r = .failure(q, .EXDEV)
        }
        return r
    }

    /// Which lookup a disagreement is about.
    public enum Check: String, Sendable, CaseIterable {
        /// The request's input lookup (`A from S iif I`).
        case request
        /// The reply's output lookup (`S from A`).
        case reply
        /// The class the audit gave a sampled source, against the kernel's two answers.
        case classification
    }

    /// One disagreement, before those of one (namespace, address, ingress, check) are merged.
    struct Disagreement {
        var address: IPAddress?
        var ingress: String
        var check: Check
        var why: String
        var query: String
        var kernel: String
        var model: String
        var verdictClass: String?
        /// The findings the disagreeing flow belongs to.
        var findings: [String]
    }

    /// The kernel, as the Linux layer asks it (`KernelRouteLookup.ask`): for each namespace
    /// its queries; the answers in order, or nil where the namespace could not be asked.
    public typealias Ask = @Sendable ([(NamespaceSnapshot, [RouteQuery])]) -> [[KernelRouteAnswer]?]

    /// Asks the kernel (`ask`) and the model (`models`, else built here) both lookups of every
    /// sample, and the representative flows of a finding none of whose sources was sampled;
    /// returns the findings with `kernelChecked` set where asked, after one model-mismatch
    /// finding per (namespace, address, ingress, check) that disagreed. A namespace the
    /// kernel cannot be asked in is left unchecked.
    public static func run(_ findings: [Finding], samples: [SelfCheckSample], snapshot: Snapshot,
                           models: [String: RoutingModel] = [:], ask: Ask) -> [Finding] {
        check(findings, samples, snapshot, models, fault: nil, ask: ask)
    }

    /// `run` with the model's answers spoiled by `fault` (tests).
    @_spi(Testing) public static func run(_ findings: [Finding], samples: [SelfCheckSample], snapshot: Snapshot,
                                          models: [String: RoutingModel] = [:], fault: Fault, ask: Ask) -> [Finding] {
        check(findings, samples, snapshot, models, fault: fault, ask: ask)
    }

    static func check(_ findings: [Finding], _ samples: [SelfCheckSample], _ snap: Snapshot, _ models: [String: RoutingModel],
                      fault: Fault?, ask: Ask) -> [Finding] {
        // Work per namespace (by id), in the order of the snapshot.
        var findingsOf: [String: [Int]] = [:], samplesOf: [String: [Int]] = [:]
        var idOf: [String: String] = [:]  // findings name their namespace as the report does
        for ns in snap.namespaces.reversed() { for n in ns.names { idOf[n] = ns.id } }
        for ns in snap.namespaces { idOf[ns.id] = ns.id }
        for (i, f) in findings.enumerated() where FindingKind.returnPath.contains(f.kind) {
            if let id = idOf[f.netns] { findingsOf[id, default: []].append(i) }
        }
        for (i, s) in samples.enumerated() { samplesOf[s.netns, default: []].append(i) }
        let (fOf, sOf) = (findingsOf, samplesOf)
        let jobs = snap.namespaces.filter { $0.status == .ok && (findingsOf[$0.id] != nil || samplesOf[$0.id] != nil) }
        // The queries and the model's answers, a namespace per job on every core; then the
        // kernel's answers, all namespaces at once; then the comparison.
        let plans = parallelMap(jobs.count) { j in
            plan(jobs[j], findings, fOf[jobs[j].id] ?? [], samples, sOf[jobs[j].id] ?? [],
                 model: models[jobs[j].id] ?? RoutingModel(jobs[j]), fault: fault)
        }
        let answers = ask(plans.map { ($0.ns, $0.queries) })
        let done = parallelMap(plans.count) { j -> (checked: [Int], mismatches: [Finding]) in
            guard j < answers.count, let kernel = answers[j], kernel.count == plans[j].queries.count else { return ([], []) }
            return compare(plans[j], kernel, findings, samples)
        }
        var out = findings
        for d in done { for i in d.checked { out[i].kernelChecked = true } }
        return done.flatMap(\.mismatches) + out
    }


    /// What the check asks one namespace, and the model's answers.
    struct Plan: Sendable {
        var ns: NamespaceSnapshot
        var queries: [RouteQuery] = []
        var model: [RouteResult?] = []
        /// Per sample (its position in the samples): the slots of its request and reply.
        var sampleSlots: [(sample: Int, request: Int, reply: Int)] = []
        /// Per position in `sampleSlots`: the findings whose sources hold the sample.
        var findingsOf: [Int: [Int]] = [:]
        /// Findings asked through their own representative flows (none of their sources
        /// was sampled).
        var findingSlots: [(finding: Int, slot: Int)] = []
        /// The findings checked once the kernel answers.
        var checked: [Int] = []

        mutating func add(_ q: RouteQuery) -> Int {
            queries.append(q)
            return queries.count - 1
        }
    }

    static func plan(_ ns: NamespaceSnapshot, _ findings: [Finding], _ fIndices: [Int], _ samples: [SelfCheckSample],
                     _ sIndices: [Int], model: RoutingModel, fault: Fault?) -> Plan {
        var p = Plan(ns: ns)
        struct Pair: Hashable { var address: IPAddress; var ingress: String }
        struct Reply: Hashable { var address, source: IPAddress }
        var byPair: [Pair: [Int]] = [:]
        // A reply does not depend on the ingress: asked once (--any-ingress samples alike).
        var replySlot: [Reply: Int] = [:]
        p.sampleSlots.reserveCapacity(sIndices.count)
        for i in sIndices {
            let s = samples[i]
            let rq = p.add(s.requestQuery)
            let key = Reply(address: s.address, source: s.source)
            let rp: Int
            if let x = replySlot[key] { rp = x } else { rp = p.add(s.replyQuery); replySlot[key] = rp }
            byPair[Pair(address: s.address, ingress: s.ingress), default: []].append(p.sampleSlots.count)
            p.sampleSlots.append((i, rq, rp))
        }
        for i in fIndices {
            let f = findings[i]
            if let ranges = f.sourceRanges, let a = f.localAddress, let ing = f.ingress {
                let inside = (byPair[Pair(address: a, ingress: ing)] ?? []).filter { ranges.contains(samples[p.sampleSlots[$0].sample].source) }
                for k in inside { p.findingsOf[k, default: []].append(i) }
                if !inside.isEmpty { p.checked.append(i); continue }
            }
            let reps = representatives(of: f, in: ns)
            for q in reps { p.findingSlots.append((i, p.add(q))) }
            if !reps.isEmpty { p.checked.append(i) }
        }
        p.model = p.queries.map { q in (try? model.routeGet(q)).map { spoil($0, q, fault, ns) } }
        return p
    }

    static func compare(_ p: Plan, _ kernel: [KernelRouteAnswer], _ findings: [Finding], _ samples: [SelfCheckSample])
        -> (checked: [Int], mismatches: [Finding]) {
        let ns = p.ns
        // Whether each query disagrees, then (rarely) how, with the query's text.
        let why: [String?] = p.queries.indices.map { i in
            guard var m = p.model[i], disagreement(model: m, kernel: kernel[i], ns: ns) != nil else { return nil }
            m.query = described(p.queries[i]).line
            return disagreement(model: m, kernel: kernel[i], ns: ns)
        }
        var found: [Disagreement] = []
        func lookup(_ slot: Int, _ address: IPAddress?, _ ingress: String, _ verdictClass: String?, _ affected: [Int]) {
            guard let w = why[slot], let m = p.model[slot] else { return }
            let q = p.queries[slot]
            found.append(Disagreement(address: address, ingress: ingress, check: q.iif != nil ? .request : .reply, why: w,
                                      query: described(q).line, kernel: describe(kernel[slot], ns), model: describe(m),
                                      verdictClass: verdictClass, findings: affected.map { findings[$0].id }))
        }
        for (k, (i, rq, rp)) in p.sampleSlots.enumerated() {
            let s = samples[i]
            if why[rq] != nil { lookup(rq, s.address, s.ingress, s.verdictClass, p.findingsOf[k] ?? []) }
            if why[rp] != nil { lookup(rp, s.address, s.ingress, s.verdictClass, p.findingsOf[k] ?? []) }
            if let w = contradiction(s, request: kernel[rq], reply: kernel[rp], ns: ns) {
                found.append(Disagreement(address: s.address, ingress: s.ingress, check: .classification,
                                          why: "the audit puts source \(s.source) in class \(s.verdictClass), but \(w)",
                                          query: "\(described(p.queries[rq]).line); \(described(p.queries[rp]).line)",
                                          kernel: "\(describe(kernel[rq], ns)); \(describe(kernel[rp], ns))",
                                          model: "class \(s.verdictClass)", verdictClass: s.verdictClass,
                                          findings: (p.findingsOf[k] ?? []).map { findings[$0].id }))
            }
        }
        for (i, slot) in p.findingSlots where why[slot] != nil {
            lookup(slot, findings[i].localAddress, findings[i].ingress ?? "", nil, [i])
        }
        return (p.checked, merged(found, netns: ns.names.first ?? ns.id))
    }

    /// One model-mismatch finding per (address, ingress, check), in order of first appearance:
    /// one fault typically spoils many samples alike.
    static func merged(_ found: [Disagreement], netns: String) -> [Finding] {
        struct Key: Hashable { var address: IPAddress?; var ingress: String; var check: Check }
        var order: [Key] = []
        var groups: [Key: [Disagreement]] = [:]
        for d in found {
            let k = Key(address: d.address, ingress: d.ingress, check: d.check)
            if groups[k] == nil { order.append(k) }
            groups[k, default: []].append(d)
        }
        return order.map { k in
            let g = groups[k]!, d = g[0]
            let classes = Array(Set(g.compactMap(\.verdictClass))).sorted()
            let affected = Array(Set(g.flatMap(\.findings))).sorted()
            let more = g.count > 1 ? "; \(g.count - 1) more \(g.count == 2 ? "query disagrees" : "queries disagree") alike" : ""
            let whom = affected.isEmpty ? "Findings (and their absence) for requests to \(k.address?.description ?? "?") arriving on \(k.ingress)"
                : "The finding\(affected.count > 1 ? "s" : "") \(affected.joined(separator: ", "))"
            var m = Finding(kind: .modelMismatch, severity: .error, netns: netns,
                            summary: "nsaudit's model is wrong here (\(k.check.rawValue) check): \(d.why)\(more). \(whom) cannot be trusted; please report this with the snapshot.")
            m.localAddress = k.address
            m.ingress = k.ingress
            m.evidence = ["kernel", "model"]
            m.kernelChecked = true
            var details = ["check": k.check.rawValue, "query": d.query, "kernel": d.kernel, "model": d.model,
                           "disagreements": String(g.count), "key": k.check.rawValue]
            if !classes.isEmpty { details["classes"] = classes.joined(separator: ",") }
            if !affected.isEmpty { details["findings"] = affected.joined(separator: ",") }
            m.details = details
            m.assignID()
            return m
        }
    }
}

import FoundationEssentials

/// One side of `nsaudit diff`: a snapshot (its findings come from auditing it) or a report
/// (its findings as recorded). Which one a file holds is read from its `schema` member.
public enum DiffInput: Sendable {
    case snapshot(Snapshot)
    case report(Report)

    /// Report schemas this nsaudit reads (the fields a diff needs are in both).
    public static let reportSchemas: Set<String> = ["nsaudit.report/v1", "nsaudit.report/v2"]

    /// `read` of a file's bytes as read. A snapshot as nsaudit writes it (`schema` its first
    /// member) is decoded in place in one pass, the reader checking its syntax and fields.
    /// Anything else, and any failure, goes the careful way of `read(_ data:)`: the whole
    /// document's syntax checked first, then its schema, so that errors rank as they do for
    /// every input (that check before decoding added 40% to reading a 180 MB snapshot).
    public static func read(_ bytes: [UInt8], name: String) throws(DiffInputError) -> DiffInput {
        if bytes.withUnsafeBytes({ SnapshotDecoder.leadingSchema($0) }) == Snapshot.schemaVersion,
           let s = try? SnapshotReader.decode(bytes, name: name) {
            return .snapshot(s)
        }
        return try read(Data(bytes), name: name)
    }

    /// Reads a snapshot or a report; errors name the file and say what to give instead.
    public static func read(_ data: Data, name: String) throws(DiffInputError) -> DiffInput {
        let header: Result<String?, SnapshotDecoder.Failure> = data.withUnsafeBytes { raw in
            do throws(SnapshotDecoder.Failure) { return .success(try SnapshotDecoder.schema(raw)) } catch {
                return .failure(error)
            }
        }
        let schema: String?
        switch header {
        case .success(let s): schema = s
        case .failure(.syntax):
            throw DiffInputError(file: name, problem: SnapshotReader.looksTruncated(data) ? "the JSON ends early (truncated)"
                                 : data.isEmpty ? "the file is empty" : "not JSON (syntax error)")
        case .failure(.unsupported), .failure(.field):
            // Valid JSON the fast reader leaves to Foundation (a byte order mark, UTF-16).
            struct Header: Decodable { var schema: String? }
            do { schema = try JSONDecoder().decode(Header.self, from: data).schema } catch {
                throw DiffInputError(file: name, problem: SnapshotReader.looksTruncated(data) ? "the JSON ends early (truncated)"
                                     : "not a JSON object with a \"schema\" member")
            }
        }
        guard let schema else { throw DiffInputError(file: name, problem: "no \"schema\" member: not an nsaudit snapshot or report") }
        if schema == Snapshot.schemaVersion {
            do { return .snapshot(try SnapshotReader.decode(data, name: name)) } catch {
                throw DiffInputError(file: name, problem: "\(error)", named: true)
            }
        }
        if reportSchemas.contains(schema) {
            do { return .report(try JSONDecoder().decode(Report.self, from: data)) } catch let e as DecodingError {
                throw DiffInputError(file: name, problem: "invalid report: \(Self.describe(e))")
            } catch {
                throw DiffInputError(file: name, problem: "invalid report: \(error)")
            }
        }
        throw DiffInputError(file: name, problem: "schema \"\(schema)\" is neither \(Snapshot.schemaVersion) nor "
                             + reportSchemas.sorted().joined(separator: " or "))
    }

    /// A decoding error as "at PATH: what".
    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            c.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().drop { $0 == "." }.description
        }
        switch e {
        case .keyNotFound(let k, let c): return "at \(path(c.codingPath + [k])): missing"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "at \(path(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}

/// Why a diff input could not be read.
public struct DiffInputError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var problem: String
    /// True when `problem` already starts with the file's name.
    var named = false
    public init(file: String, problem: String, named: Bool = false) { self.file = file; self.problem = problem; self.named = named }
    public var description: String {
        (named ? problem : "\(file): \(problem)")
            + "; give two snapshots (`nsaudit snapshot -o FILE`) or two reports (`nsaudit report --format json -o FILE`)"
    }
}

/// What changed in behaviour between two snapshots or reports (`nsaudit diff`): findings
/// new, resolved and changed (matched by `Finding.id`), and the configuration changes in the
/// same namespaces that explain them. JSON: `schema/diff.schema.json`.
public struct Diff: Sendable {
    public static let schemaVersion = "nsaudit.diff/v1"

    public struct Side: Sendable, Equatable {
        /// The file's name as given.
        public var file: String
        /// "snapshot" or "report".
        public var kind: String
        public var host: String
        /// When the snapshot was taken (for a report: the snapshot it was made from).
        public var takenAt: String
    }

    public struct Options: Sendable {
        /// Propose and verify fixes when auditing snapshots (so that `fix` can be compared).
        public var remediate = true
        public var anyIngress = false
        /// At most this many blocks in `sources_added` / `sources_removed`.
        public var maxSources = 1000
        public init(remediate: Bool = true, anyIngress: Bool = false, maxSources: Int = 1000) {
            self.remediate = remediate; self.anyIngress = anyIngress; self.maxSources = maxSources
        }
    }

    public var old: Side
    public var new: Side
    /// Every finding transition: new ones, resolved ones, changed ones.
    public var findings: [FindingChange]
    /// Configuration differences (two snapshots only; empty otherwise, with a note).
    public var changes: [ConfigChange]
    /// Namespaces whose findings were compared (snapshots: those a change can affect).
    public var namespacesCompared: [String]
    /// What the reader should know (e.g. configuration changes unavailable for a report).
    public var notes: [String]

    public var newFindings: [FindingChange] { findings.filter { $0.state == .new } }
    public var resolvedFindings: [FindingChange] { findings.filter { $0.state == .resolved } }
    public var changedFindings: [FindingChange] { findings.filter { $0.state == .changed } }

    /// The severities that count for `--fail-on`: of new findings, and of changed ones whose
    /// behaviour changed (their new severity). Resolved findings never fail a run, nor does a
    /// finding whose only change is its wording or its proposed fix.
    public var behaviouralSeverities: [Severity] {
        findings.filter(\.isBehavioural).compactMap { $0.new?.severity }
    }

    /// Compares two inputs. Two snapshots: configuration differences first; then only the
    /// namespaces they can affect are audited on each side (a namespace with a change, and
    /// every namespace linked to one through veth peers, transitively: the audit of a
    /// namespace reads its peers). A snapshot and a report: the snapshot is audited where the
    /// report audited (by name) and the configuration changes are unavailable. Two reports:
    /// their findings.
    /// `phase` is told when each phase ends ("configuration", "audit-old" (and the namespaces
    /// of NEW audited in full after it), "audit", "findings").
    public static func compare(old: DiffInput, oldFile: String, new: DiffInput, newFile: String,
                               options: Options = Options(), phase: (String) -> Void = { _ in }) -> Diff {
        var notes: [String] = []
        var changes: [ConfigChange] = []
        let oldFindings: [Finding], newFindings: [Finding]
        var compared: [String]
        switch (old, new) {
        case (.snapshot(let a), .snapshot(let b)):
            let (found, routes) = ConfigDiff.compare(old: a, new: b)
            changes = found
            phase("configuration")
            var scope = Set(changes.map(\.netns))
            if a.kernelFacts != b.kernelFacts {
                notes.append("the kernel facts differ (\(a.kernelFacts.release) → \(b.kernelFacts.release)): every namespace was compared")
                scope.formUnion(a.namespaces.map(ConfigDiff.name(of:)) + b.namespaces.map(ConfigDiff.name(of:)))
            }
            let affected = linkedClosure(scope, a, b)
            compared = affected.sorted()
            let both = auditBoth(a, b, affected, changes: changes, routes: routes, options, phase: phase)
            (oldFindings, newFindings) = (both.old, both.new)
        case (.snapshot(let s), .report(let r)), (.report(let r), .snapshot(let s)):
            let snapshotIsOld = { if case .snapshot = old { true } else { false } }()
            let scope = Set(r.namespaces.map(\.name))
            compared = scope.sorted()
            let audited = audit(s, scope, options)
            (oldFindings, newFindings) = snapshotIsOld ? (audited, r.findings) : (r.findings, audited)
            notes.append("configuration changes need two snapshots: \(snapshotIsOld ? "NEW" : "OLD") (\(snapshotIsOld ? newFile : oldFile)) is a report")
            notes.append("the snapshot was audited in the namespaces the report audited, with this nsaudit's defaults")
        case (.report(let a), .report(let b)):
            compared = Set(a.namespaces.map(\.name) + b.namespaces.map(\.name)).sorted()
            (oldFindings, newFindings) = (a.findings, b.findings)
            notes.append("configuration changes need two snapshots: both are reports")
        }
        phase("audit")
        var d = Diff(old: side(old, oldFile), new: side(new, newFile),
                     findings: FindingChange.transitions(old: oldFindings, new: newFindings, maxSources: options.maxSources),
                     changes: changes, namespacesCompared: compared, notes: notes)
        d.attribute()
        phase("findings")
        return d
    }

    static func side(_ input: DiffInput, _ file: String) -> Side {
        switch input {
        case .snapshot(let s): Side(file: file, kind: "snapshot", host: s.host, takenAt: s.takenAt)
        case .report(let r): Side(file: file, kind: "report", host: r.host, takenAt: r.snapshotTakenAt)
        }
    }

    /// The findings of the namespaces of `snap` named in `names` (the others still inform the
    /// audit).
    static func audit(_ snap: Snapshot, _ names: Set<String>, _ options: Options) -> [Finding] {
        outcome(snap, names, options).findings
    }

    /// The audit of the namespaces of `snap` named in `names`, taking the return-path results
    /// in `given` (by namespace id) as they are; each finding lists at most `blocks` of its
    /// source blocks (the whole set is in `sourceRanges`, its count in `sourcesTotal`).
    static func outcome(_ snap: Snapshot, _ names: Set<String>, _ options: Options,
                        given: [String: Audit.Given] = [:], blocks: Int = .max) -> Audit.Outcome {
        let ids = Set(snap.namespaces.filter { names.contains(ConfigDiff.name(of: $0)) }.map(\.id))
        guard !ids.isEmpty else { return Audit.Outcome(namespaces: [], findings: []) }
        var o = Audit.Options(anyIngress: options.anyIngress, remediate: options.remediate, maxSources: blocks)
        o.selfCheckSamples = false
        return Audit(snap, options: o).run(namespaces: ids, given: given)
    }

    /// The findings of the namespaces named in `names` on each side, and the names of those
    /// whose NEW side was analysed incrementally.
    ///
    /// OLD is audited in full. A namespace of NEW whose only changes are routes and added
    /// rules is re-analysed from OLD's return-path results with `IncrementalAudit` (only the
    /// sources inside the changed routes' prefixes are asked again), which declines what it
    /// cannot follow exactly; its findings, checks and fixes are then made from those results
    /// as a full audit makes them. The others (links, addresses, nexthop objects or sysctls
    /// changed, rules removed or changed, another kernel, `anyIngress`, or `incremental`
    /// false) are audited in full, after OLD (each audit spreads its own work over every
    /// core; run side by side, inside `parallel`, their nested concurrent loops would each
    /// get one thread: libdispatch divides the cores among nested applies).
    static func auditBoth(_ a: Snapshot, _ b: Snapshot, _ names: Set<String>, changes: [ConfigChange],
                          routes: [String: ConfigDiff.RouteDelta], _ options: Options, incremental: Bool = true,
                          bigTable: Int = 4096, phase: (String) -> Void = { _ in }) -> (old: [Finding], new: [Finding], incremental: Set<String>) {
        var blocked: Set<String> = []
        for c in changes where !(c.object == .route || (c.object == .rule && c.change == .added)) { blocked.insert(c.netns) }
        let followable = incremental && !options.anyIngress && a.kernelFacts == b.kernelFacts
        let candidates: Set<String> = followable ? names.filter { routes[$0] != nil && !blocked.contains($0) } : []
        let old = outcome(a, names, options, blocks: listedBlocks)
        let full = outcome(b, names.subtracting(candidates), options, blocks: listedBlocks)
        phase("audit-old")
        guard !candidates.isEmpty else { return (old.findings, full.findings, []) }
        let oldByName = Dictionary(a.namespaces.map { (ConfigDiff.name(of: $0), $0) }, uniquingKeysWith: { x, _ in x })
        let newByName = Dictionary(b.namespaces.map { (ConfigDiff.name(of: $0), $0) }, uniquingKeysWith: { x, _ in x })
        let list = candidates.sorted()
        let found = parallelMap(list.count) { k -> (String, Audit.Given)? in
            guard let o = oldByName[list[k]], let n = newByName[list[k]], let base = old.results[o.id],
                  let delta = routes[list[k]] else { return nil }
            var before = o
            before.id = n.id   // matched by name; the analysis never reads the id
            var inc = IncrementalAudit(before: before, baseResults: base.results, after: n, snapshot: b, bigTable: bigTable)
            inc.routeChanges = (delta.removed, delta.added)
            return inc.results().map { (n.id, $0) }
        }
        var given: [String: Audit.Given] = [:]
        for case let (id, g)? in found { given[id] = g }
        let rest = outcome(b, candidates, options, given: given, blocks: listedBlocks)
        let followed = Set(b.namespaces.filter { given[$0.id] != nil }.map(ConfigDiff.name(of:)))
        return (old.findings, (full.findings + rest.findings).sorted(by: Audit.order), followed)
    }

    /// How many of a finding's source blocks the audits of two snapshots list. Both sides have
    /// the whole sets (`sourceRanges`), which is what findings are compared on; the list is
    /// only read by the summaries, which name at most three blocks. (A full table's findings
    /// hold 700,000 blocks each, and each part its own: listing them all was about a tenth of
    /// the diff's CPU time.)
    static let listedBlocks = 16

    /// `names` and every namespace linked to one of them through a device's peer, in either
    /// snapshot, transitively.
    static func linkedClosure(_ names: Set<String>, _ a: Snapshot, _ b: Snapshot) -> Set<String> {
        var edges: [String: Set<String>] = [:]
        for snap in [a, b] {
            for ns in snap.namespaces {
                let me = ConfigDiff.name(of: ns)
                for l in ns.links {
                    guard let p = l.peerNetns else { continue }
                    let peer = snap.namespace(p).map(ConfigDiff.name(of:)) ?? p
                    edges[me, default: []].insert(peer)
                    edges[peer, default: []].insert(me)
                }
            }
        }
        var seen = names
        var queue = Array(names)
        while let n = queue.popLast() {
            for m in edges[n] ?? [] where seen.insert(m).inserted { queue.append(m) }
        }
        return seen
    }

    /// Gives every finding transition the configuration changes that explain it: changes in
    /// its namespace that reach its address, devices, gateway or tables; failing those, every
    /// routing change in its namespace.
    mutating func attribute() {
        var byNetns: [String: [Int]] = [:]
        for (i, c) in changes.enumerated() where c.reach.routing { byNetns[c.netns, default: []].append(i) }
        for k in findings.indices {
            let candidates = byNetns[findings[k].netns] ?? []
            let target = findings[k].target
            let touching = candidates.filter { target.isReached(by: changes[$0].reach) }
            if !touching.isEmpty {
                findings[k].explainedBy = touching; findings[k].attribution = .reaching
            } else if !candidates.isEmpty {
                findings[k].explainedBy = candidates; findings[k].attribution = .namespace
            } else {
                findings[k].attribution = changes.isEmpty ? .unavailable : .elsewhere
            }
        }
    }
}

/// A finding that appeared, went away or changed between the two sides.
public struct FindingChange: Sendable {
    public enum State: String, Sendable, CaseIterable {
        case new, resolved, changed
        var rank: Int { self == .new ? 0 : self == .changed ? 1 : 2 }
    }
    /// How the configuration changes were chosen: those reaching the finding's address,
    /// devices, gateway or tables; every change of its namespace; none in its namespace (a
    /// change elsewhere, e.g. a peer's forwarding); or none known (reports).
    public enum Attribution: String, Sendable, CaseIterable { case reaching, namespace, elsewhere, unavailable }

    public var state: State
    public var id: String
    public var kind: FindingKind
    public var netns: String
    public var localAddress: IPAddress?
    public var ingress: String?
    /// The finding on each side (nil where it does not exist).
    public var old: Finding?
    public var new: Finding?
    /// For `changed`: which of severity, sources, egress, gateway, summary, fix differ.
    public var fields: [String] = []
    /// For changed sources whose complete sets are known: blocks added and removed (at most
    /// `maxSources` of each).
    public var sourcesAdded: [IPPrefix]?
    public var sourcesRemoved: [IPPrefix]?
    /// Indices into `Diff.changes`.
    public var explainedBy: [Int] = []
    public var attribution: Attribution = .unavailable

    /// New, or changed in what the kernel does: severity, sources, egress or gateway (not
    /// only in its summary or proposed fix).
    public var isBehavioural: Bool {
        state == .new || (state == .changed && !Set(fields).isDisjoint(with: Self.behaviouralFields))
    }

    public static let behaviouralFields: Set<String> = ["severity", "sources", "egress", "gateway"]

    /// The fields a changed finding is compared on.
    public static let comparedFields = ["severity", "sources", "egress", "gateway", "summary", "fix"]

    /// Matches findings by id. Where one side has several findings with one id, an equal pair
    /// is matched first, then the rest in order (most severe first).
    static func transitions(old: [Finding], new: [Finding], maxSources: Int) -> [FindingChange] {
        var byID: [String: [Int]] = [:]
        for (i, f) in old.enumerated() { byID[f.id, default: []].append(i) }
        var used = [Bool](repeating: false, count: old.count)
        var out: [FindingChange] = []
        for f in new {
            let candidates = (byID[f.id] ?? []).filter { !used[$0] }
            let diffs = candidates.map { (i: $0, d: differences(old[$0], f)) }
            guard let pick = diffs.first(where: { $0.d.isEmpty }) ?? diffs.first else {
                out.append(FindingChange(state: .new, f, old: nil, new: f))
                continue
            }
            used[pick.i] = true
            guard !pick.d.isEmpty else { continue }
            var c = FindingChange(state: .changed, f, old: old[pick.i], new: f)
            c.fields = pick.d
            if pick.d.contains("sources"), let a = ranges(old[pick.i]), let b = ranges(f), a.family == b.family {
                c.sourcesAdded = b.subtracting(a).prefixes(limit: maxSources)
                c.sourcesRemoved = a.subtracting(b).prefixes(limit: maxSources)
            }
            out.append(c)
        }
        for (i, f) in old.enumerated() where !used[i] { out.append(FindingChange(state: .resolved, f, old: f, new: nil)) }
        return out.sorted(by: order)
    }

    init(state: State, _ f: Finding, old: Finding?, new: Finding?) {
        self.state = state; id = f.id; kind = f.kind; netns = f.netns; localAddress = f.localAddress; ingress = f.ingress
        self.old = old; self.new = new
    }

    /// Which compared fields differ.
    static func differences(_ a: Finding, _ b: Finding) -> [String] {
        var d: [String] = []
        if a.severity != b.severity { d.append("severity") }
        if !sameSources(a, b) { d.append("sources") }
        if a.egress != b.egress { d.append("egress") }
        if a.gateway != b.gateway { d.append("gateway") }
        if a.summary != b.summary { d.append("summary") }
        if a.remediation.map(\.commands) != b.remediation.map(\.commands) { d.append("fix") }
        return d
    }

    /// The complete source sets when known (in memory after an audit; from an untruncated
    /// list otherwise); equal totals and equal listed blocks when a list was cut.
    static func sameSources(_ a: Finding, _ b: Finding) -> Bool {
        if let x = a.sourceRanges, let y = b.sourceRanges { return x == y }
        if (a.sourcesTotal ?? a.sources.count) != (b.sourcesTotal ?? b.sources.count) { return false }
        let n = min(a.sources.count, b.sources.count)
        return a.sources.prefix(n) == b.sources.prefix(n)
    }

    static func ranges(_ f: Finding) -> AddressRanges? {
        if let r = f.sourceRanges { return r }
        guard f.sourcesTruncated != true, let fam = f.sources.first?.family ?? f.localAddress?.family else { return nil }
        return AddressRanges(union: f.sources, family: fam)
    }

    /// Most severe first (by the severity it has now, or had), then namespace, kind, address,
    /// ingress, state and id (ids hash the namespace's name: not an order people expect).
    static func order(_ a: FindingChange, _ b: FindingChange) -> Bool {
        let sa = a.severity, sb = b.severity
        if sa != sb { return sa > sb }
        if a.netns != b.netns { return a.netns < b.netns }
        if a.kind != b.kind { return a.kind.rawValue < b.kind.rawValue }
        if a.localAddress != b.localAddress {
            guard let x = a.localAddress else { return true }
            guard let y = b.localAddress else { return false }
            return x < y
        }
        if a.ingress != b.ingress { return (a.ingress ?? "") < (b.ingress ?? "") }
        if a.state != b.state { return a.state.rank < b.state.rank }
        return a.id < b.id
    }

    /// The severity it has now, or had when it was resolved.
    public var severity: Severity { (new ?? old)?.severity ?? .info }

    /// What of a finding a configuration change can reach, gathered once (a diff of a full
    /// routing table weighs hundreds of findings against thousands of changes).
    struct Target {
        var family: IPAddress.Family?
        var devices: Set<String> = []
        /// Its address and gateways.
        var points: [IPAddress] = []
        var tables: Set<UInt32> = []
        /// Its source sets, where known.
        var sources: [AddressRanges] = []

        /// Whether a configuration change reaches the finding: its family, and one of a
        /// policy-wide effect, a device the finding names, its address or gateway inside the
        /// change's prefixes, or a table the finding names whose prefix overlaps its sources.
        func isReached(by r: ConfigChange.Reach) -> Bool {
            if let fam = r.family, let mine = family, fam != mine { return false }
            if r.everyLookup { return true }
            if !devices.isDisjoint(with: r.devices) { return true }
            if r.prefixes.contains(where: { p in points.contains { p.contains($0) } }) { return true }
            if r.gateways.contains(where: { points.contains($0) }) { return true }
            if !tables.isDisjoint(with: r.tables) {
                if sources.isEmpty { return true }
                return r.prefixes.contains { p in sources.contains { $0.family == p.family && $0.overlaps(p) } }
            }
            return false
        }
    }

    var target: Target {
        let sides = [old, new].compactMap { $0 }
        var t = Target(family: localAddress?.family)
        for f in sides {
            for d in [f.ingress, f.egress].compactMap({ $0 }) { t.devices.formUnion(d.split(separator: ",").map(String.init)) }
        }
        t.points = ([localAddress] + sides.map(\.gateway)).compactMap { $0 }
        t.tables = Set(sides.compactMap(\.table))
        t.sources = sides.compactMap(Self.ranges)
        return t
    }

    /// Whether a configuration change reaches this finding (`Target.isReached`).
    func isReached(by r: ConfigChange.Reach) -> Bool { target.isReached(by: r) }
}

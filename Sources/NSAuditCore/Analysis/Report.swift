/// The audit report (`nsaudit report`): JSON shape documented in schema/report.schema.json.
public struct Report: Codable, Sendable, Equatable {
    public static let schemaVersion = "nsaudit.report/v2"

    public var schema: String
    public var generator: String
    public var generatedAt: String
    public var host: String
    /// "live" when nsaudit collected the snapshot itself, else the snapshot file's path.
    public var source: String
    public var snapshotTakenAt: String
    /// The kernel facts the model used: recorded in the snapshot, or assumed.
    public var kernel: ReportKernel?
    public var durationSeconds: Double?
    public var namespaces: [ReportNamespace]
    public var findings: [Finding]
    /// Request/reply pairs seen by `--confirm` or `--pcap`, each with the model's verdict.
    public var observedFlows: [FlowConfirmation]?
    /// With `--baseline`: the baseline's findings that are gone.
    public var resolved: [ResolvedFinding]?
    /// With `--baseline`: the baseline report's path and when it was generated.
    public var baseline: ReportBaseline?
    public var summary: ReportSummary

    public init(generatedAt: String, host: String, source: String, snapshotTakenAt: String,
                namespaces: [ReportNamespace], findings: [Finding]) {
        schema = Report.schemaVersion
        generator = NSAuditInfo.generator
        self.generatedAt = generatedAt; self.host = host; self.source = source
        self.snapshotTakenAt = snapshotTakenAt; self.namespaces = namespaces
        self.findings = findings
        summary = ReportSummary(findings: findings, namespaces: namespaces)
    }

    public mutating func recomputeSummary() { summary = ReportSummary(findings: findings, namespaces: namespaces) }

    enum CodingKeys: String, CodingKey {
        case schema, generator, generatedAt = "generated_at", host, source
        case snapshotTakenAt = "snapshot_taken_at", kernel, durationSeconds = "duration_seconds"
        case namespaces, findings, observedFlows = "observed_flows", resolved, baseline, summary
    }
}

/// The snapshot's kernel facts as the report shows them.
public struct ReportKernel: Codable, Sendable, Equatable {
    public var release: String
    public var ipv6MulticastRouting: Bool
    /// True when the snapshot recorded no facts and these are `KernelFacts.assumed`.
    public var assumed: Bool
    public init(_ f: KernelFacts) {
        release = f.release; ipv6MulticastRouting = f.ipv6MulticastRouting; assumed = !f.recorded
    }
    enum CodingKeys: String, CodingKey { case release, ipv6MulticastRouting = "ipv6_multicast_routing", assumed }
}

public struct ReportNamespace: Codable, Sendable, Equatable {
    /// As `ip netns list` shows it, or a stable label (root, pid:PID:COMM, docker:NAME).
    public var name: String
    public var id: String
    public var status: String
    public var interfaces: [ReportInterface]
    public var addressesAudited: Int
    public var errors: [String]

    enum CodingKeys: String, CodingKey {
        case name, id, status, interfaces, addressesAudited = "addresses_audited", errors
    }
}

public struct ReportInterface: Codable, Sendable, Equatable {
    public var name: String
    public var state: String
    public var addresses: [String]
    public var vrf: String?
    /// max(all, device) for IPv4 reverse-path filtering: 0 off, 1 strict, 2 loose.
    public var rpFilter: Int?
    /// The link kind (veth, bridge, vlan, wireguard, ...), "hardware" for a NIC; nil for
    /// loopback.
    public var kind: String?
    /// The devices under this one: a bridge's or bond's ports, a VLAN's or macvlan's parent.
    public var lower: [String]?
    /// What lies behind the interface, as far as the snapshot sees (decides severities).
    public var farSide: ReportFarSide?

    public init(name: String, state: String, addresses: [String], vrf: String?, rpFilter: Int?) {
        self.name = name; self.state = state; self.addresses = addresses; self.vrf = vrf; self.rpFilter = rpFilter
    }

    enum CodingKeys: String, CodingKey {
        case name, state, addresses, vrf, rpFilter = "rp_filter", kind, lower, farSide = "far_side"
    }
}

/// `FarSide` as the report shows it.
public struct ReportFarSide: Codable, Sendable, Equatable {
    /// seen: every path leads into collected namespaces; unseen: the snapshot cannot see
    /// what is behind (clients from anywhere may arrive); none: nothing is behind.
    public var state: FarSide.State
    public var detail: String

    public init(state: FarSide.State, detail: String) { self.state = state; self.detail = detail }

    enum CodingKeys: String, CodingKey { case state, detail }
}

public enum Severity: String, Codable, Sendable, Comparable, CaseIterable {
    case info, warning, error
    var rank: Int { self == .info ? 0 : self == .warning ? 1 : 2 }
    public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
}

public enum FindingKind: String, Codable, Sendable, CaseIterable {
    case asymmetricReply = "asymmetric-reply"
    case rpFilterDrop = "rp-filter-drop"
    case replyUnroutable = "reply-unroutable"
    case ecmpSplit = "ecmp-split"
    case intentViolated = "intent-violated"
    case arpFlux = "arp-flux"
    case duplicateAddress = "duplicate-address"
    case rulePriorityCollision = "rule-priority-collision"
    case rpFilterMismatch = "rp-filter-mismatch"
    case modelMismatch = "model-mismatch"
    case collectionError = "collection-error"

    /// The kinds about where replies go, found by the return-path analysis.
    public static let returnPath: Set<FindingKind> = [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit]
}

public struct Remediation: Codable, Sendable, Equatable {
    /// "source-routing", "namespace" or "vrf".
    public var kind: String
    public var description: String
    /// The changes, in order, typed; the report shows them as `commands`.
    public var edits: [SnapshotEdit]
    /// `ip` commands, in order, to run in the finding's namespace (`ip -n NS ...` form).
    public var commands: [String] { edits.map(\.command) }
    /// True when nsaudit applied the commands to a copy of the snapshot and the finding went
    /// away without new findings appearing.
    public var verified: Bool

    public init(kind: String, description: String, edits: [SnapshotEdit], verified: Bool) {
        self.kind = kind; self.description = description; self.edits = edits; self.verified = verified
    }

    enum CodingKeys: String, CodingKey { case kind, description, commands, verified }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(String.self, forKey: .kind)
        description = try c.decode(String.self, forKey: .description)
        verified = try c.decode(Bool.self, forKey: .verified)
        var edits: [SnapshotEdit] = []
        for command in try c.decode([String].self, forKey: .commands) {
            do { edits += try SnapshotEdit.parse(command, defaultNamespace: nil) } catch {
                throw DecodingError.dataCorruptedError(forKey: .commands, in: c, debugDescription: "\(error)")
            }
        }
        self.edits = edits
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind); try c.encode(description, forKey: .description)
        try c.encode(commands, forKey: .commands); try c.encode(verified, forKey: .verified)
    }
}

public struct Finding: Codable, Sendable, Equatable {
    /// Stable across runs: a hash of what the finding is about (not of its details).
    public var id: String
    public var kind: FindingKind
    public var severity: Severity
    public var netns: String
    public var localAddress: IPAddress?
    /// Interface names: one, or several joined by "," (findings about a group of devices).
    public var ingress: String?
    public var egress: String?
    public var gateway: IPAddress?
    public var table: UInt32?
    public var rule: UInt32?
    /// The client sources concerned, as CIDR blocks in address order: all of them, or the
    /// first `Audit.Options.maxSources` when `sourcesTruncated` is true.
    public var sources: [IPPrefix]
    /// How many CIDR blocks the complete source set has (return-path findings).
    public var sourcesTotal: Int?
    /// True when `sources` lists only the first blocks of the set.
    public var sourcesTruncated: Bool?
    /// The same set said the other way, when that is shorter: the sources that can reach the
    /// address on the ingress at all, except these blocks (empty: every one of them).
    public var sourcesExcept: [IPPrefix]?
    /// Return-path findings: the routes the replies (or, for rp-filter-drop, the reverse
    /// route) take, one part per (egress, gateway, table, rule, route kind), each with its
    /// own sources.
    public var parts: [FindingPart]?
    /// With `--baseline`: new, unchanged or updated (same id, other severity, sources,
    /// parts or fix).
    public var baselineState: BaselineState?
    /// With `--baseline`: when the finding was first reported (carried over from the
    /// baseline, else this report's time).
    public var firstSeen: String?
    /// With `--accept`: the acceptance that matched (it never fails the run unless expired).
    public var accepted: Acceptance?
    /// The complete source set, in memory only (capture evidence matches clients against it);
    /// not part of the finding's equality.
    public var sourceRanges: AddressRanges? {
        get { memoryOnly.ranges }
        set { memoryOnly.ranges = newValue }
    }
    private var memoryOnly = MemoryOnly()
    public var evidence: [String]
    public var summary: String
    public var remediation: [Remediation]
    /// Services listening on the address (e.g. "tcp/22"), the flows that make this matter.
    public var services: [String]?
    /// Effective sysctls or other facts that decided the finding.
    public var details: [String: String]?
    public var kernelChecked: Bool
    /// Packet capture verdict: true seen as predicted, false contradicted, nil not observed.
    public var confirmed: Bool?
    public var observed: ObservedSummary?

    public init(kind: FindingKind, severity: Severity, netns: String, summary: String) {
        self.kind = kind; self.severity = severity; self.netns = netns; self.summary = summary
        id = ""; sources = []; evidence = ["model"]; remediation = []; kernelChecked = false
    }

    /// Computes `id` from what the finding is (schema/report.schema.json, `id`): for
    /// return-path kinds the namespace name, kind, local address, ingress, the sorted set of
    /// egress devices and the sorted set of gateways of its parts; for the other kinds the
    /// namespace, kind, address, ingress and their subject (`details.key`: the subnet, the
    /// rule priority, the intent's name, ...). Never source lists, ifindexes, table or rule
    /// numbers, or order: the same problem keeps its id from one night to the next.
    public mutating func assignID() {
        var fields = [kind.rawValue, netns, localAddress?.description ?? "", ingress ?? ""]
        if FindingKind.returnPath.contains(kind) {
            let ps = parts ?? [FindingPart(egress: egress, gateway: gateway)]
            fields.append(Set(ps.flatMap { ($0.egress ?? "").split(separator: ",").map(String.init) }).sorted().joined(separator: ","))
            fields.append(Set(ps.compactMap { $0.gateway?.description }).sorted().joined(separator: ","))
        } else {
            fields.append(details?["key"] ?? "")
        }
        let key = fields.joined(separator: "|")
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        let hex = String(h, radix: 16)
        id = "\(kind.rawValue):" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    enum CodingKeys: String, CodingKey {
        case id, kind, severity, netns, localAddress = "local_address", ingress, egress, gateway, table
        case rule, sources, sourcesTotal = "sources_total", sourcesTruncated = "sources_truncated"
        case sourcesExcept = "sources_except", parts
        case evidence, summary, remediation, services, details
        case kernelChecked = "kernel_checked", confirmed, observed
        case baselineState = "baseline_state", firstSeen = "first_seen", accepted
    }
}

/// One route of a return-path finding: where the replies to some of its sources go.
public struct FindingPart: Codable, Sendable, Equatable {
    public var egress: String?
    public var gateway: IPAddress?
    public var table: UInt32?
    public var rule: UInt32?
    /// How the reply (rp-filter-drop: the reverse route) is routed: "connected" (onto a
    /// link), "specific" (a route for the client's network), "default".
    public var route: String?
    /// reply-unroutable: what the lookup found (blackhole, unreachable, prohibit, ...).
    public var unroutable: String?
    public var severity: Severity
    public var sources: [IPPrefix]
    public var sourcesTotal: Int?
    public var sourcesTruncated: Bool?
    public var sourcesExcept: [IPPrefix]?

    public init(egress: String? = nil, gateway: IPAddress? = nil, severity: Severity = .info) {
        self.egress = egress; self.gateway = gateway; self.severity = severity; sources = []
    }

    enum CodingKeys: String, CodingKey {
        case egress, gateway, table, rule, route, unroutable, severity, sources
        case sourcesTotal = "sources_total", sourcesTruncated = "sources_truncated", sourcesExcept = "sources_except"
    }
}

/// A finding's standing against the baseline report.
public enum BaselineState: String, Codable, Sendable, CaseIterable {
    case new, unchanged, updated
}

/// The acceptance (`--accept`) a finding matched.
public struct Acceptance: Codable, Sendable, Equatable {
    public var reason: String
    /// YYYY-MM-DD; nil: no expiry.
    public var expires: String?
    /// True when the expiry date has passed: the finding counts as new again.
    public var expired: Bool

    public init(reason: String, expires: String?, expired: Bool) {
        self.reason = reason; self.expires = expires; self.expired = expired
    }

    enum CodingKeys: String, CodingKey { case reason, expires, expired }
}

/// A baseline finding that this report no longer has.
public struct ResolvedFinding: Codable, Sendable, Equatable {
    public var id: String
    public var kind: FindingKind
    public var netns: String
    public var summary: String
    public var firstSeen: String?

    public init(id: String, kind: FindingKind, netns: String, summary: String, firstSeen: String?) {
        self.id = id; self.kind = kind; self.netns = netns; self.summary = summary; self.firstSeen = firstSeen
    }

    enum CodingKeys: String, CodingKey { case id, kind, netns, summary, firstSeen = "first_seen" }
}

/// The report a `--baseline` run was compared with.
public struct ReportBaseline: Codable, Sendable, Equatable {
    public var path: String
    /// The baseline's generated_at; nil when there was no baseline file yet (first night).
    public var generatedAt: String?

    public init(path: String, generatedAt: String?) { self.path = path; self.generatedAt = generatedAt }

    enum CodingKeys: String, CodingKey { case path, generatedAt = "generated_at" }
}

/// Data a finding carries in memory only: never encoded, never compared.
struct MemoryOnly: Sendable, Equatable {
    var ranges: AddressRanges?
    static func == (_: MemoryOnly, _: MemoryOnly) -> Bool { true }
}

public struct ReportSummary: Codable, Sendable, Equatable {
    public var errors: Int
    public var warnings: Int
    public var infos: Int
    public var findings: Int
    public var byKind: [String: Int]
    public var namespaces: Int
    public var namespaceErrors: Int
    public var modelMismatches: Int

    public init(findings: [Finding], namespaces: [ReportNamespace]) {
        errors = findings.filter { $0.severity == .error }.count
        warnings = findings.filter { $0.severity == .warning }.count
        infos = findings.filter { $0.severity == .info }.count
        self.findings = findings.count
        byKind = Dictionary(findings.map { ($0.kind.rawValue, 1) }, uniquingKeysWith: +)
        self.namespaces = namespaces.count
        namespaceErrors = namespaces.filter { !$0.errors.isEmpty }.count
        modelMismatches = findings.filter { $0.kind == .modelMismatch }.count
    }

    enum CodingKeys: String, CodingKey {
        case errors, warnings, infos, findings, byKind = "by_kind", namespaces
        case namespaceErrors = "namespace_errors", modelMismatches = "model_mismatches"
    }
}

extension Report {
    /// Whether a finding decides the exit status: not accepted (an expired acceptance counts
    /// again), and, with a baseline, new or updated unless `all` (`--fail-on-all`).
    public static func counts(_ f: Finding, all: Bool) -> Bool {
        if let a = f.accepted, !a.expired { return false }
        if all { return true }
        return f.baselineState.map { $0 != .unchanged } ?? true
    }

    /// The worst severity of the findings that decide the exit status (`counts`).
    public func worstCounted(all: Bool = false) -> Severity? {
        findings.filter { Report.counts($0, all: all) }.map(\.severity).max()
    }
}

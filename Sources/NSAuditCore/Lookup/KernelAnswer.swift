/// What the kernel answered to one `ip route get` (as `ip -j route get` prints it), and the
/// comparison the differential tests apply: error, type, dev and gateway must agree; for a
/// multipath answer the kernel's choice must be one of the model's candidates.
public struct KernelAnswer: Codable, Sendable, Equatable {
    /// errno name, nil on success.
    public var error: String?
    public var type: String?
    public var dev: String?
    public var gateway: String?
    public var prefsrc: String?
    public var table: String?

    public init(error: String? = nil, type: String? = nil, dev: String? = nil, gateway: String? = nil,
                prefsrc: String? = nil, table: String? = nil) {
        self.error = error; self.type = type; self.dev = dev; self.gateway = gateway
        self.prefsrc = prefsrc; self.table = table
    }

    /// From one object of `ip -j route get` output (missing "type" means unicast).
    public init(ipJSON o: [String: Any]) {
        type = (o["type"] as? String) ?? "unicast"
        dev = o["dev"] as? String
        gateway = o["gateway"] as? String
        prefsrc = o["prefsrc"] as? String
        table = (o["table"] as? String) ?? (o["table"] as? Int).map(String.init)
    }

    /// From the "RTNETLINK answers: ..." line `ip` prints.
    public init(errorMessage: String) {
        let m = errorMessage.hasPrefix("RTNETLINK answers: ") ? String(errorMessage.dropFirst(19)) : errorMessage
        error = KernelError(message: m)?.rawValue ?? "?\(m)"
    }
}

/// One recorded query of the differential corpus.
public struct RouteGetCase: Codable, Sendable, Equatable {
    public var query: String
    public var tags: [String]
    public var kernel: KernelAnswer
    public init(query: String, tags: [String], kernel: KernelAnswer) {
        self.query = query; self.tags = tags; self.kernel = kernel
    }
}

public enum RouteGetComparison {
    /// Fields on which the model and the kernel disagree (empty: agreement).
    public static func disagreements(_ m: RouteResult, _ k: KernelAnswer) -> [String] {
        var out: [String] = []
        let me = m.error?.rawValue
        if me == nil, let ke = k.error, m.multipath.contains(where: { $0.error?.rawValue == ke }) {
            return out   // the kernel's hash chose a path whose source validation fails
        }
        if me != k.error { out.append("error model=\(me ?? "none") kernel=\(k.error ?? "none")") }
        if me != nil || k.error != nil { return out }
        let mt = m.type?.name ?? "unicast"
        if mt != (k.type ?? "unicast") { out.append("type model=\(mt) kernel=\(k.type ?? "unicast")") }
        let kg = k.gateway.flatMap { IPAddress($0) }
        if m.multipath.isEmpty {
            if m.dev != k.dev { out.append("dev model=\(m.dev ?? "-") kernel=\(k.dev ?? "-")") }
            if m.gateway != kg { out.append("gateway model=\(m.gateway?.description ?? "-") kernel=\(k.gateway ?? "-")") }
        } else if !m.multipath.contains(where: { $0.error == nil && $0.dev == k.dev && $0.gateway == kg }) {
            let c = m.multipath.map { "\($0.gateway?.description ?? "-")@\($0.dev)" }.joined(separator: ",")
            out.append("path kernel=\(k.gateway ?? "-")@\(k.dev ?? "-") not in model candidates [\(c)]")
        }
        return out
    }

    /// Whether the source address agrees (informational: not part of the required fields).
    public static func prefsrcAgrees(_ m: RouteResult, _ k: KernelAnswer) -> Bool {
        if m.error != nil || k.error != nil { return true }
        let kp = k.prefsrc.flatMap { IPAddress($0) }
        if !m.multipath.isEmpty {
            let kg = k.gateway.flatMap { IPAddress($0) }
            if let p = m.multipath.first(where: { $0.dev == k.dev && $0.gateway == kg }), p.prefsrc != nil || m.family == .v4 {
                if m.family == .v4, let q = p.prefsrc, m.from == q { return kp == nil }
                return p.prefsrc == kp
            }
        }
        return m.prefsrc == kp
    }
}

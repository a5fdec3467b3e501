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

/// Checks findings against the live kernel: each finding's representative flows are asked
/// of the model and of the kernel; a disagreement becomes a `model-mismatch` finding.
public enum SelfCheck {
    /// The representative queries of a finding (at most two sources).
    public static func queries(for f: Finding, in ns: NamespaceSnapshot) -> [RouteQuery] {
        guard [.asymmetricReply, .rpFilterDrop, .replyUnroutable, .ecmpSplit].contains(f.kind),
              let aText = f.localAddress, let a = IPAddress(aText), let ing = f.ingress else { return [] }
        let special = ReturnPathAnalysis.specialPrefixes(a.family)
        var reps: [IPAddress] = []
        for p in f.sources.lazy.compactMap(IPPrefix.init) {  // lazily: a finding may list millions
            let w = p.family.bitWidth
            let cand = Int(p.length) >= w - 1 ? p.address : IPAddress(family: p.family, bits: p.address.bits + 1)
            if !special.contains(where: { $0.contains(cand) }) { reps.append(cand) }
            if reps.count == 2 { break }
        }
        var binding: String?
        if let l = ns.link(named: ing), let m = l.master, let v = ns.link(index: m), v.isVRF { binding = v.name }
        return reps.map { s in
            if f.kind == .rpFilterDrop {
                var q = RouteQuery(dst: a, line: "\(a) from \(s) iif \(ing)")
                q.src = s; q.iif = ing
                return q
            }
            var q = RouteQuery(dst: s, line: "\(s) from \(a)\(binding.map { " oif \($0)" } ?? "")")
            q.src = a; q.oif = binding
            return q
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

    /// The model-mismatch finding for a disagreement.
    public static func mismatch(_ f: Finding, _ why: String) -> Finding {
        var m = Finding(kind: .modelMismatch, severity: .error, netns: f.netns,
                        summary: "nsaudit's model is wrong here: \(why). The finding \(f.id) cannot be trusted; please report this with the snapshot.")
        m.localAddress = f.localAddress
        m.ingress = f.ingress
        m.evidence = ["kernel", "model"]
        m.kernelChecked = true
        m.details = ["finding": f.id, "key": f.id]
        m.assignID()
        return m
    }
}

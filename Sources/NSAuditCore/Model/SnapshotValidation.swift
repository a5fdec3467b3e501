/// What a snapshot file must hold beyond the JSON schema's types before the model is built
/// from it: a snapshot is outside input (hand-edited, truncated by a tool, from another
/// version), and the model's arithmetic relies on these facts. Each check names the field.
///
/// Both readers (`SnapshotDecoder` and `JSONDecoder`) run the same checks, in
/// `SnapshotReader.decode`.
extension Snapshot {
    /// The first field that breaks a rule, as a path (`.namespaces[0].addresses[2].prefixlen`)
    /// and what was expected; nil when the snapshot is consistent.
    public func validationProblem() -> (path: String, detail: String)? {
        // Paths are spelled only for the field that fails (a snapshot has a million routes).
        for (n, ns) in namespaces.enumerated() {
            let at = ".namespaces[\(n)]"
            for (i, a) in ns.addresses.enumerated() {
                func p() -> String { "\(at).addresses[\(i)]" }
                if a.local.family != a.family {
                    return ("\(p()).local", "\(a.local) is not an \(a.family) address (family is \"\(a.family)\")")
                }
                if Int(a.prefixlen) > a.family.bitWidth {
                    return ("\(p()).prefixlen", "prefix length \(a.prefixlen) is longer than an \(a.family) address (at most \(a.family.bitWidth))")
                }
                if let peer = a.peer, peer.family != a.family {
                    return ("\(p()).peer", "\(peer) is not an \(a.family) address (family is \"\(a.family)\")")
                }
                if let b = a.broadcast, b.family != a.family {
                    return ("\(p()).broadcast", "\(b) is not an \(a.family) address (family is \"\(a.family)\")")
                }
            }
            for (i, r) in ns.rules.enumerated() {
                func p() -> String { "\(at).rules[\(i)]" }
                for (key, prefix) in [("src", r.src), ("dst", r.dst)] {
                    if let x = prefix, x.family != r.family {
                        return ("\(p()).\(key)", "\(x) is not an \(r.family) prefix (family is \"\(r.family)\")")
                    }
                }
            }
            for (i, r) in ns.routes.enumerated() {
                func p() -> String { "\(at).routes[\(i)]" }
                if r.dst.family != r.family {
                    return ("\(p()).dst", "\(r.dst) is not an \(r.family) prefix (family is \"\(r.family)\")")
                }
                if let s = r.src, s.family != r.family {
                    return ("\(p()).src", "\(s) is not an \(r.family) prefix (family is \"\(r.family)\")")
                }
                if let s = r.prefsrc, s.family != r.family {
                    return ("\(p()).prefsrc", "\(s) is not an \(r.family) address (family is \"\(r.family)\")")
                }
            }
        }
        return nil
    }
}

/// Work the return-path analysis shares between the addresses and ingresses of one family of
/// one namespace, so that it costs one FIB lookup per range and distinct rule path, not one
/// per range, address and ingress. Every shortcut here gives exactly what asking
/// `RoutingModel.routeGet` range by range gives; where that cannot be shown for a query, the
/// analysis asks `routeGet` as before.
extension ReturnPathAnalysis {
    final class Shared {
        let model: RoutingModel
        let part: AddressPartition
        let memo: ReverseLookupMemo
        /// Cuts of the rule source selectors (see `ruleSourceCuts`).
        let sourceCuts: [UInt128]
        /// Source validation of the request for each range, per (signature, ingress):
        /// 0 not asked yet, 1 ok, 2 invalid, 3 rp_filter failure.
        var validation: [ValidationKey: [UInt8]] = [:]

        /// Per ingress; or, for ingresses without rp_filter, per what validateSource4 then
        /// reads of the device (its VRF and accept_local), so they share one pass.
        struct ValidationKey: Hashable { var sig: Int; var iif: Int32; var l3mdev: Int32 = 0; var acceptLocal = false }

        /// Default or specific route, per table (read-only, shared by the chunks).
        let coverage: Coverage

        init(_ model: RoutingModel, _ part: AddressPartition, _ sourceCuts: [UInt128], coverage: Coverage, chunk: Range<Int>) {
            self.model = model
            self.part = part
            self.coverage = coverage
            self.memo = ReverseLookupMemo(model, part, chunk: chunk)
            self.sourceCuts = sourceCuts
        }
    }

    /// fib_lookup answers for flows toward a range's representative (a client) from a local
    /// address: the reply's output lookup and rp_filter's reverse lookup. The answer depends
    /// on the local source only through the rules whose source selector matches it (the
    /// address's signature, as for the shared reply verdicts), and on the other flow fields,
    /// which are part of the key; the in-place flow update fib_lookup makes (l3mdev) depends
    /// only on key fields and is replayed. A query for anything but the range the memo is set
    /// to is passed straight to `fibLookup4`.
    final class ReverseLookupMemo {
        struct Key: Hashable {
            var sig: Int
            var iif: Int32, oif: Int32, l3mdev: Int32
            var l3mdevFromOif: Bool
            var mark: UInt32, tos: UInt8, proto: UInt8, sport: UInt16, dport: UInt16, uid: UInt32
        }
        /// Outcomes per range slot, in memory of its own (read and written in place, range
        /// after range: no copy-on-write or exclusivity bookkeeping per lookup).
        final class Table {
            let outcomes: UnsafeMutableBufferPointer<PolicyOutcome>
            let filled: UnsafeMutableBufferPointer<Bool>
            var post: Flow?
            init(_ n: Int) {
                outcomes = .allocate(capacity: n)
                outcomes.initialize(repeating: PolicyOutcome(error: nil))
                filled = .allocate(capacity: n)
                filled.initialize(repeating: false)
            }
            deinit {
                outcomes.deinitialize().deallocate()
                filled.deinitialize().deallocate()
            }
        }
        let model: RoutingModel
        let starts: [UInt128]
        /// The ranges memoized: chunk.lowerBound is slot 0 of each table.
        let chunk: Range<Int>
        var tables: [Key: Table] = [:]
        var lastKey: Key?
        var lastTable: Table?
        /// The range being asked and the signature of the local address asking.
        var index = 0
        var sig = 0

        init(_ model: RoutingModel, _ part: AddressPartition, chunk: Range<Int>) {
            self.model = model
            self.starts = part.family == .v4 ? part.starts : []
            self.chunk = part.family == .v4 ? chunk : 0..<0
        }

        func lookup(_ fl: inout Flow) -> PolicyOutcome {
            guard chunk.contains(index), fl.dst == starts[index] else { return model.fibLookup4(&fl) }
            let slot = index - chunk.lowerBound
            // Without protocol/port selectors in any rule, fib_lookup ignores those fields.
            let dissect = model.requireFlowDissect4
            let key = Key(sig: sig, iif: fl.iif, oif: fl.oif, l3mdev: fl.l3mdev, l3mdevFromOif: fl.l3mdevFromOif,
                          mark: fl.mark, tos: fl.tos, proto: dissect ? fl.proto : 0,
                          sport: dissect ? fl.sport : 0, dport: dissect ? fl.dport : 0, uid: fl.uid)
            let t: Table
            if let lk = lastKey, lk == key, let lt = lastTable { t = lt } else {
                if let x = tables[key] { t = x } else { t = Table(chunk.count); tables[key] = t }
                lastKey = key; lastTable = t
            }
            if t.filled[slot], let p = t.post {
                fl.oif = p.oif; fl.l3mdev = p.l3mdev; fl.l3mdevFromOif = p.l3mdevFromOif
                return t.outcomes[slot]
            }
            let o = model.fibLookup4(&fl)
            t.outcomes[slot] = o
            t.filled[slot] = true
            t.post = fl
            return o
        }
    }

    /// The request `A from S iif I` for each range S, for one (A, I).
    ///
    /// IPv4: for a source that is not special (skipped ranges are never asked), input4 depends
    /// on S only through the rule source selectors (constant between two `sourceCuts`) and
    /// through source validation. Each class between cuts is asked once, with validation
    /// answered by a recording hook:
    ///   - no validation asked: the answer holds for every range of the class;
    ///   - validation asked once, for (S, A, oif 0) on local delivery: each range's answer is
    ///     the class's answer with validation passing or failing, and validation itself
    ///     (`validateSource4`, with its reverse lookup memoized) is asked per range, once
    ///     per (signature, ingress);
    ///   - otherwise (forwarding, broadcast): every range is asked with `routeGet`.
    struct RequestSource {
        enum Class {
            case fixed(Request)
            case validated(ok: Request, failed: Request)
            case perRange
        }
        let analysis: ReturnPathAnalysis
        let q: RouteQuery
        let part: AddressPartition
        let shared: Shared
        let sigID: Int
        let fast: Bool
        let iif: Int32
        let dev: LinkInfo?
        let local: UInt32
        // classify asks ranges in order
        var cut = 0          // index in sourceCuts of the class of the last range asked
        var cls: Class? = nil
        var validation: [UInt8] = []
        let key: Shared.ValidationKey

        init(_ analysis: ReturnPathAnalysis, _ a: Address, _ ingress: Link, _ q: RouteQuery, _ part: AddressPartition,
             _ skip: [Bool], shared: Shared, sigID: Int) {
            self.analysis = analysis; self.q = q; self.part = part; self.shared = shared; self.sigID = sigID
            let model = analysis.model
            let iif = model.index(of: ingress.name) ?? 0
            self.iif = iif
            dev = iif != 0 ? model.link(iif) : nil
            local = a.family == .v4 ? a.local.v4 : 0
            // A special destination takes other paths in input4: keep asking routeGet.
            fast = a.family == .v4 && dev != nil && q.src == nil && q.mark == 0 && q.tos == 0 && q.ipproto == 0
                && q.sport == 0 && q.dport == 0 && !v4IsMulticast(local) && !v4IsLbcast(local)
                && !v4IsZeronet(local) && !v4IsLoopback(local)
            // Without rp_filter, source validation of a local delivery (oif 0) depends on the
            // device only through accept_local and its VRF: the result of the reverse lookup
            // decides alone (no device match, no missing-address case, no strict mode).
            if let d = dev, d.rpFilter == 0, analysis.options.shareResults {
                key = Shared.ValidationKey(sig: sigID, iif: 0, l3mdev: model.l3mdevMaster(iif), acceptLocal: d.acceptLocal)
            } else {
                key = Shared.ValidationKey(sig: sigID, iif: iif)
            }
            if fast {
                validation = shared.validation.removeValue(forKey: key) ?? [UInt8](repeating: 0, count: part.count)
            }
        }

        func slow(_ i: Int) -> Request {
            var q = q
            q.src = part.representative(i)
            return Request(try? analysis.model.routeGet(q))
        }

        mutating func request(_ i: Int) -> Request {
            guard fast else { return slow(i) }
            let s = part.starts[i]
            let cuts = shared.sourceCuts
            // the class of range i: the last cut <= s (ranges come in increasing order)
            var c = cut
            while c + 1 < cuts.count, cuts[c + 1] <= s { c += 1 }
            if c != cut || cls == nil { cut = c; cls = classify(i) }
            switch cls! {
            case .fixed(let r): return r
            case .perRange: return slow(i)
            case .validated(let ok, let failed):
                return validate(i) == 1 ? ok : failed
            }
        }

        /// Asks the class of range i through its representative.
        func classify(_ i: Int) -> Class {
            var q = q
            let src = part.representative(i)
            q.src = src
            let model = analysis.model
            var calls: [(UInt32, UInt32, Int32)] = []
            let pass = model.input4(q, iif: iif, validate: { s, d, o in calls.append((s, d, o)); return .ok })
            if calls.isEmpty { return .fixed(Request(pass)) }
            guard calls.count == 1, calls[0] == (src.v4, local, 0), pass.error == nil, pass.type == .local else { return .perRange }
            let fail = model.input4(q, iif: iif, validate: { _, _, _ in .invalid })
            return .validated(ok: Request(pass), failed: Request(fail))
        }

        /// validateSource4(S, A, oif 0) as input4 asks it on local delivery; 1 when ok.
        mutating func validate(_ i: Int) -> UInt8 {
            let known = validation[i]
            if known != 0 { return known }
            let memo = shared.memo
            memo.index = i
            memo.sig = sigID
            let v = analysis.model.validateSource4(src: UInt32(truncatingIfNeeded: part.starts[i]), dst: local, tos: q.tos, oif: 0,
                                                   dev: dev!, mark: q.mark, proto: q.ipproto, sport: q.sport, dport: q.dport,
                                                   lookup: { memo.lookup(&$0) })
            let code: UInt8 = switch v { case .ok: 1; case .invalid: 2; case .rpfFailed: 3 }
            validation[i] = code
            return code
        }

        /// Keeps the validations for the next address with the same signature and ingress.
        mutating func finish() {
            if fast { shared.validation[key] = validation; validation = [] }
        }
    }
}

/// Predictions for observed requests from the FIB model (`RoutingModel`) of a snapshot.
///
/// Responder (the namespace owns the server address):
///   1. the request's input lookup, `route get SERVER from CLIENT iif INGRESS` (with protocol
///      and ports): an error (rp_filter's EXDEV, unreachable, prohibit...) predicts a drop;
///   2. the reply's output lookup, `route get CLIENT from SERVER` (ports reversed; `vrf M`
///      when INGRESS is enslaved to the VRF M, as a socket accepted there is bound to it):
///      its device(s) are the predicted egress; an error predicts a drop.
/// Forwarder: the request's input lookup as above, then the reply's input lookup
///   `route get CLIENT from SERVER iif R` for each interface R the replies came in on (or,
///   when no reply was seen, the interfaces the request left through).
public struct FIBPredictor {
    let snapshot: Snapshot
    var models: [String: RoutingModel] = [:]

    public init(snapshot: Snapshot) { self.snapshot = snapshot }

    public mutating func predict(netns: String, request q: ObservedRequest) -> Prediction {
        guard let model = model(netns) else {
            return .unknown(reason: "namespace \(netns) is not in the snapshot")
        }
        let ns = snapshot.namespace(netns)!
        func query(dst: IPAddress, src: IPAddress, sport: UInt16?, dport: UInt16?) -> RouteQuery {
            var rq = RouteQuery(dst: dst, line: "")
            rq.src = src
            rq.ipproto = q.proto
            rq.sport = sport ?? 0; rq.dport = dport ?? 0
            return rq
        }
        func describe(_ r: RouteQuery) -> String {
            var s = "\(r.dst) from \(r.src.map { $0.description } ?? "")"
            if let i = r.iif { s += " iif \(i)" }
            if let v = r.vrf { s += " vrf \(v)" }
            return s
        }
        enum Outcome { case success(RouteResult), failure(String) }
        func run(_ r: RouteQuery) -> Outcome {
            do {
                let res = try model.routeGet(r)
                if let e = res.error { return .failure("route get \(describe(r)): \(e.rawValue) (\(e.message))") }
                return .success(res)
            } catch {
                return .failure("route get \(describe(r)): \(error)")
            }
        }
        func devices(_ r: RouteResult) -> [String] {
            r.multipath.isEmpty ? (r.dev.map { [$0] } ?? []) : Array(Set(r.multipath.map(\.dev))).sorted()
        }

        // 1. The request arriving.
        var inq = query(dst: q.destination, src: q.source, sport: q.sourcePort, dport: q.destinationPort)
        inq.iif = q.ingress
        guard ns.link(named: q.ingress) != nil else {
            return .unknown(reason: "interface \(q.ingress) is not in the snapshot of \(netns)")
        }
        let input: RouteResult
        switch run(inq) {
        case .failure(let why): return .drop(reason: why)
        case .success(let r): input = r
        }
        if let t = input.type, t == .blackhole || t == .unreachable || t == .prohibit {
            return .drop(reason: "route get \(describe(inq)): \(t.name) route")
        }

        // 2. The reply leaving.
        var egress: [String] = []
        if q.role == .forwarder {
            let ins = q.replyIngress.isEmpty ? q.requestEgress : q.replyIngress
            guard !ins.isEmpty else { return .unknown(reason: "no interface to look the reply up from") }
            for r in ins {
                var rq = query(dst: q.source, src: q.destination, sport: q.destinationPort, dport: q.sourcePort)
                rq.iif = r
                switch run(rq) {
                case .failure(let why): return .drop(reason: why)
                case .success(let res): egress += devices(res)
                }
            }
        } else {
            var rq = query(dst: q.source, src: q.destination, sport: q.destinationPort, dport: q.sourcePort)
            if let l = ns.link(named: q.ingress), let m = l.master, let master = ns.link(index: m), master.isVRF {
                rq.vrf = master.name
            }
            switch run(rq) {
            case .failure(let why): return .drop(reason: why)
            case .success(let res): egress = devices(res)
            }
        }
        return .reply(egress: Array(Set(egress)).sorted())
    }

    mutating func model(_ netns: String) -> RoutingModel? {
        if let m = models[netns] { return m }
        guard let ns = snapshot.namespace(netns), ns.status == .ok else { return nil }
        let m = RoutingModel(ns)
        models[netns] = m
        return m
    }
}

extension CaptureConfirmation {
    /// `confirm` with predictions from the snapshot's FIB model.
    public static func confirm(_ flows: [ObservedFlow], snapshot: Snapshot) -> [FlowConfirmation] {
        var p = FIBPredictor(snapshot: snapshot)
        // A namespace only answers for its own addresses: a "responder" whose server address
        // is not local there saw a reply pass through (e.g. a SYN-ACK forwarded toward a
        // client whose RST it then could not route), so it is a forwarder of that flow.
        let corrected = flows.map { f -> ObservedFlow in
            guard f.role == .responder, let ns = snapshot.namespace(f.netns),
                  !ns.addresses.contains(where: { $0.local == f.server }) else { return f }
            var g = f
            g.role = .forwarder
            return g
        }
        return confirm(corrected) { netns, req in p.predict(netns: netns, request: req) }
    }
}

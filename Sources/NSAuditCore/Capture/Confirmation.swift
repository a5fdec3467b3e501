/// A request the capture saw arrive, as the FIB model is asked about it: "a packet from
/// `source` to `destination` arrived on `ingress`; through which interface does the reply
/// (from `destination` to `source`) leave?" For a responder that is an input lookup of the
/// request (`iif ingress from source`, for rp_filter) and an output lookup of the reply
/// (`to source from destination`); for a forwarder, the input lookup of the reply as it came
/// back (`iif replyIngress from destination to source`).
public struct ObservedRequest: Sendable, Hashable {
    public var netns: String
    public var family: IPAddress.Family
    /// IP protocol number (IPProto.tcp, .udp, .icmp, .icmpv6).
    public var proto: UInt8
    /// The client: the request's source.
    public var source: IPAddress
    public var sourcePort: UInt16?
    /// The server: the request's destination.
    public var destination: IPAddress
    public var destinationPort: UInt16?
    /// The interface the request arrived on.
    public var ingress: String
    public var role: ObservedFlow.Role
    /// Where replies were seen arriving (forwarders); empty for responders.
    public var replyIngress: [String]
    /// Where the request was seen leaving again (forwarders); empty for responders.
    public var requestEgress: [String] = []

    public init(netns: String, family: IPAddress.Family, proto: UInt8, source: IPAddress, sourcePort: UInt16?,
                destination: IPAddress, destinationPort: UInt16?, ingress: String, role: ObservedFlow.Role,
                replyIngress: [String] = []) {
        self.netns = netns; self.family = family; self.proto = proto; self.source = source
        self.sourcePort = sourcePort; self.destination = destination; self.destinationPort = destinationPort
        self.ingress = ingress; self.role = role; self.replyIngress = replyIngress
    }
}

/// What the model predicts for an `ObservedRequest`.
public enum Prediction: Sendable, Equatable {
    /// The reply leaves through one of these interfaces (several for multipath).
    case reply(egress: [String])
    /// The model says the request (or its reply) is dropped: rp_filter, unreachable,
    /// blackhole, prohibit, no route...
    case drop(reason: String)
    /// The model cannot say (namespace not in the snapshot, unsupported case).
    case unknown(reason: String)
}

public enum ConfirmationVerdict: String, Codable, Sendable {
    /// The observed reply egress is what the model predicted.
    case confirmed
    /// The model predicted another egress, or a drop, but the capture shows otherwise:
    /// nsaudit's model is wrong here.
    case modelMismatch = "model-mismatch"
    /// The request arrived but no reply was seen on any interface of the namespace.
    case noReply = "no-reply"
    /// For a predicted finding: nothing was observed that it covers.
    case unobserved
    /// The model could not predict this flow.
    case unverifiable
}

/// One observed request, its observed reply egress and the model's prediction.
public struct FlowConfirmation: Codable, Sendable, Equatable {
    public var verdict: ConfirmationVerdict
    public var netns: String
    /// The request's ingress interface this verdict is about.
    public var ingress: String
    public var observedEgress: [String]
    /// The model's predicted egress (nil when it predicted a drop or could not say).
    public var predictedEgress: [String]?
    /// The model's drop reason when it predicted one.
    public var predictedDrop: String?
    /// One line for humans.
    public var detail: String
    public var flow: ObservedFlow

    enum CodingKeys: String, CodingKey {
        case verdict, netns, ingress, observedEgress = "observed_egress", predictedEgress = "predicted_egress"
        case predictedDrop = "predicted_drop", detail, flow
    }
}

public enum CaptureConfirmation {
    /// Compares every observed request that arrived on an interface of its namespace
    /// (responders and forwarders) with the model's prediction. Requests sent from the
    /// namespace itself and reply-only flows get no verdict. A request that arrived on
    /// several interfaces gets one verdict per ingress interface.
    public static func confirm(_ flows: [ObservedFlow],
                               predict: (_ netns: String, _ request: ObservedRequest) -> Prediction) -> [FlowConfirmation] {
        var out: [FlowConfirmation] = []
        for f in flows where f.role == .responder || f.role == .forwarder {
            for ingress in f.requestIngress {
                let req = ObservedRequest(netns: f.netns, family: f.family, proto: FlowProtocol.number(f.protocol) ?? 0,
                                          source: f.client, sourcePort: f.clientPort, destination: f.server,
                                          destinationPort: f.serverPort, ingress: ingress, role: f.role,
                                          replyIngress: f.role == .forwarder ? f.replyIngress : [])
                var r = req
                if f.role == .forwarder { r.requestEgress = f.requestEgress }
                out.append(verdict(for: f, ingress: ingress, prediction: predict(f.netns, r)))
            }
        }
        return out
    }

    /// The verdict for one flow and ingress, given the model's prediction.
    public static func verdict(for f: ObservedFlow, ingress: String, prediction: Prediction) -> FlowConfirmation {
        let observed = f.replyEgress
        let tuple = f.example
        var c = FlowConfirmation(verdict: .unverifiable, netns: f.netns, ingress: ingress, observedEgress: observed,
                                 predictedEgress: nil, predictedDrop: nil, detail: "", flow: f)
        let obs = observed.joined(separator: ",")
        switch prediction {
        case .reply(let egress):
            c.predictedEgress = egress
            let pred = egress.joined(separator: ",")
            if observed.isEmpty && f.answered {
                c.verdict = .unverifiable
                c.detail = "\(tuple): request in \(ingress), replies seen only arriving (in \(f.replyIngress.joined(separator: ","))), not leaving"
            } else if observed.isEmpty {
                c.verdict = .noReply
                c.detail = "\(tuple): request arrived on \(ingress), no reply seen (model: reply via \(pred))"
            } else if Set(observed).isSubset(of: Set(egress)) {
                c.verdict = .confirmed
                c.detail = "\(tuple): request in \(ingress), reply out \(obs), as the model predicts"
            } else {
                c.verdict = .modelMismatch
                c.detail = "\(tuple): request in \(ingress), reply out \(obs), but the model predicts \(pred)"
            }
        case .drop(let reason):
            c.predictedDrop = reason
            if f.role == .forwarder && f.requestEgress.isEmpty {
                // A forwarder predicted to drop the request: what matters is that the request
                // never left. Replies seen passing the other way belong to a path through
                // another namespace (e.g. a SYN-ACK answered by an RST that is then dropped).
                c.verdict = .confirmed
                c.detail = "\(tuple): request arrived on \(ingress) and was not forwarded, as the model predicts (\(reason))"
            } else if observed.isEmpty {
                c.verdict = .noReply
                c.detail = "\(tuple): request arrived on \(ingress), no reply seen (model: dropped, \(reason))"
            } else {
                c.verdict = .modelMismatch
                c.detail = "\(tuple): request in \(ingress), reply out \(obs), but the model predicts a drop (\(reason))"
            }
        case .unknown(let reason):
            c.verdict = observed.isEmpty ? .noReply : .unverifiable
            c.detail = "\(tuple): request in \(ingress), \(observed.isEmpty ? "no reply seen" : "reply out \(obs)"); the model cannot say (\(reason))"
        }
        return c
    }

    /// The value of a finding's `"confirmed"` field from the verdicts of the flows it covers:
    /// false when any is a model mismatch, true when at least one is confirmed, nil when
    /// nothing covered was observed with a reply.
    public static func findingConfirmed(_ verdicts: [FlowConfirmation]) -> Bool? {
        if verdicts.contains(where: { $0.verdict == .modelMismatch }) { return false }
        if verdicts.contains(where: { $0.verdict == .confirmed }) { return true }
        return nil
    }

    /// The observed flows of a namespace whose request arrived on `ingress` (and, when
    /// given, was addressed to `server`): what a finding about that interface covers.
    public static func flows(_ flows: [ObservedFlow], netns: String, ingress: String, server: IPAddress? = nil) -> [ObservedFlow] {
        flows.filter { f in
            f.netns == netns && f.requestIngress.contains(ingress) && (server == nil || f.server == server)
        }
    }
}

/// What the capture says about one finding of the report: the `"confirmed"` value, the
/// `observed` block, and the per-flow verdicts behind them.
public struct FindingConfirmation: Codable, Sendable, Equatable {
    /// `confirmed`: every covered flow matched the model; `model-mismatch`: at least one
    /// contradicted it (nsaudit is wrong there); `no-reply`: requests seen, no reply;
    /// `unobserved`: nothing covered was seen; `unverifiable`: the model could not say.
    public var verdict: ConfirmationVerdict
    /// The finding's `"confirmed"` field: true, false, or nil (null) when unobserved/undecided.
    public var confirmed: Bool?
    /// nil when nothing was observed.
    public var observed: ObservedSummary?
    public var flows: [FlowConfirmation]
}

extension CaptureConfirmation {
    /// Collects the verdicts a finding covers: requests in `netns` that arrived on `ingress`,
    /// optionally only to `server` (the finding's local address) and from clients `client`
    /// accepts (e.g. the finding's source prefixes).
    public static func forFinding(_ verdicts: [FlowConfirmation], netns: String, ingress: String,
                                  server: IPAddress? = nil,
                                  client: ((IPAddress) -> Bool)? = nil) -> FindingConfirmation {
        let covered = verdicts.filter { v in
            v.netns == netns && v.ingress == ingress && (server == nil || v.flow.server == server)
                && (client?(v.flow.client) ?? true)
        }
        guard !covered.isEmpty else {
            return FindingConfirmation(verdict: .unobserved, confirmed: nil, observed: nil, flows: [])
        }
        let verdict: ConfirmationVerdict
        if covered.contains(where: { $0.verdict == .modelMismatch }) { verdict = .modelMismatch }
        else if covered.contains(where: { $0.verdict == .confirmed }) { verdict = .confirmed }
        else if covered.contains(where: { $0.verdict == .noReply }) { verdict = .noReply }
        else { verdict = .unverifiable }
        return FindingConfirmation(verdict: verdict, confirmed: findingConfirmed(covered),
                                   observed: ObservedSummary(covered.map(\.flow)), flows: covered)
    }

    /// Requests that arrived and got no reply on any interface (TCP and ICMP echo; UDP
    /// without a reply is common and left out), for the report's list of drops.
    public static func unanswered(_ verdicts: [FlowConfirmation]) -> [FlowConfirmation] {
        verdicts.filter { $0.verdict == .noReply && $0.flow.protocol != "udp" }
    }
}

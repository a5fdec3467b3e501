import FoundationEssentials

/// The recorded `ip route get` text corpus (fixtures/routeget/record-text.sh): per
/// configuration a snapshot and a JSON-lines file whose first line is a header and whose
/// other lines are cases: the `ip` arguments after `-n NS`, what `ip` printed on standard
/// output and standard error, and its exit status. `replay` answers a case through the drop-in.
public enum RouteGetTextCorpus {
    public struct Header: Codable, Sendable {
        public var namespace: String
        public var name: String
        public var description: String
        public var kernel: String
        public var iproute2: String
        public var source: String
    }

    public struct Case: Codable, Sendable, Equatable {
        /// `ip`'s arguments after `-n NS`, separated by single spaces.
        public var args: String
        /// For `-batch FILE`: the file's text.
        public var batch: String?
        public var stdout: String
        public var stderr: String
        public var status: Int32
        public init(args: String, batch: String? = nil, stdout: String, stderr: String, status: Int32) {
            self.args = args; self.batch = batch; self.stdout = stdout; self.stderr = stderr; self.status = status
        }
    }

    public struct Output: Equatable, Sendable, CustomStringConvertible {
        public var stdout: String
        public var stderr: String
        public var status: Int32
        public var description: String { "status \(status), stdout \(stdout.debugDescription), stderr \(stderr.debugDescription)" }
    }

    public enum Verdict: Equatable, Sendable {
        /// Standard output, standard error and status byte-identical.
        case identical
        /// The kernel's answer depends on its multipath hash; nsaudit's answer for one of its
        /// candidates is the kernel's (with nsaudit's note on standard error).
        case hashCandidate(Int)
        case different(Output)
    }

    public static func decode(_ data: Data) throws -> (Header, [Case]) {
        let dec = JSONDecoder()
        var lines = data.split(separator: 10)
        guard !lines.isEmpty else { throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "empty text corpus file")) }
        let header = try dec.decode(Header.self, from: Data(lines.removeFirst()))
        return (header, try lines.filter { !$0.isEmpty }.map { try dec.decode(Case.self, from: Data($0)) })
    }

    /// What `ip -n NS ARGS` prints when nsaudit answers it with this model (as root, with
    /// iproute2's built-in names); `path` chooses the candidate of a hash-dependent answer.
    public static func run(_ c: Case, model: RoutingModel, names: IPRouteNames = .builtin, path: Int? = nil) -> Output {
        var out: [UInt8] = [], err: [UInt8] = []
        let emit: IPRouteGetDropIn.Emit = { b, toStderr in if toStderr { err += b } else { out += b } }
        let args = c.args.split(separator: " ").map(String.init)
        let status: Int32
        switch IPRouteGetDropIn.parseOptions(args) {
        case .failure(let f):
            err += f.stderr.utf8; status = f.status
        case .success(let (o, rest)):
            let ctx = IPRouteGetDropIn.Context(model: model, names: names, uid: 0, json: o.json, oneline: o.oneline, path: path)
            if let b = c.batch, let name = o.batch {
                status = IPRouteGetDropIn.batch(b, name: name, force: o.force, family: o.family, ctx: ctx, emit: emit)
            } else {
                status = IPRouteGetDropIn.command(rest, family: o.family, ctx: ctx, emit: emit).status
            }
        }
        return Output(stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self), status: status)
    }

    static let hashMarker = "by a hash no snapshot holds"

    /// Compares nsaudit's answer with the recorded one.
    public static func replay(_ c: Case, model: RoutingModel, names: IPRouteNames = .builtin) -> Verdict {
        let want = Output(stdout: c.stdout, stderr: c.stderr, status: c.status)
        let got = run(c, model: model, names: names)
        if got == want { return .identical }
        if got.stderr.contains(hashMarker) && got.status == want.status {
            for k in 0..<64 {
                let g = run(c, model: model, names: names, path: k)
                let notes = g.stderr.split(separator: "\n").filter { $0.contains(hashMarker) }
                guard notes.count == 1 else { continue }
                if g.stdout == want.stdout && g.stderr.replacing(notes[0] + "\n", with: "") == want.stderr {
                    return .hashCandidate(k)
                }
            }
        }
        return .different(got)
    }
}

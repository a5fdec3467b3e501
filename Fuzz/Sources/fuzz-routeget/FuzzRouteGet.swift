import FuzzSupport
import NSAuditCore

/// `ip route get` query parsing and answering, every way a query reaches nsaudit: the input's
/// first line is `ip`'s command line (the drop-in: global options, then `route get WORDS`
/// through IPRouteGetArguments); the whole input is also a batch file, read by `ip -batch`
/// (the drop-in), by `route-get --batch` (RouteGetBatch, fast path and `ip` mode, text and
/// JSON) and line by line by RouteQuery.parse. Answered from the recorded namespace of the
/// `ip route get` text corpus with the most policy (fixtures/routeget/text/policy.*).
let model = RoutingModel(Fixtures.snapshot("fixtures/routeget/text/policy.snapshot.json").namespaces[0])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouteGet(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = FuzzInput(data, size)
    let text = input.text
    var emitted = 0
    let emit: IPRouteGetDropIn.Emit = { bytes, _ in emitted &+= bytes.count }

    // The drop-in's command line.
    let firstLine = text.prefix { $0 != "\n" }
    let args = firstLine.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
    if case .success(let (options, rest)) = IPRouteGetDropIn.parseOptions(args) {
        let ctx = IPRouteGetDropIn.Context(model: model, uid: 1000, json: options.json, oneline: options.oneline)
        _ = IPRouteGetDropIn.command(rest, family: options.family, ctx: ctx, emit: emit)
    }

    // The whole input as a batch file.
    let ctx = IPRouteGetDropIn.Context(model: model)
    _ = IPRouteGetDropIn.batch(text, name: "fuzz.batch", force: true, family: nil, ctx: ctx, emit: emit)
    // route-get --batch in one of its four modes (text or JSON, nsaudit's or `ip`'s), chosen
    // by the input's byte sum so that every mode sees every kind of input
    let mode = input.bytes.reduce(0) { $0 &+ Int($1) }
    _ = RouteGetBatch.run(model: model, input: input.bytes, json: mode & 1 != 0, options: .init(ipCompat: mode & 2 != 0, uid: 1000),
                          workers: 1) { bytes, _ in emitted &+= bytes.count }
    for line in text.split(separator: "\n", omittingEmptySubsequences: true).prefix(64) {
        if let q = try? RouteQuery.parse(String(line)) { _ = try? model.routeGet(q) }
    }
    return emitted == -1 ? 1 : 0
}

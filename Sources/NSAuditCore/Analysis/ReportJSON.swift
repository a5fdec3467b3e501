/// The report's JSON, written by hand with `JSONWriter`: what `JSONEncoder` writes with
/// `.prettyPrinted, .sortedKeys, .withoutEscapingSlashes` (members in the order of their
/// names, optional members left out when nil), byte for byte. Member names are the
/// CodingKeys' (the Codable conformances read the report back).

extension Report {
    /// `findings` writes the elements of the findings array (the writer is at its depth).
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>, findings writeFindings: (inout JSONWriter<Out>) -> Void) {
        w.beginObject()
        if let baseline { w.key(CodingKeys.baseline); baseline.writeJSON(to: &w) }
        if let durationSeconds { w.key(CodingKeys.durationSeconds); w.double(durationSeconds) }
        w.key(CodingKeys.findings); w.beginArray(); writeFindings(&w); w.endArray()
        w.key(CodingKeys.generatedAt); w.string(generatedAt)
        w.key(CodingKeys.generator); w.string(generator)
        w.key(CodingKeys.host); w.string(host)
        if let kernel { w.key(CodingKeys.kernel); kernel.writeJSON(to: &w) }
        w.key(CodingKeys.namespaces); w.array(namespaces) { $1.writeJSON(to: &$0) }
        if let observedFlows { w.key(CodingKeys.observedFlows); w.array(observedFlows) { $1.writeJSON(to: &$0) } }
        if let resolved { w.key(CodingKeys.resolved); w.array(resolved) { $1.writeJSON(to: &$0) } }
        w.key(CodingKeys.schema); w.string(schema)
        w.key(CodingKeys.snapshotTakenAt); w.string(snapshotTakenAt)
        w.key(CodingKeys.source); w.string(source)
        w.key(CodingKeys.summary); summary.writeJSON(to: &w)
        w.endObject()
    }
}

extension ReportKernel {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.assumed); w.bool(assumed)
        w.key(CodingKeys.ipv6MulticastRouting); w.bool(ipv6MulticastRouting)
        w.key(CodingKeys.release); w.string(release)
        w.endObject()
    }
}

extension ReportNamespace {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.addressesAudited); w.int(addressesAudited)
        w.key(CodingKeys.errors); w.strings(errors)
        w.key(CodingKeys.id); w.string(id)
        w.key(CodingKeys.interfaces); w.array(interfaces) { $1.writeJSON(to: &$0) }
        w.key(CodingKeys.name); w.string(name)
        w.key(CodingKeys.status); w.string(status)
        w.endObject()
    }
}

extension ReportInterface {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.addresses); w.strings(addresses)
        if let farSide {
            w.key(CodingKeys.farSide); w.beginObject()
            w.key(ReportFarSide.CodingKeys.detail); w.string(farSide.detail)
            w.key(ReportFarSide.CodingKeys.state); w.string(farSide.state.rawValue)
            w.endObject()
        }
        if let kind { w.key(CodingKeys.kind); w.string(kind) }
        if let lower { w.key(CodingKeys.lower); w.strings(lower) }
        w.key(CodingKeys.name); w.string(name)
        if let rpFilter { w.key(CodingKeys.rpFilter); w.int(rpFilter) }
        w.key(CodingKeys.state); w.string(state)
        if let vrf { w.key(CodingKeys.vrf); w.string(vrf) }
        w.endObject()
    }
}

extension Remediation {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.commands); w.array(edits) { $0.string($1.command) }
        w.key(CodingKeys.description); w.string(description)
        w.key(CodingKeys.kind); w.string(kind)
        w.key(CodingKeys.verified); w.bool(verified)
        w.endObject()
    }
}

extension ReportBaseline {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        if let generatedAt { w.key(CodingKeys.generatedAt); w.string(generatedAt) }
        w.key(CodingKeys.path); w.string(path)
        w.endObject()
    }
}

extension ResolvedFinding {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        if let firstSeen { w.key(CodingKeys.firstSeen); w.string(firstSeen) }
        w.key(CodingKeys.id); w.string(id)
        w.key(CodingKeys.kind); w.string(kind.rawValue)
        w.key(CodingKeys.netns); w.string(netns)
        w.key(CodingKeys.summary); w.string(summary)
        w.endObject()
    }
}

extension Acceptance {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.expired); w.bool(expired)
        if let expires { w.key(CodingKeys.expires); w.string(expires) }
        w.key(CodingKeys.reason); w.string(reason)
        w.endObject()
    }
}

extension FindingPart {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        if let egress { w.key(CodingKeys.egress); w.string(egress) }
        if let gateway { w.key(CodingKeys.gateway); w.address(gateway) }
        if let route { w.key(CodingKeys.route); w.string(route) }
        if let rule { w.key(CodingKeys.rule); w.int(rule) }
        w.key(CodingKeys.severity); w.string(severity.rawValue)
        w.key(CodingKeys.sources); w.prefixes(sources)
        if let sourcesExcept { w.key(CodingKeys.sourcesExcept); w.prefixes(sourcesExcept) }
        if let sourcesTotal { w.key(CodingKeys.sourcesTotal); w.int(sourcesTotal) }
        if let sourcesTruncated { w.key(CodingKeys.sourcesTruncated); w.bool(sourcesTruncated) }
        if let table { w.key(CodingKeys.table); w.int(table) }
        if let unroutable { w.key(CodingKeys.unroutable); w.string(unroutable) }
        w.endObject()
    }
}

extension Finding {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        if let accepted { w.key(CodingKeys.accepted); accepted.writeJSON(to: &w) }
        if let baselineState { w.key(CodingKeys.baselineState); w.string(baselineState.rawValue) }
        if let confirmed { w.key(CodingKeys.confirmed); w.bool(confirmed) }
        if let details { w.key(CodingKeys.details); w.object(details) { $0.string($1) } }
        if let egress { w.key(CodingKeys.egress); w.string(egress) }
        w.key(CodingKeys.evidence); w.strings(evidence)
        if let firstSeen { w.key(CodingKeys.firstSeen); w.string(firstSeen) }
        if let gateway { w.key(CodingKeys.gateway); w.address(gateway) }
        w.key(CodingKeys.id); w.string(id)
        if let ingress { w.key(CodingKeys.ingress); w.string(ingress) }
        w.key(CodingKeys.kernelChecked); w.bool(kernelChecked)
        w.key(CodingKeys.kind); w.string(kind.rawValue)
        if let localAddress { w.key(CodingKeys.localAddress); w.address(localAddress) }
        w.key(CodingKeys.netns); w.string(netns)
        if let observed { w.key(CodingKeys.observed); observed.writeJSON(to: &w) }
        if let parts { w.key(CodingKeys.parts); w.array(parts) { $1.writeJSON(to: &$0) } }
        w.key(CodingKeys.remediation); w.array(remediation) { $1.writeJSON(to: &$0) }
        if let rule { w.key(CodingKeys.rule); w.int(rule) }
        if let services { w.key(CodingKeys.services); w.strings(services) }
        w.key(CodingKeys.severity); w.string(severity.rawValue)
        // most of a big report: CIDR text straight into the output
        w.key(CodingKeys.sources); w.prefixes(sources)
        if let sourcesExcept { w.key(CodingKeys.sourcesExcept); w.prefixes(sourcesExcept) }
        if let sourcesTotal { w.key(CodingKeys.sourcesTotal); w.int(sourcesTotal) }
        if let sourcesTruncated { w.key(CodingKeys.sourcesTruncated); w.bool(sourcesTruncated) }
        w.key(CodingKeys.summary); w.string(summary)
        if let table { w.key(CodingKeys.table); w.int(table) }
        w.endObject()
    }
}

extension ReportSummary {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.byKind); w.object(byKind) { $0.int($1) }
        w.key(CodingKeys.errors); w.int(errors)
        w.key(CodingKeys.findings); w.int(findings)
        w.key(CodingKeys.infos); w.int(infos)
        w.key(CodingKeys.modelMismatches); w.int(modelMismatches)
        w.key(CodingKeys.namespaceErrors); w.int(namespaceErrors)
        w.key(CodingKeys.namespaces); w.int(namespaces)
        w.key(CodingKeys.warnings); w.int(warnings)
        w.endObject()
    }
}

extension ObservedSummary {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        if let example { w.key(CodingKeys.example); w.string(example) }
        if let firstSeen { w.key(CodingKeys.firstSeen); w.string(firstSeen) }
        w.key(CodingKeys.flows); w.int(flows)
        if let lastSeen { w.key(CodingKeys.lastSeen); w.string(lastSeen) }
        w.key(CodingKeys.replyEgress); w.strings(replyEgress)
        w.key(CodingKeys.replyPackets); w.int(replyPackets)
        w.key(CodingKeys.requestIngress); w.strings(requestIngress)
        w.key(CodingKeys.requestPackets); w.int(requestPackets)
        w.endObject()
    }
}

extension FlowConfirmation {
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.detail); w.string(detail)
        w.key(CodingKeys.flow); flow.writeJSON(to: &w)
        w.key(CodingKeys.ingress); w.string(ingress)
        w.key(CodingKeys.netns); w.string(netns)
        w.key(CodingKeys.observedEgress); w.strings(observedEgress)
        if let predictedDrop { w.key(CodingKeys.predictedDrop); w.string(predictedDrop) }
        if let predictedEgress { w.key(CodingKeys.predictedEgress); w.strings(predictedEgress) }
        w.key(CodingKeys.verdict); w.string(verdict.rawValue)
        w.endObject()
    }
}

extension ObservedFlow {
    /// The members `encode(to:)` writes, computed ones included.
    func writeJSON<Out: ByteSink>(to w: inout JSONWriter<Out>) {
        w.beginObject()
        w.key(CodingKeys.answered); w.bool(answered)
        w.key(CodingKeys.asymmetric); w.bool(isAsymmetric)
        w.key(CodingKeys.client); w.address(client)
        if let clientPort { w.key(CodingKeys.clientPort); w.int(clientPort) }
        w.key(CodingKeys.example); w.string(example)
        w.key(CodingKeys.family); w.string(family.description)
        w.key(CodingKeys.firstSeen); w.string(firstSeen)
        w.key(CodingKeys.firstSeenNs); w.int(firstSeenNs)
        if let icmpID { w.key(CodingKeys.icmpID); w.int(icmpID) }
        w.key(CodingKeys.inferredDirection); w.bool(inferredDirection)
        w.key(CodingKeys.lastSeen); w.string(lastSeen)
        w.key(CodingKeys.lastSeenNs); w.int(lastSeenNs)
        w.key(CodingKeys.netns); w.string(netns)
        w.key(CodingKeys.protocol); w.string(`protocol`)
        w.key(CodingKeys.replyEgress); w.strings(replyEgress)
        w.key(CodingKeys.replyIngress); w.strings(replyIngress)
        w.key(CodingKeys.replyPackets); w.int(replyPackets)
        w.key(CodingKeys.requestEgress); w.strings(requestEgress)
        w.key(CodingKeys.requestIngress); w.strings(requestIngress)
        w.key(CodingKeys.requestPackets); w.int(requestPackets)
        w.key(CodingKeys.role); w.string(role.rawValue)
        if let sawSYN { w.key(CodingKeys.sawSYN); w.bool(sawSYN) }
        if let sawSYNACK { w.key(CodingKeys.sawSYNACK); w.bool(sawSYNACK) }
        w.key(CodingKeys.server); w.address(server)
        if let serverPort { w.key(CodingKeys.serverPort); w.int(serverPort) }
        w.endObject()
    }
}

extension JSONWriter {
    /// An array, `body` writing each element's value.
    @inline(__always) mutating func array<T>(_ items: [T], _ body: (inout JSONWriter, T) -> Void) {
        beginArray()
        for x in items { element(); body(&self, x) }
        endArray()
    }
    mutating func strings(_ items: [String]) { array(items) { $0.string($1) } }
    /// CIDR blocks, their text straight into the output.
    fileprivate mutating func prefixes(_ items: [IPPrefix]) {
        beginArray()
        for p in items { element(); prefix(p) }
        endArray()
    }
    /// A dictionary with String keys, as JSONEncoder's `.sortedKeys` orders them.
    mutating func object<V>(_ d: [String: V], _ value: (inout JSONWriter, V) -> Void) {
        beginObject()
        for (k, v) in d.sorted(by: { $0.key < $1.key }) { key(escaping: k); value(&self, v) }
        endObject()
    }
}

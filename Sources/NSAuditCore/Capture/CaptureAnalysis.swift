/// The flows a capture file shows, per namespace.
public struct CaptureObservation: Codable, Sendable {
    public var flows: [ObservedFlow]
    public var stats: [CaptureStats]
    public var warnings: [String]

    public init(flows: [ObservedFlow] = [], stats: [CaptureStats] = [], warnings: [String] = []) {
        self.flows = flows; self.stats = stats; self.warnings = warnings
    }
}

/// Turns capture files into observed flows (offline confirmation: `report --pcap FILE`).
public enum CaptureAnalysis {
    /// Reads flows out of a parsed capture.
    ///
    /// - netns: the namespace the capture was taken in (`--pcap-netns`). Interfaces of files
    ///   written by `nsaudit capture -w` carry their own namespace (if_description
    ///   "netns=NAME"), which wins; packets of other files all belong to `netns`.
    /// - snapshot: maps interface indexes (LINUX_SLL2) to names through the namespace's links.
    ///   Interface names recorded in pcapng (other than "any") are used as they are.
    /// Parses capture file bytes and reads the flows out of them. Throws `PcapError` when
    /// nothing is readable; damage after a readable start becomes a warning.
    public static func observe(bytes: [UInt8], netns: String, snapshot: Snapshot? = nil) throws -> CaptureObservation {
        observe(try PcapFile.parse(bytes), netns: netns, snapshot: snapshot)
    }

    public static func observe(_ file: PcapFile, netns: String, snapshot: Snapshot? = nil) -> CaptureObservation {
        var tables: [String: FlowTable] = [:]
        var order: [String] = []
        var undecoded: [String: Int] = [:]
        var warnings = file.warnings
        var sllWithoutIndex = 0, unknownIndex = Set<String>()
        // Interface keys: ≥ 0 an ifindex resolved through the snapshot; < 0 a file interface
        // named in the file: -(id + 1).
        var names: [String: [Int32: String]] = [:]
        var localCache: [String: Set<IPAddress>] = [:]
        func localAddresses(_ ns: String) -> Set<IPAddress>? {
            if let c = localCache[ns] { return c }
            guard let n = snapshot?.namespace(ns) else { return nil }
            let set = Set(n.addresses.map(\.local))
            localCache[ns] = set
            return set
        }
        if let damage = file.damage {
            warnings.append("\(damage); the \(file.packets.count) packet(s) read before the damage are used")
        }
        for pkt in file.packets {
            guard pkt.interfaceID < file.interfaces.count else { continue }
            let itf = file.interfaces[pkt.interfaceID]
            let ns = itf.netns ?? netns
            if tables[ns] == nil { tables[ns] = FlowTable(); order.append(ns) }
            let decoded = pkt.data.withUnsafeBytes { PacketDecoder.decode($0, linkType: itf.linkType) }
            guard case .success(var h) = decoded else { undecoded[ns, default: 0] += 1; continue }
            if pkt.direction != .unknown { h.direction = pkt.direction }
            if h.direction == .unknown, let local = localAddresses(ns) {
                // Captures on a single interface (Ethernet, no pcapng direction flag): a
                // packet from one of the namespace's addresses was sent, one to it received.
                if local.contains(h.src) && !local.contains(h.dst) { h.direction = .outgoing }
                else if local.contains(h.dst) && !local.contains(h.src) { h.direction = .incoming }
            }
            let key: Int32
            if let n = itf.specificName {
                key = -Int32(pkt.interfaceID) - 1
                names[ns, default: [:]][key] = n
            } else if let idx = h.ifindex {
                key = idx
                if names[ns]?[key] == nil {
                    let n = snapshot?.namespace(ns)?.linkName(idx)
                    if n == nil { unknownIndex.insert("\(ns)#\(idx)") }
                    names[ns, default: [:]][key] = n ?? "if\(idx)"
                }
            } else {
                key = -Int32(pkt.interfaceID) - 1
                if itf.linkType == PcapLinkType.linuxSLL { sllWithoutIndex += 1 }
                names[ns, default: [:]][key] = itf.name ?? "if#\(pkt.interfaceID)"
            }
            tables[ns]!.add(h, iface: key, timestampNs: pkt.timestampNs)
        }
        if sllWithoutIndex > 0 {
            warnings.append("\(sllWithoutIndex) packet(s) are LINUX_SLL, which carries no interface index: their interface is unknown; capture with `tcpdump -i any -y LINUX_SLL2`")
        }
        if !unknownIndex.isEmpty {
            warnings.append(snapshot == nil
                ? "interface indexes are not mapped to names without a snapshot (\(unknownIndex.sorted().joined(separator: ", ")))"
                : "interface index(es) not in the snapshot: \(unknownIndex.sorted().joined(separator: ", ")); was the capture taken in this namespace and at the same time?")
        }
        if let snapshot {
            for ns in order where snapshot.namespace(ns) == nil {
                warnings.append("namespace \(ns) of the capture is not in the snapshot: its flows cannot be confirmed")
            }
        }
        if file.packets.isEmpty { warnings.append("the capture holds no packets") }
        var out = CaptureObservation(warnings: warnings)
        for ns in order {
            let t = tables[ns]!
            let nm = names[ns] ?? [:]
            out.flows += t.flows(netns: ns) { nm[$0] ?? "if\($0)" }
            var s = CaptureStats(netns: ns, packets: t.packets + undecoded[ns, default: 0], undecoded: undecoded[ns, default: 0],
                                 flowsDropped: t.flowsDropped)
            s.stoppedBy = file.damage == nil ? "end-of-file" : "damage"
            out.stats.append(s)
        }
        return out
    }
}

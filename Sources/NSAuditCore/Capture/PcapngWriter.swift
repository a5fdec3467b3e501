/// Writes pcapng (little-endian, one section) into bytes: a Section Header Block, then
/// Interface Description Blocks and Enhanced Packet Blocks in the order they are added.
/// Wireshark/tshark read the result; `PcapFile.parse` reads it back.
public struct PcapngWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    public private(set) var interfaceCount = 0

    public init(application: String = "nsaudit", hardware: String? = nil, os: String? = nil) {
        var opts: [UInt8] = []
        if let hardware { Self.option(&opts, 2, Array(hardware.utf8)) }
        if let os { Self.option(&opts, 3, Array(os.utf8)) }
        Self.option(&opts, 4, Array(application.utf8))
        Self.endOptions(&opts)
        var body: [UInt8] = []
        Self.le32(&body, 0x1A2B_3C4D)
        Self.le16(&body, 1); Self.le16(&body, 0)
        Self.le64(&body, UInt64.max)  // section length unknown (-1)
        body += opts
        block(0x0A0D_0D0A, body)
    }

    /// Adds an Interface Description Block with nanosecond timestamps; returns its id.
    @discardableResult
    public mutating func addInterface(linkType: UInt32, snaplen: UInt32, name: String?, description: String? = nil) -> Int {
        var body: [UInt8] = []
        Self.le16(&body, UInt16(truncatingIfNeeded: linkType)); Self.le16(&body, 0)
        Self.le32(&body, snaplen)
        if let name { Self.option(&body, 2, Array(name.utf8)) }
        if let description { Self.option(&body, 3, Array(description.utf8)) }
        Self.option(&body, 9, [9])  // if_tsresol: 10^-9
        Self.endOptions(&body)
        block(1, body)
        interfaceCount += 1
        return interfaceCount - 1
    }

    /// Adds an Enhanced Packet Block (timestamp in ns since the epoch) with epb_flags
    /// carrying the direction when known.
    public mutating func addPacket(interface: Int, timestampNs: UInt64, originalLength: UInt32,
                                   data: UnsafeRawBufferPointer, direction: PacketDirection = .unknown) {
        let cap = data.count
        let pad = (4 - cap % 4) % 4
        let hasFlags = direction != .unknown
        let total = 12 + 20 + cap + pad + (hasFlags ? 12 : 0)
        Self.le32(&bytes, 6); Self.le32(&bytes, UInt32(total))
        Self.le32(&bytes, UInt32(interface))
        Self.le32(&bytes, UInt32(truncatingIfNeeded: timestampNs >> 32))
        Self.le32(&bytes, UInt32(truncatingIfNeeded: timestampNs))
        Self.le32(&bytes, UInt32(cap)); Self.le32(&bytes, originalLength)
        bytes.append(contentsOf: data)
        for _ in 0..<pad { bytes.append(0) }
        if hasFlags {
            Self.le16(&bytes, 2); Self.le16(&bytes, 4)
            Self.le32(&bytes, direction == .incoming ? 1 : 2)
            Self.le32(&bytes, 0)  // opt_endofopt
        }
        Self.le32(&bytes, UInt32(total))
    }

    public mutating func addPacket(interface: Int, timestampNs: UInt64, originalLength: UInt32,
                                   data: [UInt8], direction: PacketDirection = .unknown) {
        data.withUnsafeBytes { addPacket(interface: interface, timestampNs: timestampNs, originalLength: originalLength, data: $0, direction: direction) }
    }

    /// Takes the bytes written so far (e.g. to flush them to a file) and keeps writing after them.
    public mutating func drain() -> [UInt8] {
        defer { bytes.removeAll(keepingCapacity: true) }
        return bytes
    }

    mutating func block(_ type: UInt32, _ body: [UInt8]) {
        let total = UInt32(12 + body.count)
        Self.le32(&bytes, type); Self.le32(&bytes, total)
        bytes += body
        Self.le32(&bytes, total)
    }

    static func option(_ out: inout [UInt8], _ code: UInt16, _ value: [UInt8]) {
        le16(&out, code); le16(&out, UInt16(value.count))
        out += value
        for _ in 0..<((4 - value.count % 4) % 4) { out.append(0) }
    }
    static func endOptions(_ out: inout [UInt8]) { le32(&out, 0) }
    static func le16(_ o: inout [UInt8], _ v: UInt16) { o.append(UInt8(v & 0xff)); o.append(UInt8(v >> 8)) }
    static func le32(_ o: inout [UInt8], _ v: UInt32) { for i in 0..<4 { o.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    static func le64(_ o: inout [UInt8], _ v: UInt64) { for i in 0..<8 { o.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}

import FoundationEssentials
import Glibc

/// CodingKeys whose member names are encoded once, for the byte-level JSON code: `fields`
/// gives the reader (`SnapshotDecoder`) the names to match key bytes against and the writer
/// (`JSONWriter.key`) the bytes `"name":` to copy. The snapshot model's CodingKeys conform
/// (below); their declaration order is the order `SnapshotWriter` writes the members in.
protocol EncodedCodingKey: CodingKey, CaseIterable, Sendable {
    static var fields: FieldTable<Self> { get }
}

extension Snapshot.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension KernelFacts.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension SnapshotMetadata.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension NamespaceSnapshot.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Discovery.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Link.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Address.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Rule.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension RangeCodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Route.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension RouteNexthop.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Nexthop.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension NexthopGroupMember.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Socket.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension Neighbor.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension FDBEntry.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension NetfilterState.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension NetfilterTables.CodingKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }
extension SnapshotWrittenKeys: EncodedCodingKey { static let fields = FieldTable<Self>() }

/// The member names of one CodingKeys enum, encoded once: matched against key bytes without
/// making Strings (reading), copied as `"name":` or `,"name":` (writing).
///
/// A case is found by its position in the declaration: a CodingKeys enum has no payloads, so
/// its in-memory value is that position (checked for every case when the table is made).
/// The encoded names live as long as the program: the tables are static.
struct FieldTable<K: CodingKey & CaseIterable & Sendable>: @unchecked Sendable {
    /// The keys `match` tries, in order.
    let keys: [K]
    /// Positions (in the declaration) of `keys`.
    private let positions: [Int]
    /// `,"name":` of every case, in declaration order; case i at `starts[i] ..< starts[i + 1]`.
    private let encoded: UnsafeMutablePointer<UInt8>
    private let starts: UnsafeMutablePointer<Int>

    init(_ keys: [K] = Array(K.allCases)) {
        let all = Array(K.allCases)
        var bytes: [UInt8] = [], starts = [0]
        for (i, k) in all.enumerated() {
            precondition(Self.position(k) == i, "\(K.self): a case's value is not its position")
            bytes += Array(",\"\(k.stringValue)\":".utf8)
            starts.append(bytes.count)
        }
        encoded = .allocate(capacity: bytes.count)
        encoded.initialize(from: bytes, count: bytes.count)
        self.starts = .allocate(capacity: starts.count)
        self.starts.initialize(from: starts, count: starts.count)
        self.keys = keys
        positions = keys.map { Self.position($0) }
    }

    @inline(__always) private static func position(_ k: K) -> Int {
        MemoryLayout<K>.size == 1 ? Int(unsafeBitCast(k, to: UInt8.self)) : 0
    }

    /// `"name":`
    @inline(__always) func quoted(_ k: K) -> UnsafeBufferPointer<UInt8> {
        let i = Self.position(k)
        return UnsafeBufferPointer(start: encoded + starts[i] + 1, count: starts[i + 1] - starts[i] - 1)
    }

    /// `,"name":`
    @inline(__always) func separated(_ k: K) -> UnsafeBufferPointer<UInt8> {
        let i = Self.position(k)
        return UnsafeBufferPointer(start: encoded + starts[i], count: starts[i + 1] - starts[i])
    }

    /// The index in `keys` of the key with these bytes, trying `hint` (the member after the
    /// last one found: writers keep one order) first.
    @inline(__always)
    func match(_ q: UnsafePointer<UInt8>, _ count: Int, from hint: Int) -> Int? {
        let m = keys.count
        return positions.withUnsafeBufferPointer { pos -> Int? in
            var k = hint < m ? hint : 0
            for _ in 0 ..< m {
                let i = pos[k]
                // the name, without `,"` before it and `":` after it
                let s = starts[i] + 2, e = starts[i + 1] - 2
                if e - s == count && (count == 0 || memcmp(encoded + s, q, count) == 0) { return k }
                k += 1
                if k == m { k = 0 }
            }
            return nil
        }
    }
}

import Foundation
import NSAuditCore

/// The fixtures the fuzz targets run their inputs against, read once per process from the
/// repository this file is in.
public enum Fixtures {
    /// The repository root (Fuzz/Sources/FuzzSupport/Fixtures.swift is four levels down).
    public static let repository: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { u.deleteLastPathComponent() }
        return u
    }()

    /// A recorded snapshot (path relative to the repository); a harness that cannot read its
    /// fixture stops at once rather than fuzz nothing.
    public static func snapshot(_ path: String) -> Snapshot {
        let url = repository.appendingPathComponent(path)
        do {
            return try SnapshotReader.decode(try Data(contentsOf: url), name: path)
        } catch {
            fatalError("fuzz fixture \(url.path): \(error)")
        }
    }

    /// The management lab with a VRF (fixtures/labs/mgmt-vrf.sh): a server with a management
    /// VRF and policy rules, two routers, two clients. Its server is `server`.
    public static let mgmtVRF: Snapshot = snapshot("fixtures/snapshots/mgmt-vrf.json")
    public static let server = "nsarec-server"
}

/// The input as bytes, and as text (invalid UTF-8 repaired, as the CLI reads its files).
public struct FuzzInput {
    public let bytes: [UInt8]
    public init(_ data: UnsafePointer<UInt8>?, _ size: Int) {
        bytes = size > 0 && data != nil ? Array(UnsafeBufferPointer(start: data, count: size)) : []
    }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

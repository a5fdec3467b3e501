import Foundation
import NSAuditCore
import Testing

@Suite struct SnapshotFormatTests {
    static let fixtures = Repo.files(in: "fixtures/snapshots", ext: "json")

    @Test func writerOutputDecodesToTheSameValues() throws {
        let s = SampleSnapshot.full()
        let bytes = SnapshotWriter.encode(s)
        let back = try SnapshotReader.decode(Data(bytes), name: "sample")
        #expect(back == s)
        #expect(SnapshotWriter.encode(back) == bytes, "writing is deterministic")
    }

    @Test func writerOutputFollowsTheSchema() throws {
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/snapshot.schema.json"))
        let json = try JSONSerialization.jsonObject(with: Data(SnapshotWriter.encode(SampleSnapshot.full())))
        #expect(v.validate(json) == [])
    }

    @Test func schemaCatchesDrift() throws {
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/snapshot.schema.json"))
        var json = try JSONSerialization.jsonObject(with: Data(SnapshotWriter.encode(SampleSnapshot.full()))) as! [String: Any]
        var nss = json["namespaces"] as! [[String: Any]]
        nss[0]["surprise"] = 1
        var routes = nss[0]["routes"] as! [[String: Any]]
        routes[0]["type"] = "bogus"
        nss[0]["routes"] = routes
        json["namespaces"] = nss
        let errors = v.validate(json)
        #expect(errors.contains { $0.contains("unexpected property surprise") })
        #expect(errors.contains { $0.contains("routes[0].type") })
    }

    @Test(arguments: fixtures)
    func fixtureRoundTripsAndFollowsTheSchema(_ url: URL) throws {
        let data = try Data(contentsOf: url)
        let snap = try SnapshotReader.decode(data, name: url.lastPathComponent)
        #expect(!snap.namespaces.isEmpty)
        let again = try SnapshotReader.decode(Data(SnapshotWriter.encode(snap)), name: "re-encoded")
        #expect(again == snap)
        let v = try JSONSchemaValidator(schemaFile: Repo.file("schema/snapshot.schema.json"))
        #expect(v.validate(try JSONSerialization.jsonObject(with: data)) == [])
    }

    @Test func fixturesArePresent() {
        #expect(Self.fixtures.count >= 6, "fixtures/snapshots should hold the recorded labs")
    }
}

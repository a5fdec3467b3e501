import Foundation
import NSAuditCore
import Testing

@Suite struct SnapshotReaderTests {
    func error(_ text: String) -> SnapshotError? {
        do { _ = try SnapshotReader.decode(Data(text.utf8), name: "f.json"); return nil } catch let e as SnapshotError { return e } catch { return nil }
    }

    @Test func truncated() {
        let full = String(decoding: SnapshotWriter.encode(SampleSnapshot.full()), as: UTF8.self)
        let e = error(String(full.prefix(full.count / 2)))
        #expect(e == .truncated("f.json"))
        #expect(e?.description.contains("truncated") == true)
    }

    @Test func otherSchema() {
        #expect(error(#"{"schema": "nsaudit.snapshot/v0", "namespaces": []}"#) == .wrongSchema("f.json", found: "nsaudit.snapshot/v0"))
    }

    @Test func notJSON() {
        guard case .notJSON = error("hello, world") else { Issue.record("expected notJSON"); return }
        guard case .notJSON = error("") else { Issue.record("expected notJSON for empty"); return }
    }

    @Test func missingSchemaAndBadFields() {
        guard case .invalid(_, let d) = error(#"{"namespaces": []}"#) else { Issue.record("expected invalid"); return }
        #expect(d.contains("schema"))
        var json = String(decoding: SnapshotWriter.encode(SampleSnapshot.full()), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"10.0.0.254\"", with: "\"10.0.0.999\"")
        guard case .invalid(_, let d2) = error(json) else { Issue.record("expected invalid address"); return }
        #expect(d2.contains("gateway") && d2.contains("10.0.0.999"))
    }
}

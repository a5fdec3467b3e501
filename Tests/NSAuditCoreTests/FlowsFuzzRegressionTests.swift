import Foundation
import Testing
@testable import NSAuditCore

/// Flows files the fuzzer once failed on (Fuzz/regressions/flows): each must give an error
/// that names the file and what was expected, never a trap. (The leak the first one showed —
/// libyaml's last event not freed on an early error — is caught by `make fuzz`, which replays
/// these inputs under LeakSanitizer first.)
@Suite struct FlowsFuzzRegressionTests {
    @Test func everyRecordedInputIsAnErrorNamingTheFile() throws {
        let files = Repo.files(in: "Fuzz/regressions/flows", ext: "yaml")
        #expect(!files.isEmpty)
        for url in files {
            let text = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            do {
                _ = try FlowIntent.parse(yaml: text, name: "regression.yaml")
                Issue.record("\(url.lastPathComponent) parsed as a flows file")
            } catch {
                let message = "\(error)"
                #expect(message.contains("regression.yaml"), "\(message)")
                #expect(!message.contains("\n"), "\(message)")
            }
        }
    }
}

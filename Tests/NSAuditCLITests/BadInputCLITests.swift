import Foundation
@testable import NSAuditCLI
import NSAuditCore
import Testing

/// Error messages out of the command line are one line on a terminal, whatever names from
/// the system or an input file they quote (issue 12: terminal injection, CRLF files).
@Suite struct BadInputCLITests {
    @Test func failureMessageIsOneEscapedLine() {
        let t = Termination(for: CLIFailure("no namespace \"a\u{1b}]0;x\u{07}\nb\" in the snapshot (line\r)"))
        #expect(t.status == ExitStatus.couldNotRun)
        #expect(t.message == "nsaudit: no namespace \"a\\x1b]0;x\\x07\\nb\" in the snapshot (line\\r)")
        #expect(!t.message.contains { $0.isNewline })
    }
}

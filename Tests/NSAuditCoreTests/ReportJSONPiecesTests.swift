import Foundation
@testable import NSAuditCore
import Testing

/// A big report's findings are encoded in pieces on every core and spliced in: byte for byte
/// what one JSONEncoder pass writes, for every lab (forced into 1, 2, 3 and 7 pieces) and
/// for a report of all the labs' findings together, many times over.
@Suite struct ReportJSONPiecesTests {
    @Test func piecesGiveTheSameBytes() throws {
        var all: [Finding] = []
        var last: Report? = nil
        for lab in ReportGoldenTests.labs {
            let r = Lab.report(try Lab.snapshot(lab), source: "x")
            let one = ReportRenderer.jsonBytes(r, parallelFindings: false)
            for n in [1, 2, 3, 7] where n <= r.findings.count {
                #expect(ReportRenderer.jsonBytes(r, pieces: n) == one, "\(lab) in \(n) pieces")
            }
            all += r.findings
            last = r
        }
        var big = try #require(last)
        for _ in 0..<8 { big.findings += all }
        #expect(big.findings.count >= 256)
        #expect(ReportRenderer.jsonBytes(big) == ReportRenderer.jsonBytes(big, parallelFindings: false))
    }
}

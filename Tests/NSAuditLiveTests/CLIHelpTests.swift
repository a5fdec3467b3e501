import Foundation
import Testing

/// The command line's help: every subcommand teaches on --help (exit 0, on standard output),
/// including route-get, whose query words are taken as they come; a bad query is a one-line
/// error on standard error with exit 2.
@Suite struct CLIHelpTests {
    @Test(arguments: [["--help"], ["snapshot", "--help"], ["route-get", "--help"], ["route-get", "-h"],
                      ["report", "--help"], ["capture", "--help"]])
    func helpTeaches(_ args: [String]) throws {
        let (rc, out, err) = try Binary.run(args)
        #expect(rc == 0, "\(args): \(err)")
        #expect(out.contains("OVERVIEW:") && out.contains("USAGE:"), "\(args)")
    }

    @Test func negativeMaxSourcesIsRefused() throws {
        let (rc, out, err) = try Binary.run(["report", "--snapshot", "fixtures/snapshots/mgmt-broken.json", "--max-sources", "-1"])
        #expect(rc != 0 && out.isEmpty)
        #expect(err.contains("--max-sources"), "\(err)")
    }

    @Test func badQueryIsOneLineOnStandardError() throws {
        let (rc, out, err) = try Binary.run(["route-get", "--snapshot", "fixtures/snapshots/mgmt-broken.json",
                                             "--netns", "nsarec-server", "10.0.0.300"])
        #expect(rc == 2)
        #expect(out.isEmpty)
        #expect(err.split(separator: "\n").count == 1 && err.contains("10.0.0.300"), "\(err)")
    }
}

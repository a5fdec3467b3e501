import ArgumentParser

// Placeholder so the command tree builds; replaced by the issue that implements it.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "(not built yet)")
    func run() throws { throw ValidationError("report is not built yet") }
}

import ArgumentParser

// Placeholder so the command tree builds; replaced by the issue that implements it.
struct CaptureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "capture", abstract: "(not built yet)")
    func run() throws { throw ValidationError("capture is not built yet") }
}

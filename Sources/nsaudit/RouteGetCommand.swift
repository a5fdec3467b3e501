import ArgumentParser

// Placeholder so the command tree builds; replaced by the issue that implements it.
struct RouteGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "route-get", abstract: "(not built yet)")
    func run() throws { throw ValidationError("route-get is not built yet") }
}

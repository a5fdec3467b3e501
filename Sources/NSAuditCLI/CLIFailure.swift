import ArgumentParser
import NSAuditLinux

/// nsaudit's exit statuses (the README's "Exit codes"). The `ip` personality and
/// `route-get --ip-compat` answer with ip's own instead (0, 1, 2, 255).
public enum ExitStatus {
    /// Ran; nothing at or above --fail-on.
    public static let clean: Int32 = 0
    /// `report`: findings at or above --fail-on. `route-get`: a query was refused.
    public static let findings: Int32 = 1
    /// Could not run: a usage error (unknown option, bad value), a bad snapshot, an unknown
    /// namespace, a missing permission.
    public static let couldNotRun: Int32 = 2
}

/// The one error a command throws to end with a status other than 0: with a message (one
/// line on standard error: what went wrong and how to fix it) when the command could not
/// run, or without one when the status is itself the answer (findings, ip's statuses).
public struct CLIFailure: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String?
    public var code: Int32

    public init(_ message: String, code: Int32 = ExitStatus.couldNotRun) {
        self.message = message; self.code = code
    }

    /// Ends with `code` and no message: what had to be said is already printed.
    public static func status(_ code: Int32) -> CLIFailure {
        var f = CLIFailure("", code: code)
        f.message = nil
        return f
    }

    /// `report`: findings at or above --fail-on.
    public static let findings = status(ExitStatus.findings)

    public var description: String { message ?? "exit status \(code)" }

    /// Runs `body`; any other error becomes a could-not-run failure saying what it was.
    static func wrap<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as CLIFailure { throw e } catch {
            throw CLIFailure("\(error)")
        }
    }
}

/// How the process ends for an error out of parsing or running a command: the exit status
/// and what to print where. The only place nsaudit's command line turns errors into statuses.
public struct Termination: Equatable, Sendable {
    public var status: Int32
    /// Printed followed by a newline, unless empty.
    public var message: String
    /// Help and --version go to standard output; everything else to standard error.
    public var toStandardOutput: Bool

    public init(for error: Error, columns: Int? = nil) {
        switch error {
        case let f as CLIFailure:
            // One line, whatever names from the system or an input file it quotes.
            self.init(status: f.code, message: f.message.map { "nsaudit: \($0.terminalEscaped)" } ?? "", toStandardOutput: false)
        case let e as ExitCode:
            self.init(status: e.rawValue, message: "", toStandardOutput: false)
        default:
            // ArgumentParser's own message (with the usage line for usage errors). Its status
            // is 0 for --help and --version; a usage error (its EX_USAGE, 64) and anything
            // unexpected is "could not run".
            let text = NSAudit.fullMessage(for: error, columns: columns)
            if NSAudit.exitCode(for: error).isSuccess {
                self.init(status: ExitStatus.clean, message: text, toStandardOutput: true)
            } else {
                self.init(status: ExitStatus.couldNotRun, message: text, toStandardOutput: false)
            }
        }
    }

    init(status: Int32, message: String, toStandardOutput: Bool) {
        self.status = status; self.message = message; self.toStandardOutput = toStandardOutput
    }

    /// Prints the message where it belongs.
    func print() {
        guard !message.isEmpty else { return }
        try? (toStandardOutput ? StandardStream.output : .error).write(message + "\n")
    }
}

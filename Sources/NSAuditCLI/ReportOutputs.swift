import ArgumentParser
import FoundationEssentials
import Glibc
import NSAuditCore
import NSAuditLinux

/// `report -o`: where the report goes and in which format. One audit, every destination.
///
///   -o FORMAT:PATH   PATH gets the report in FORMAT (json, text, prometheus); repeatable
///   -o PATH          PATH gets the report in --format (default json); at most once
///   (no -o)          standard output gets the report in --format
///
/// PATH `-` is standard output (at most once among all -o). A value whose text before the
/// first `:` has no `/` names a format: `-o xml:out` is an error, not a file named
/// "xml:out" (write `./xml:out` for that). `--format` with only `-o FORMAT:PATH` values is
/// an error: it would name the format of nothing. Two -o naming the same file are an error.
public struct ReportOutputOptions: ParsableArguments {
    @Option(name: [.customShort("o"), .customLong("output")],
            help: ArgumentHelp("""
                Write the report to PATH in FORMAT (json, text or prometheus); repeatable: every \
                output comes from the same audit. Each file is written atomically (temporary file, \
                fsync, rename, after every output has been written); a failed run leaves the \
                previous files in place. `-o PATH` without a format uses --format; PATH `-` is \
                standard output (default: standard output in --format).
                """, valueName: "[FORMAT:]PATH"))
    public var values: [String] = []

    @Option(name: .customLong("format"),
            help: ArgumentHelp("The format of standard output and of an -o PATH given without a format (default: json).", valueName: "FORMAT"))
    public var explicitFormat: ReportFormat?

    public init() {}

    /// The format of standard output and of an untyped `-o PATH`.
    public var format: ReportFormat { explicitFormat ?? .json }

    /// One destination: a format and a path (nil: standard output).
    public struct Destination: Equatable, Sendable {
        public var format: ReportFormat
        public var path: String?
    }

    /// A value of `-o`: its format when it names one (nil for a plain PATH), and its path.
    static func parse(_ value: String) throws -> (format: ReportFormat?, path: String) {
        guard let colon = value.firstIndex(of: ":"), !value[..<colon].contains("/") else { return (nil, value) }
        let name = String(value[..<colon]), path = String(value[value.index(after: colon)...])
        guard let format = ReportFormat(rawValue: name) else {
            let known = ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("-o \(value.terminalEscaped): unknown format \"\(name.terminalEscaped)\" (\(known)); for a file whose name has a colon write ./\(value.terminalEscaped)")
        }
        guard !path.isEmpty else {
            throw ValidationError("-o \(value.terminalEscaped): no path after \"\(name):\" (a file, or - for standard output)")
        }
        return (format, path)
    }

    /// Every destination, checked: at most one plain PATH, standard output at most once, no
    /// file twice, --format only where some destination takes it.
    public func destinations() throws -> [Destination] {
        guard !values.isEmpty else { return [Destination(format: format, path: nil)] }
        var out: [Destination] = []
        var untyped = 0
        for value in values {
            guard !value.isEmpty else { throw ValidationError("-o needs a path (or FORMAT:PATH), not an empty string") }
            let (f, path) = try Self.parse(value)
            if f == nil { untyped += 1 }
            out.append(Destination(format: f ?? format, path: path == "-" ? nil : path))
        }
        if untyped > 1 {
            throw ValidationError("-o PATH without a format is allowed once (it takes --format); name the format of each: -o json:report.json -o text:report.txt")
        }
        if explicitFormat != nil && untyped == 0 {
            throw ValidationError("--format only applies to standard output or an -o PATH without a format, and every -o names its format: drop --format, or add -o FORMAT:- for standard output")
        }
        if out.filter({ $0.path == nil }).count > 1 {
            throw ValidationError("standard output (-) is given more than once in -o; it can take one format")
        }
        var seen: [String: String] = [:]
        for d in out {
            guard let p = d.path else { continue }
            let key = URL(fileURLWithPath: p).standardizedFileURL.path
            if let first = seen[key] {
                throw ValidationError("-o names \(p.terminalEscaped) twice (as \(first) and \(d.format.rawValue)); give each output its own file")
            }
            seen[key] = d.format.rawValue
        }
        return out
    }

    /// Opens every destination (a missing directory fails here, before any is written).
    func open(_ destinations: [Destination]) throws -> [OutputFile] {
        try CLIFailure.wrap { try destinations.map { try OutputFile(path: $0.path) } }
    }

    /// Renders `report` into each destination, then makes every file visible under its name:
    /// nothing is renamed until every output has been written in full. `all`: the text
    /// lists every finding in full.
    func write(_ report: Report, to destinations: [Destination], files: [OutputFile], all: Bool = false) throws {
        try CLIFailure.wrap {
            for (d, file) in zip(destinations, files) {
                let color = d.path == nil && d.format == .text && isatty(STDOUT_FILENO) != 0
                try file.write(Array(ReportRenderer.render(report, as: d.format, color: color, all: all).utf8))
            }
            for file in files { try file.commit() }
        }
    }
}

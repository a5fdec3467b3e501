import Foundation
import Glibc
import Testing

/// Live tests build throwaway namespaces and need root; without it they are skipped with
/// this reason (Swift Testing prints it), never passed silently.
enum Live {
    static let isRoot = geteuid() == 0
    static let skipReason: Comment = "needs root to create network namespaces (run as root, as CI does)"

    /// Runs a shell command and returns stdout; throws with stderr on failure.
    @discardableResult
    static func sh(_ command: String) throws -> String {
        // Output goes through files, not pipes: a command may leave a background process
        // behind (a listener), which must not hold our read end open.
        let dir = FileManager.default.temporaryDirectory
        let outURL = dir.appendingPathComponent("nsat-\(UUID().uuidString).out")
        let errURL = dir.appendingPathComponent("nsat-\(UUID().uuidString).err")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        defer { try? FileManager.default.removeItem(at: outURL); try? FileManager.default.removeItem(at: errURL) }
        let p = Process()
        // The test runner's threads block most signals and children inherit that mask, so a
        // `kill` from a lab script would never stop its listeners: start bash through python3
        // with an empty signal mask. Then close every inherited descriptor above stderr, so
        // a background process the command leaves behind holds nothing of ours open.
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        let closeInherited = "for f in /proc/$$/fd/*; do n=${f##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done 2>/dev/null; "
        p.arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, set()); os.execv('/bin/bash', ['bash', '-c', sys.argv[1]])",
                       closeInherited + command]
        p.standardOutput = try FileHandle(forWritingTo: outURL)
        p.standardError = try FileHandle(forWritingTo: errURL)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let o = (try? Data(contentsOf: outURL)) ?? Data()
        let e = (try? Data(contentsOf: errURL)) ?? Data()
        guard p.terminationStatus == 0 else {
            throw ShellError(command: command, status: p.terminationStatus, stderr: String(decoding: e, as: UTF8.self))
        }
        return String(decoding: o, as: UTF8.self)
    }

    static func json(_ command: String) throws -> [[String: Any]] {
        let s = try sh(command)
        let v = try JSONSerialization.jsonObject(with: Data(s.utf8))
        return v as? [[String: Any]] ?? []
    }
}

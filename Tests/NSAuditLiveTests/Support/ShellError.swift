import Foundation
import Glibc
import Testing

struct ShellError: Error, CustomStringConvertible {
    var command: String, status: Int32, stderr: String
    var description: String { "`\(command)` exited \(status): \(stderr)" }
}

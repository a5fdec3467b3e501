/// Text from the system or from input files (namespace and device names, snapshot strings)
/// shown on a terminal: control characters would retitle the terminal, move the cursor or
/// forge lines of a table, so they are written as escapes. JSON output carries the exact text
/// instead (JSON has its own escapes).
extension String {
    /// `self` with C0 and C1 control characters and DEL written as `\n`, `\r`, `\t` or `\xHH`
    /// (`\u{HHHH}` above 0xff), and a backslash doubled so every escape reads back unambiguously.
    /// Printable text, including non-ASCII letters, is unchanged.
    public var terminalEscaped: String {
        guard unicodeScalars.contains(where: Self.needsEscape) else { return self }
        var out = ""
        out.reserveCapacity(utf8.count + 8)
        for u in unicodeScalars {
            switch u {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\\": out += "\\\\"
            case _ where Self.needsEscape(u):
                let hex = String(u.value, radix: 16)
                out += u.value <= 0xff ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{\(hex)}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    private static func needsEscape(_ u: Unicode.Scalar) -> Bool {
        u.value < 0x20 || u.value == 0x7f || (0x80...0x9f).contains(u.value) || u == "\\"
            || u.value == 0x2028 || u.value == 0x2029
    }
}

/// Capture durations as the command line spells them: `5s`, `2m`, `500ms`, `1h`, `1m30s`,
/// or a plain number of seconds.
public struct CaptureDuration: Sendable, Equatable, CustomStringConvertible {
    /// As it was written (`5s`), for messages.
    public let text: String
    /// The duration in seconds (positive).
    public let seconds: Double

    /// nil when the text is not a positive duration.
    public init?(_ text: String) {
        guard let seconds = Self.parse(text) else { return nil }
        self.text = text
        self.seconds = seconds
    }

    public var description: String { text }

    /// Seconds, or nil when the text is not a positive duration.
    public static func parse(_ text: String) -> Double? {
        let s = text.trimmedASCIIWhitespace
        if let v = Double(s) { return v > 0 && v.isFinite ? v : nil }
        var total = 0.0
        var number = ""
        var unit = ""
        var parts: [(Double, String)] = []
        func flush() -> Bool {
            guard !number.isEmpty, let v = Double(number), !unit.isEmpty else { return false }
            parts.append((v, unit)); number = ""; unit = ""
            return true
        }
        for c in s {
            if c.isNumber || c == "." {
                if !unit.isEmpty { guard flush() else { return nil } }
                number.append(c)
            } else if c.isLetter {
                unit.append(c)
            } else { return nil }
        }
        guard flush() else { return nil }
        for (v, u) in parts {
            switch u {
            case "ms": total += v / 1000
            case "s", "sec": total += v
            case "m", "min": total += v * 60
            case "h": total += v * 3600
            default: return nil
            }
        }
        return total > 0 && total.isFinite ? total : nil
    }
}

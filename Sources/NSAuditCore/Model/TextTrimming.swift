extension String {
    /// The text without leading and trailing ASCII white space (space, tab, line feed,
    /// vertical tab, form feed, carriage return): what the tool's own and the kernel's texts
    /// are padded with.
    public var trimmedASCIIWhitespace: String {
        let u = utf8
        func blank(_ c: UInt8) -> Bool { c == 0x20 || (0x09...0x0D).contains(c) }
        guard let first = u.firstIndex(where: { !blank($0) }), let last = u.lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[first...last])
    }
}

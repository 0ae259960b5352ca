/// A `--size` value: `N` (square) or `WxH`, each side 1 to 65536 pixels.
enum SizeFlag {
    /// The width and height `text` says, or nil when it is not `N` or `WxH`.
    static func parse(_ text: String) -> (width: Int, height: Int)? {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count), parts.allSatisfy({ (1...65536).contains($0 ?? 0) }) else { return nil }
        return (parts[0]!, parts.last!!)
    }
}

import Files
import Foundation

/// Renames checkpoint keys with regular-expression rules, one per line: `PATTERN => REPLACEMENT`
/// (ICU syntax, `$1` for groups; `#` starts a comment). Every rule is applied in order to every key, like a
/// chain of `sed` substitutions. Two keys renamed to the same name are refused as ambiguous.
public struct KeyMapping: Sendable {
    /// One rule, its pattern compiled once. (`NSRegularExpression` is immutable once made, so sharing it is safe.)
    public struct Rule: @unchecked Sendable {
        public let pattern: String
        public let replacement: String
        let expression: NSRegularExpression

        /// `key` with every match replaced (`$1` names a group).
        func apply(_ key: String) -> String {
            expression.stringByReplacingMatches(in: key, range: NSRange(key.startIndex..., in: key), withTemplate: replacement)
        }
    }

    public let rules: [Rule]

    /// The longest pattern accepted, in UTF-16 units.
    public static let patternLimit = 256

    /// Parses mapping text; `source` names it in errors.
    public init(text: String, source: String) throws(UNetError) {
        var rules: [Rule] = []
        for (number, raw) in TextFile.lines(text).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let parts = line.components(separatedBy: "=>")
            guard parts.count == 2 else {
                throw .invalidConfiguration("\(source):\(number + 1): expected 'PATTERN => REPLACEMENT'")
            }
            let pattern = parts[0].trimmingCharacters(in: .whitespaces)
            // No key needs a longer pattern, and Foundation's NSRegularExpression leaks the copy it makes of one
            // longer than 256 UTF-16 units (found by fuzzing).
            guard pattern.utf16.count <= Self.patternLimit else {
                throw .invalidConfiguration("\(source):\(number + 1): a pattern longer than \(Self.patternLimit) characters")
            }
            guard let expression = try? NSRegularExpression(pattern: pattern) else {
                throw .invalidConfiguration("\(source):\(number + 1): invalid regular expression '\(TextFile.printable(pattern.prefix(120)))'")
            }
            rules.append(Rule(pattern: pattern, replacement: parts[1].trimmingCharacters(in: .whitespaces), expression: expression))
        }
        guard !rules.isEmpty else { throw .invalidConfiguration("\(source): no mapping rules") }
        self.rules = rules
    }

    /// Reads a mapping file.
    public init(path: String) throws(UNetError) {
        let text: String
        do { text = try TextFile.read(path) } catch {
            throw .invalidConfiguration("\(path): cannot read the key mapping file: \(error.reason)")
        }
        try self.init(text: text, source: path)
    }

    /// `key` after every rule.
    public func apply(_ key: String) -> String {
        rules.reduce(key) { key, rule in rule.apply(key) }
    }

    /// Renames `keys`, in order.
    /// - Throws: when two keys end up with the same name.
    public func rename(_ keys: [String]) throws(UNetError) -> [String] {
        let renamed = keys.map(apply)
        var seen: [String: String] = [:]
        for (old, new) in zip(keys, renamed) {
            if let other = seen[new] {
                throw .incompatibleCheckpoint("key mapping is ambiguous: '\(TextFile.printable(other.prefix(120)))' and "
                    + "'\(TextFile.printable(old.prefix(120)))' both map to '\(TextFile.printable(new.prefix(120)))'")
            }
            seen[new] = old
        }
        return renamed
    }
}

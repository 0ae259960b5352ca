import Foundation

/// Renames checkpoint keys with regular-expression rules, one per line: `PATTERN => REPLACEMENT`
/// (ICU syntax, `$1` for groups; `#` starts a comment). Every rule is applied in order to every key, like a
/// chain of `sed` substitutions. Two keys renamed to the same name are refused as ambiguous.
public struct KeyMapping: Sendable {
    public struct Rule: Sendable {
        public let pattern: String
        public let replacement: String
    }

    public let rules: [Rule]

    /// Parses mapping text; `source` names it in errors.
    public init(text: String, source: String) throws(UNetError) {
        var rules: [Rule] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let parts = line.components(separatedBy: "=>")
            guard parts.count == 2 else {
                throw .invalidConfiguration("\(source):\(number + 1): expected 'PATTERN => REPLACEMENT'")
            }
            let pattern = parts[0].trimmingCharacters(in: .whitespaces)
            guard (try? NSRegularExpression(pattern: pattern)) != nil else {
                throw .invalidConfiguration("\(source):\(number + 1): invalid regular expression '\(pattern)'")
            }
            rules.append(Rule(pattern: pattern, replacement: parts[1].trimmingCharacters(in: .whitespaces)))
        }
        guard !rules.isEmpty else { throw .invalidConfiguration("\(source): no mapping rules") }
        self.rules = rules
    }

    /// Reads a mapping file.
    public init(path: String) throws(UNetError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .invalidConfiguration("\(path): cannot read the key mapping file")
        }
        try self.init(text: text, source: path)
    }

    /// `key` after every rule.
    public func apply(_ key: String) -> String {
        rules.reduce(key) { key, rule in
            key.replacingOccurrences(of: rule.pattern, with: rule.replacement, options: .regularExpression)
        }
    }

    /// Renames `keys`, in order.
    /// - Throws: when two keys end up with the same name.
    public func rename(_ keys: [String]) throws(UNetError) -> [String] {
        let renamed = keys.map(apply)
        var seen: [String: String] = [:]
        for (old, new) in zip(keys, renamed) {
            if let other = seen[new] {
                throw .incompatibleCheckpoint("key mapping is ambiguous: '\(other)' and '\(old)' both map to '\(new)'")
            }
            seen[new] = old
        }
        return renamed
    }
}

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

        /// `key` with every match replaced (`$1` names a group), or nil when matching runs past `deadline`: a
        /// pattern such as `(a*)*b` backtracks exponentially, and ICU sets no time limit of its own.
        func apply(_ key: String, deadline: Date) -> String? {
            let text = NSString(string: key)
            var result = ""
            var copied = 0
            var late = false
            expression.enumerateMatches(in: key, options: [.reportProgress], range: NSRange(location: 0, length: text.length)) {
                match, _, stop in
                guard Date() < deadline else {
                    (late, stop.pointee) = (true, true)
                    return
                }
                guard let match else { return }
                result += text.substring(with: NSRange(location: copied, length: match.range.location - copied))
                result += expression.replacementString(for: match, in: key, offset: 0, template: replacement)
                copied = match.range.location + match.range.length
            }
            return late ? nil : result + text.substring(from: copied)
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

    /// The longest key a rule may make (rules that each multiply a key's length would otherwise grow it
    /// exponentially: seven rules replacing every character by nine make a key half a million times longer).
    public static let keyLimit = 1000

    /// The most time renaming a checkpoint's keys may take (ordinary rules take microseconds).
    public static let timeLimit: TimeInterval = 10

    /// `key` after every rule.
    /// - Throws: when a rule makes the key longer than `keyLimit` characters, or matching runs past `deadline`.
    public func apply(_ key: String, deadline: Date = Date(timeIntervalSinceNow: timeLimit)) throws(UNetError) -> String {
        var key = key
        for (number, rule) in rules.enumerated() {
            guard let renamed = rule.apply(key, deadline: deadline) else {
                throw .invalidConfiguration("key mapping rule \(number + 1) ('\(TextFile.printable(rule.pattern.prefix(60)))') "
                    + "takes too long to match (a pattern that backtracks without end?)")
            }
            key = renamed
            guard key.utf16.count <= Self.keyLimit else {
                throw .invalidConfiguration("key mapping rule \(number + 1) ('\(TextFile.printable(rule.pattern.prefix(60)))') "
                    + "makes a key longer than \(Self.keyLimit) characters")
            }
        }
        return key
    }

    /// Renames `keys`, in order, within `seconds`.
    /// - Throws: when two keys end up with the same name, a key grows past `keyLimit`, or time runs out.
    public func rename(_ keys: [String], within seconds: TimeInterval = timeLimit) throws(UNetError) -> [String] {
        let deadline = Date(timeIntervalSinceNow: seconds)
        var renamed: [String] = []
        for key in keys { renamed.append(try apply(key, deadline: deadline)) }
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

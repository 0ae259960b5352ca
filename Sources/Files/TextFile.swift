/// Text files a user writes by hand (list files, key mappings): read as UTF-8 and split into lines whatever
/// the line ends (`\n`, `\r\n` from Windows editors, or a lone `\r`).
public enum TextFile {
    /// The most bytes a hand-written text file may hold (64 MiB).
    public static let sizeLimit = 64 << 20

    /// The text of the file at `path`.
    /// - Throws: `FileError` naming `path`: unreadable, not a regular file, too large, or not UTF-8.
    public static func read(_ path: String) throws(FileError) -> String {
        let bytes = try FileContents.read(path, limit: sizeLimit)
        guard let text = String(validating: bytes, as: UTF8.self) else { throw FileError(path, "is not UTF-8 text") }
        return text
    }

    /// The lines of `text`, in order, without their line ends; a final line end adds no empty line. Swift
    /// treats `\r\n` as one character, so splitting on `"\n"` alone would keep Windows lines whole.
    public static func lines(_ text: String) -> [Substring] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// `text` with control characters (line breaks, escapes) written as Swift escapes (`\n`, `\u{1B}`), for
    /// quoting what a file or flag holds in a one-line message.
    public static func printable(_ text: some StringProtocol) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            out += scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return out
    }
}

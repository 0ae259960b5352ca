/// The image of a `multipart/form-data` request body (RFC 7578), as an HTML form or `curl -F image=@a.png` sends it:
/// the first part with a file name, else the part named `image` or `file`, else the first part.
///
/// The boundary comes from the `Content-Type` header (1 to 70 characters, RFC 2046); the body is searched once for
/// each delimiter, so the time is linear in the body's size. Anything that does not follow the format is a one-line
/// `MultipartError`.
public enum MultipartBody {
    /// The bytes of the image part of `body`.
    /// - Parameter contentType: the request's `Content-Type` header.
    public static func image(in body: [UInt8], contentType: String) throws(MultipartError) -> [UInt8] {
        let boundary = try self.boundary(contentType)
        let delimiter = Array("--\(boundary)".utf8)
        guard var position = find(delimiter, in: body, from: 0) else { throw malformed("no part delimited by the boundary") }
        var parts: [(headers: String, body: ArraySlice<UInt8>)] = []
        let separator: [UInt8] = Array("\r\n--\(boundary)".utf8)
        while true {
            position += delimiter.count
            // The closing delimiter ends with "--".
            if body.count >= position + 2, body[position] == 45, body[position + 1] == 45 { break }
            guard let headersStart = skipLineBreak(body, position) else { throw malformed("a delimiter not followed by a line break") }
            guard let headersEnd = find([13, 10, 13, 10], in: body, from: headersStart) else { throw malformed("a part without headers") }
            let contentStart = headersEnd + 4
            guard let next = find(separator, in: body, from: contentStart) else { throw malformed("a part that is never closed") }
            let headers = String(decoding: body[headersStart..<headersEnd], as: UTF8.self)
            parts.append((headers, body[contentStart..<next]))
            guard parts.count <= 64 else { throw malformed("more than 64 parts") }
            position = next + 2  // at the delimiter, past the line break before it
        }
        guard !parts.isEmpty else { throw malformed("no parts") }
        let dispositions = parts.map { disposition($0.headers) }
        let chosen = dispositions.firstIndex { $0.filename }
            ?? dispositions.firstIndex { $0.name == "image" || $0.name == "file" }
            ?? 0
        return Array(parts[chosen].body)
    }

    /// The boundary parameter of a `multipart/form-data` content type.
    public static func boundary(_ contentType: String) throws(MultipartError) -> String {
        let fields = contentType.split(separator: ";").map { $0.trimmed(" \t") }
        guard fields.first?.lowercased() == "multipart/form-data" else { throw malformed("not multipart/form-data") }
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: "="), field[..<equals].lowercased() == "boundary" else { continue }
            var value = String(field[field.index(after: equals)...])
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard (1...70).contains(value.utf8.count), value.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw malformed("a boundary of \(value.utf8.count) characters or with spaces or control characters")
            }
            return value
        }
        throw malformed("no boundary in the Content-Type")
    }

    /// The `name` of a part's `Content-Disposition` and whether it has a file name.
    private static func disposition(_ headers: String) -> (name: String?, filename: Bool) {
        for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
            let fields = line.split(separator: ";").map { $0.trimmed(" \t") }
            var name: String?
            var filename = false
            for field in fields.dropFirst() {
                if field.lowercased().hasPrefix("filename") { filename = true }
                if field.lowercased().hasPrefix("name=") { name = String(field.dropFirst(5)).trimmed("\"") }
            }
            return (name, filename)
        }
        return (nil, false)
    }

    private static func skipLineBreak(_ body: [UInt8], _ position: Int) -> Int? {
        // Transport padding (spaces and tabs) may follow a delimiter.
        var p = position
        while p < body.count, body[p] == 32 || body[p] == 9 { p += 1 }
        guard p + 1 < body.count, body[p] == 13, body[p + 1] == 10 else { return nil }
        return p + 2
    }

    /// The first index at or after `start` where `needle` occurs in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard let first = needle.first, needle.count <= haystack.count else { return nil }
        var i = start
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var k = 1
                while k < needle.count, haystack[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i }
            }
            i += 1
        }
        return nil
    }

    private static func malformed(_ what: String) -> MultipartError {
        MultipartError(reason: what)
    }
}

extension StringProtocol {
    /// The string without leading and trailing characters of `set`.
    fileprivate func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let c = s.first, set.contains(c) { s.removeFirst() }
        while let c = s.last, set.contains(c) { s.removeLast() }
        return String(s)
    }
}

import Multipart
import Testing

/// The image part of `multipart/form-data` bodies as browsers and curl send them, and malformed ones refused in one line.
@Suite("multipart/form-data")
struct MultipartBodyTests {
    static func body(_ boundary: String, _ parts: [(headers: String, content: [UInt8])], preamble: String = "") -> [UInt8] {
        var out = Array(preamble.utf8)
        for part in parts { out += Array("--\(boundary)\r\n\(part.headers)\r\n\r\n".utf8) + part.content + Array("\r\n".utf8) }
        return out + Array("--\(boundary)--\r\n".utf8)
    }

    @Test("the part with a file name wins, then the part named image or file, then the first")
    func choosesTheImage() throws {
        let image: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 13, 10, 0, 255]
        let withFile = Self.body("xyz", [("Content-Disposition: form-data; name=\"note\"", Array("hi".utf8)),
                                         ("Content-Disposition: form-data; name=\"upload\"; filename=\"a.png\"\r\nContent-Type: image/png", image)],
                                preamble: "ignored preamble\r\n")
        #expect(try MultipartBody.image(in: withFile, contentType: "multipart/form-data; boundary=xyz") == image)
        let named = Self.body("b", [("Content-Disposition: form-data; name=\"x\"", [1]), ("Content-Disposition: form-data; name=\"image\"", image)])
        #expect(try MultipartBody.image(in: named, contentType: "Multipart/Form-Data; boundary=\"b\"") == image)
        let first = Self.body("b", [("Content-Disposition: form-data; name=\"x\"", image), ("Content-Disposition: form-data; name=\"y\"", [1])])
        #expect(try MultipartBody.image(in: first, contentType: "multipart/form-data; charset=utf-8; boundary=b") == image)
        // Content that holds the boundary without a preceding line break is content.
        let tricky: [UInt8] = Array("a--b c".utf8)
        #expect(try MultipartBody.image(in: Self.body("b", [("Content-Disposition: form-data; name=\"image\"", tricky)]),
                                        contentType: "multipart/form-data; boundary=b") == tricky)
    }

    @Test("malformed bodies and content types are refused in one line", arguments: [
        ("multipart/form-data", "--b\r\n\r\nx\r\n--b--", "no boundary"),
        ("text/plain; boundary=b", "--b\r\n\r\nx\r\n--b--", "not multipart/form-data"),
        ("multipart/form-data; boundary=" + String(repeating: "a", count: 71), "", "71 characters"),
        ("multipart/form-data; boundary=b", "no delimiter here", "no part delimited"),
        ("multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data\r\n\r\nnever closed", "never closed"),
        ("multipart/form-data; boundary=b", "--b\r\nheaders without end", "without headers"),
        ("multipart/form-data; boundary=b", "--b--\r\n", "no parts"),
        ("multipart/form-data; boundary=b", "--bX\r\n", "line break"),
    ])
    func malformed(contentType: String, body: String, expected: String) {
        let error = #expect(throws: MultipartError.self) { try MultipartBody.image(in: Array(body.utf8), contentType: contentType) }
        #expect(error?.description.contains(expected) == true, "\(String(describing: error))")
        #expect(error?.description.contains("\n") == false)
    }
}

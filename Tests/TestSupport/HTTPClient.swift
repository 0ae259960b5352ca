import Foundation

/// A small HTTP/1.1 client over a loopback TCP socket, for the server tests: it sends exactly the bytes it is given
/// (malformed requests too) and reads the answer until the server closes the connection.
public enum HTTPClient {
    public struct Response: Sendable {
        public let status: Int
        /// Header names in lower case.
        public let headers: [String: String]
        public let body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
        public func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw CommandRunner.CommandError(description: "not a JSON object: \(text.prefix(200))")
            }
            return object
        }
    }

    /// Sends a request with `Connection: close` and `Content-Length` (unless `headers` sets them) and reads the answer.
    public static func request(port: UInt16, method: String, path: String, body: [UInt8] = [], headers: [String: String] = [:],
                               timeout: Double = 120) throws -> Response
    {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
        var fields = headers
        if fields.keys.first(where: { $0.lowercased() == "connection" }) == nil { fields["Connection"] = "close" }
        if fields.keys.first(where: { $0.lowercased() == "content-length" }) == nil, !body.isEmpty || method == "POST" {
            fields["Content-Length"] = String(body.count)
        }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        let answer = try exchange(port: port, bytes: Array((head + "\r\n").utf8) + body, timeout: timeout)
        return try parse(answer)
    }

    /// Sends `bytes` as they are and returns everything the server writes until it closes (or `timeout` passes).
    public static func exchange(port: UInt16, bytes: [UInt8], timeout: Double = 120, pauseAfterSending: Double = 0) throws -> [UInt8] {
        let socket = try connect(port: port, timeout: timeout)
        defer { close(socket) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }  // the server may answer (413) and close before the whole body is sent
            sent += n
        }
        if pauseAfterSending > 0 { usleep(UInt32(pauseAfterSending * 1e6)) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(socket, &buffer, buffer.count, 0)
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return answer
    }

    /// A connected TCP socket to 127.0.0.1:`port` whose reads give up after `timeout` seconds.
    public static func connect(port: UInt16, timeout: Double = 120) throws -> Int32 {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw CommandRunner.CommandError(description: "socket: errno \(errno)") }
        var time = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard status == 0 else {
            close(socket)
            throw CommandRunner.CommandError(description: "connect to port \(port): errno \(errno)")
        }
        return socket
    }

    /// Splits an answer into status, headers and body (by `Content-Length`, or everything after the headers).
    public static func parse(_ answer: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(answer.count - 3, 0)).first(where: { Array(answer[$0..<$0 + 4]) == separator }) else {
            throw CommandRunner.CommandError(description: "no complete HTTP answer (\(answer.count) bytes)")
        }
        let lines = String(decoding: answer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines[0].split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else {
            throw CommandRunner.CommandError(description: "bad status line '\(lines[0])'")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(answer[(end + 4)...])
        if let length = headers["content-length"].flatMap(Int.init), length <= body.count { body = Array(body[..<length]) }
        return Response(status: status, headers: headers, body: body)
    }
}

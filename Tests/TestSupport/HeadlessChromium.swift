import Foundation

/// Debian's Chromium, headless, driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`: commands
/// in on file descriptor 3, answers and events out on 4, each a JSON message ended by a NUL byte), for the browser
/// test of `unet serve`'s page.
public final class HeadlessChromium {
    /// Where the bootstrap installs it.
    public static let path = "/usr/bin/chromium"
    private var pid: pid_t = 0
    private let input: Int32
    private let output: Int32
    private var pending: [UInt8] = []
    private var nextID = 1
    private var session: String?
    private let profile: URL

    /// Starts Chromium on `url` and attaches to its page.
    public init(url: String) throws {
        profile = try SyntheticData.temporaryFolder("unet-chromium")
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else { throw Self.failure("pipe: errno \(errno)") }
        input = toBrowser[1]
        output = fromBrowser[0]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toBrowser[0], 3)
        posix_spawn_file_actions_adddup2(&actions, fromBrowser[1], 4)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let arguments = [
            Self.path, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--remote-debugging-pipe", "--force-device-scale-factor=1", "--force-color-profile=srgb", "--window-size=1000,800",
            "--user-data-dir=\(profile.path)", url,
        ]
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let status = posix_spawn(&pid, Self.path, &actions, &attributes, argv, environ)
        close(toBrowser[0])
        close(fromBrowser[1])
        guard status == 0 else { throw Self.failure("cannot start \(Self.path): error \(status)") }
        // The page's target, then a session on it.
        let deadline = Date().addingTimeInterval(60)
        var target: String?
        while target == nil, Date() < deadline {
            let targets = try send("Target.getTargets")["targetInfos"] as? [[String: Any]] ?? []
            target = targets.first { $0["type"] as? String == "page" }?["targetId"] as? String
            if target == nil { usleep(100_000) }
        }
        guard let target else { throw Self.failure("no page target") }
        session = try send("Target.attachToTarget", ["targetId": target, "flatten": true], inSession: false)["sessionId"] as? String
    }

    deinit {
        if pid > 0 {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(input)
        close(output)
        try? FileManager.default.removeItem(at: profile)
    }

    /// Sends a DevTools command (to the page's session once attached) and returns its result.
    @discardableResult
    public func send(_ method: String, _ parameters: [String: Any] = [:], inSession: Bool = true, timeout: Double = 60) throws
        -> [String: Any]
    {
        let id = nextID
        nextID += 1
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if inSession, let session { message["sessionId"] = session }
        var bytes = Array(try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Self.failure("write to Chromium: errno \(errno)") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try readMessage(until: deadline)
            guard reply["id"] as? Int == id else { continue }  // events and other answers
            if let error = reply["error"] as? [String: Any] { throw Self.failure("\(method): \(error)") }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    /// The value of a JavaScript expression in the page.
    public func evaluate(_ expression: String) throws -> Any? {
        let result = try send("Runtime.evaluate", ["expression": expression, "returnByValue": true, "awaitPromise": true])
        if let exception = result["exceptionDetails"] { throw Self.failure("\(expression): \(exception)") }
        return (result["result"] as? [String: Any])?["value"]
    }

    /// Waits until `expression` is true in the page.
    public func waitFor(_ expression: String, seconds: Double = 60) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? evaluate(expression)) as? Bool == true { return }
            usleep(50_000)
        }
        throw Self.failure("timed out waiting for \(expression)")
    }

    /// Chooses `file` in the `<input type=file>` matched by `selector`, as a person picking it would.
    public func setFile(_ selector: String, _ file: String) throws {
        let root = try send("DOM.getDocument")["root"] as? [String: Any]
        let node = try send("DOM.querySelector", ["nodeId": root?["nodeId"] ?? 0, "selector": selector])["nodeId"] ?? 0
        try send("DOM.setFileInputFiles", ["files": [file], "nodeId": node])
    }

    /// A PNG screenshot of the element matched by `selector`, one image pixel per CSS pixel.
    public func screenshot(_ selector: String) throws -> [UInt8] {
        let rect = try evaluate("(() => { const r = document.querySelector('\(selector)').getBoundingClientRect(); "
            + "return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })()") as? [Double] ?? []
        guard rect.count == 4 else { throw Self.failure("no element \(selector)") }
        let clip: [String: Any] = ["x": rect[0], "y": rect[1], "width": rect[2], "height": rect[3], "scale": 1]
        let data = try send("Page.captureScreenshot", ["format": "png", "clip": clip, "captureBeyondViewport": true])["data"] as? String
        guard let data, let bytes = Data(base64Encoded: data) else { throw Self.failure("no screenshot") }
        return Array(bytes)
    }

    private func readMessage(until deadline: Date) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeFirst(end + 1)
                return try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Self.failure("Chromium did not answer in time") }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Int32(min(left, 1) * 1000)) >= 0 else { throw Self.failure("poll: errno \(errno)") }
            guard descriptor.revents != 0 else { continue }
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(output, &buffer, buffer.count)
            guard n > 0 else { throw Self.failure("Chromium closed its pipe") }
            pending += buffer[0..<n]
        }
    }

    private static func failure(_ text: String) -> CommandRunner.CommandError {
        CommandRunner.CommandError(description: "headless Chromium: \(text)")
    }
}

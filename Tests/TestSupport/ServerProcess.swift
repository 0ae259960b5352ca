import Foundation

/// A `unet serve` started for a test on a free loopback port (`--port 0`), with its standard output and error in
/// files; `stop()` sends SIGTERM and waits for it to exit.
public final class ServerProcess: @unchecked Sendable {
    public let process = Process()
    /// `http://127.0.0.1:PORT`, as the server reported it.
    public private(set) var address = ""
    public private(set) var port: UInt16 = 0
    private let folder: URL

    /// Starts `unet serve` with `arguments` (plus `--port 0` unless a port is given) and waits until it listens.
    public init(_ arguments: [String]) throws {
        folder = try SyntheticData.temporaryFolder("unet-serve")
        process.executableURL = CommandRunner.productsDirectory.appendingPathComponent("unet")
        process.arguments = ["serve"] + arguments + (arguments.contains("--port") ? [] : ["--port", "0"])
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              FileManager.default.createFile(atPath: errorPath, contents: nil) else {
            throw CommandRunner.CommandError(description: "cannot create the server's logs in \(folder.path)")
        }
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
        // The test runner's threads block signals, and a child inherits the mask: unblock them while the server
        // starts, so that it receives SIGTERM as it does from a shell or an orchestrator.
        var all = sigset_t(), previous = sigset_t()
        sigfillset(&all)
        pthread_sigmask(SIG_UNBLOCK, &all, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, process.isRunning {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix("serving ") }),
               let range = line.range(of: #"http://[0-9.]+:[0-9]+"#, options: .regularExpression)
            {
                address = String(line[range])
                port = UInt16(address.split(separator: ":").last!)!
                return
            }
            usleep(20_000)
        }
        let reason = process.isRunning ? "did not report its address" : "exited with \(process.terminationStatus)"
        if process.isRunning { process.terminate() }
        throw CommandRunner.CommandError(description: "unet serve \(reason): \(error)")
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    private var outputPath: String { folder.appendingPathComponent("stdout").path }
    private var errorPath: String { folder.appendingPathComponent("stderr").path }
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var error: String { (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "" }

    /// Waits until `GET /readyz` answers 200 (the models are warmed up).
    public func waitUntilReady(seconds: Double = 120) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? request("GET", "/readyz").status) == 200 { return }
            usleep(50_000)
        }
        throw CommandRunner.CommandError(description: "unet serve not ready after \(seconds) s: \(error)")
    }

    /// Sends SIGTERM and waits (at most `seconds`) for the exit status; nil if it is still running.
    public func stop(seconds: Double = 30) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        guard !process.isRunning else { return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// One HTTP/1.1 request on its own connection.
    public func request(_ method: String, _ path: String, body: [UInt8] = [], headers: [String: String] = [:])
        throws -> HTTPClient.Response
    {
        try HTTPClient.request(port: port, method: method, path: path, body: body, headers: headers)
    }
}

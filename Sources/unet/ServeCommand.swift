import ArgumentParser
import Dispatch
import Files
import Foundation
import Inference
import Logging
import Models
import Serving
import Workflows

/// `unet serve`: an HTTP service that segments images, with a page to try it in the browser.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve models over HTTP: a segmentation API, metrics and a page to try them.",
        discussion: """
            POST an image to /v1/models/NAME/segment and get the mask as PNG (the training masks' values; \
            ?format=indices|palette|overlay), JSON with the class table (Accept: application/json), or the \
            probabilities as .npy (?probabilities=true). Open / in a browser to try a model; /openapi.json describes \
            the API, /metrics is for Prometheus, /healthz and /readyz for orchestrators. Concurrent requests of one \
            model and image size are batched. The service binds to loopback unless --host says otherwise; SIGTERM or \
            SIGINT finish the requests in flight and exit 0.
            """)

    @Option(name: [.short, .long], help: ArgumentHelp("A model to serve, as FILE or NAME=FILE (repeatable; the name defaults to the file's stem).",
                                                      valueName: "[name=]file"))
    var model: [String] = []
    @Option(help: "The address to bind (127.0.0.1: this machine only; 0.0.0.0: every interface).") var host = "127.0.0.1"
    @Option(help: "The TCP port (0: a free one, reported when listening).") var port = 8080
    @Option(help: "The most images of one model and size segmented together.") var maxBatch = 8
    @Option(help: "How long the first request of a batch waits for others, in milliseconds.") var batchTimeoutMs = 10
    @Option(help: "The most requests waiting for the network; more are answered 503 with Retry-After.") var maxQueue = 64
    @Option(help: "The largest request body, in megabytes (413 above).") var maxBodyMb = 32
    @Option(help: "Seconds a request may take to arrive, and a connection may stay idle.") var requestTimeout = 30
    @Option(help: ArgumentHelp("A file holding the bearer token that every /v1 request must carry.", valueName: "file"))
    var tokenFile: String?
    @Option(help: ArgumentHelp("What the service logs on standard error.", valueName: "trace|debug|info|notice|warning|error"))
    var logLevel = "info"
    @OptionGroup(title: "Prediction") var prediction: PredictionFlags
    @OptionGroup(title: "Foreign checkpoints") var modelOptions: ModelOptions

    func validate() throws {
        guard !model.isEmpty else { throw ValidationError("--model: give at least one model") }
        try FlagRange.check(port, "--port", in: 0...65535)
        try FlagRange.check(maxBatch, "--max-batch", in: 1...256)
        try FlagRange.check(batchTimeoutMs, "--batch-timeout-ms", in: 0...10_000)
        try FlagRange.check(maxQueue, "--max-queue", in: 1...100_000)
        try FlagRange.check(maxBodyMb, "--max-body-mb", in: 1...2048)
        try FlagRange.check(requestTimeout, "--request-timeout", in: 1...3600)
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level: '\(logLevel)' is not trace, debug, info, notice, warning or error")
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else { throw ValidationError("--host: '\(host)' is not an address") }
        var names: Set<String> = []
        for entry in model {
            let (name, _) = try Self.named(entry)
            guard names.insert(name).inserted else { throw ValidationError("--model: two models named '\(name)'; name them NAME=FILE") }
        }
    }

    /// The name and path of a `--model` value.
    static func named(_ entry: String) throws -> (name: String, path: String) {
        let name: String
        let path: String
        if let equals = entry.firstIndex(of: "="), !FileManager.default.fileExists(atPath: entry) {
            (name, path) = (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        } else {
            let url = URL(fileURLWithPath: entry).standardizedFileURL
            (name, path) = (url.deletingPathExtension().lastPathComponent, entry)
        }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains) else {
            throw ValidationError("--model: the name '\(name)' of '\(entry)' takes 1 to 64 letters, digits, '.', '_' or '-' (NAME=FILE names it)")
        }
        guard !path.isEmpty else { throw ValidationError("--model: '\(entry)' names no file") }
        return (name, path)
    }

    func run() throws {
        prediction.runtime.apply()
        try CLIError.reporting { try serve() }
    }

    private func serve() throws {
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxBatch = maxBatch
        configuration.batchTimeout = .milliseconds(batchTimeoutMs)
        configuration.maxQueue = maxQueue
        configuration.maxBodyBytes = maxBodyMb << 20
        configuration.maxPixels = prediction.runtime.maxPixels
        configuration.requestTimeout = .seconds(requestTimeout)
        if let tokenFile {
            let token = try TextFile.read(tokenFile).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
                throw CLIError(description: "\(tokenFile): the token file holds no token (one line without spaces)")
            }
            configuration.token = token
        }
        let models = try model.map { entry in
            let (name, path) = try Self.named(entry)
            let loaded = try modelOptions.load(path)
            var options = prediction.options(loaded.metadata)
            options.batchSize = maxBatch
            options.compiledShapes = SegmentationBatcher.compiledShapes(maxBatch: maxBatch) + 1  // and the warm-up's
            return try ServedModel(name: name, loaded: loaded, options: options, preprocessing: prediction.preprocessing(loaded),
                                   threshold: prediction.maskThreshold)
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let server = SegmentationServer(models: models, configuration: configuration, logger: Logger(label: "unet.serve"))
        let names = models.map(\.name).joined(separator: ", ")
        try Self.wait {
            try await server.run { address in
                Console.out("serving \(names) at \(address) (page: /, API: /openapi.json)")
            }
        }
    }

    /// Runs `body` to completion from synchronous code.
    private static func wait(_ body: @escaping @Sendable () async throws -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        let failure = ErrorBox()
        Task {
            do { try await body() } catch { failure.error = error }
            done.signal()
        }
        done.wait()
        if let error = failure.error { throw error }
    }

    /// The error of a finished task, read after it signalled.
    private final class ErrorBox: @unchecked Sendable {
        var error: (any Error)?
    }
}

import Foundation

/// Runs the built `unet` executable as a user would, capturing its output.
public enum CommandRunner {
    /// The folder holding the built products (the test bundle's folder).
    public static var productsDirectory: URL {
        Bundle.main.bundleURL.lastPathComponent.hasSuffix(".xctest")
            ? Bundle.main.bundleURL.deletingLastPathComponent() : Bundle.main.bundleURL
    }

    /// Runs `unet` with `arguments`; returns the exit status, standard output and standard error.
    public static func unet(_ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: String, error: String) {
        try run("unet", arguments, in: directory)
    }

    /// Runs `command` with `/bin/sh -c`, `$UNET` standing for the built `unet` (for pipes and redirections such
    /// as `$UNET train ... | head -1` or `$UNET evaluate ... --json > /dev/full`); returns the shell's status.
    public static func shell(_ command: String, in directory: URL? = nil) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["UNET"] = productsDirectory.appendingPathComponent("unet").path
        process.environment = environment
        return try capture(process, in: directory)
    }

    /// Open MPI's launcher, installed by the bootstrap (`openmpi-bin`).
    public static let mpirunPath = "/usr/bin/mpirun"

    /// The environment `mpirun` needs here: allowed to run as root (containers, CI), and shared memory without
    /// cross-memory attach (which containers forbid).
    public static var mpiEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        environment["UNET"] = productsDirectory.appendingPathComponent("unet").path
        return environment
    }

    /// `mpirun` set to start `ranks` copies of `command` (more ranks than cores allowed, unbound) in `mpiEnvironment`
    /// plus `environment`; not started.
    public static func mpirunProcess(_ ranks: Int, _ command: [String], environment: [String: String] = [:]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirunPath)
        process.arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none"] + command
        process.environment = mpiEnvironment.merging(environment) { _, new in new }
        return process
    }

    /// Runs `unet` with `arguments` on `ranks` MPI ranks (`mpirun -np ranks --oversubscribe`).
    public static func mpirun(_ ranks: Int, _ arguments: [String], in directory: URL? = nil) throws
        -> (status: Int32, output: String, error: String)
    {
        try capture(mpirunProcess(ranks, [productsDirectory.appendingPathComponent("unet").path] + arguments), in: directory)
    }

    /// Runs the built executable `product` (e.g. the `segment-image` example) with `arguments`.
    public static func run(_ product: String, _ arguments: [String], in directory: URL? = nil) throws
        -> (status: Int32, output: String, error: String)
    {
        let process = Process()
        process.executableURL = productsDirectory.appendingPathComponent(product)
        process.arguments = arguments
        return try capture(process, in: directory)
    }

    /// Trains a small gray model (base `base`, depth 2, two steps) on `images` and `masks` into `output`.
    /// - Returns: the path of its `last.safetensors`.
    public static func trainSmallModel(images: String, masks: String, output: String, base: Int = 4) throws -> String {
        let result = try unet(["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "\(base)", "--depth", "2",
                               "--scale", "1", "--steps", "2", "-b", "2", "-v", "0", "--output-dir", output])
        guard result.status == 0 else { throw CommandError(description: "training the test model failed: \(result.error)") }
        return output + "/last.safetensors"
    }

    /// A test command that failed.
    public struct CommandError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Runs `process`, returning its status and what it wrote.
    public static func capture(_ process: Process, in directory: URL?) throws -> (status: Int32, output: String, error: String) {
        if let directory { process.currentDirectoryURL = directory }
        let (out, err) = (Pipe(), Pipe())
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: error, as: UTF8.self))
    }
}

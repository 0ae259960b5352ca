import ArgumentParser
import DNNL
import ImageIO

/// How the process runs, shared by the commands that read images or run networks: oneDNN's threads and the
/// largest image accepted.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "oneDNN threads (default: all cores).") var threads: Int?
    @Option(help: ArgumentHelp("The most pixels (width x height) an image may have; larger ones are refused before decoding (PIL's limit by default).",
                               valueName: "N"))
    var maxPixels = ImageReader.defaultMaximumPixels

    /// The most threads accepted (far above any machine's cores).
    static let maximumThreads = 4096

    func validate() throws {
        try FlagRange.check(threads, "--threads", in: 1...Self.maximumThreads)
        try FlagRange.check(maxPixels, "--max-pixels", in: 1...(1 << 34))
    }

    /// Applies the options to the process.
    func apply() {
        if let threads { Threads.setCount(threads) }
        ImageReader.maximumPixels = maxPixels
    }
}

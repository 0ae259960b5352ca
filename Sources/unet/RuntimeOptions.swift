import ArgumentParser
import DNNL
import Distributed
import Foundation
import ImageIO

/// How the process runs, shared by the commands that read images or run networks: oneDNN's threads and the
/// largest image accepted.
struct RuntimeOptions: ParsableArguments {
    @Option(help: "oneDNN threads (default: all cores; under mpirun, the cores a rank may use shared by the ranks on its host).")
    var threads: Int?
    @Option(help: ArgumentHelp("The most pixels (width x height) an image may have; larger ones are refused before decoding (PIL's limit by default).",
                               valueName: "N"))
    var maxPixels = ImageReader.defaultMaximumPixels

    /// The most threads accepted (far above any machine's cores).
    static let maximumThreads = 4096

    func validate() throws {
        try FlagRange.check(threads, "--threads", in: 1...Self.maximumThreads)
        try FlagRange.check(maxPixels, "--max-pixels", in: 1...(1 << 34))
    }

    /// Applies the options to the process. Ranks of an MPI job that share a host share its cores unless `--threads`
    /// or `OMP_NUM_THREADS` says otherwise.
    func apply() {
        let group = ProcessGroup.world
        if let threads {
            Threads.setCount(threads)
        } else if group.localSize > 1, ProcessInfo.processInfo.environment["OMP_NUM_THREADS"] == nil {
            Threads.setCount(max(1, Threads.count / group.localSize))
        }
        ImageReader.maximumPixels = maxPixels
    }
}

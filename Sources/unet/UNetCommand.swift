import ArgumentParser
import DNNL
import Foundation

/// The `unet` command-line tool: U-Net semantic segmentation on the CPU, with oneDNN kernels.
@main
struct UNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract: "U-Net semantic segmentation: train, predict, evaluate; PyTorch checkpoint interop.",
        subcommands: [TrainCommand.self, PredictCommand.self, EvaluateCommand.self, DatasetCommand.self, DemoCommand.self, ConvertCommand.self, InfoCommand.self, BenchCommand.self])

    /// Parses and runs the command. A write to a closed pipe (`unet train ... | head`) fails with EPIPE instead of
    /// killing the process, so a run goes on and saves its checkpoints; a failed write to standard output (a full
    /// disk under `--json > out`) then ends with one line and exit status 1.
    static func main() {
        Allocator.returnLargeBuffersToSystem()
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)  // a file-size limit (ulimit -f) fails the write (EFBIG) instead of killing the run
        do {
            var command = try parseAsRoot(nil)
            try command.run()
        } catch {
            exit(withError: error)
        }
        if let reason = Console.outputFailureReason {
            Console.error("Error: cannot write to standard output: \(reason)")
            Foundation.exit(1)
        }
    }
}

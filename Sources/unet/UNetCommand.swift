import ArgumentParser
import DNNL
import Distributed
import Foundation

/// The `unet` command-line tool: U-Net semantic segmentation on the CPU, with oneDNN kernels.
@main
struct UNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract: "U-Net semantic segmentation: train, predict, evaluate; PyTorch checkpoint interop.",
        subcommands: [TrainCommand.self, PlanCommand.self, PredictCommand.self, EvaluateCommand.self, DatasetCommand.self, DemoCommand.self, ConvertCommand.self, ExportCommand.self, QuantizeCommand.self, InfoCommand.self, BenchCommand.self, ServeCommand.self])

    /// Parses and runs the command. A write to a closed pipe (`unet train ... | head`) fails with EPIPE instead of
    /// killing the process, so a run goes on and saves its checkpoints; a failed write to standard output (a full
    /// disk under `--json > out`) then ends with one line and exit status 1.
    ///
    /// Under `mpirun` or `srun` every rank runs `train`, `predict` and `evaluate` (MPI is started first and ended after
    /// it), and rank 0 alone any other command; rank 0 alone reports bad arguments (every rank parses the same ones),
    /// a rank other than 0 names itself in any other error line, and a rank that fails ends without MPI's goodbye, so
    /// that the launcher stops the whole job.
    static func main() {
        Allocator.returnLargeBuffersToSystem()
        signal(SIGPIPE, SIG_IGN)
        signal(SIGXFSZ, SIG_IGN)  // a file-size limit (ulimit -f) fails the write (EFBIG) instead of killing the run
        let group = ProcessGroup.world
        if group.usesMPI { Console.neverWaitOnStandardError() }
        var command: any ParsableCommand
        do {
            command = try parseAsRoot(optionalValues(Array(CommandLine.arguments.dropFirst())))
        } catch {
            // Every rank parses the same arguments: rank 0 alone says what is wrong with them.
            if group.rank > 0 { Foundation.exit(exitCode(for: error).rawValue) }
            exit(withError: error)
        }
        do {
            // Commands that do not share their work between ranks run on rank 0 alone.
            let shared = command is TrainCommand || command is PredictCommand || command is EvaluateCommand
            if group.rank > 0, !shared {
                group.finalize()
                return
            }
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if group.rank > 0, code != .success {
                let message = fullMessage(for: error)
                if !message.isEmpty {
                    Console.error("Error: rank \(group.rank): " + (message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message))
                }
                Foundation.exit(code.rawValue)
            }
            exit(withError: error)
        }
        group.finalize()
        if let reason = Console.outputFailureReason {
            Console.error("Error: cannot write to standard output: \(reason)")
            Foundation.exit(1)
        }
    }

    /// Options whose value may be left out (`--tensorboard` alone means its default): given without one (last, or
    /// before another option), they are passed on with `defaultValue`, which no path can be (it holds a NUL).
    static let optionalValueOptions: Set<String> = ["--tensorboard"]
    static let defaultValue = "\u{0}default"

    static func optionalValues(_ arguments: [String]) -> [String] {
        var result: [String] = []
        for (i, argument) in arguments.enumerated() {
            guard optionalValueOptions.contains(argument), !arguments[..<i].contains("--") else {
                result.append(argument)
                continue
            }
            let next = i + 1 < arguments.count ? arguments[i + 1] : nil
            result.append(argument)
            if next.map({ $0.hasPrefix("-") }) ?? true { result.append(defaultValue) }
        }
        return result
    }
}

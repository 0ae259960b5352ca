import ArgumentParser
import DNNL

/// The `unet` command-line tool: U-Net semantic segmentation on the CPU, with oneDNN kernels.
@main
struct UNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unet",
        abstract: "U-Net semantic segmentation: train, predict, evaluate; PyTorch checkpoint interop.",
        subcommands: [TrainCommand.self, PredictCommand.self, EvaluateCommand.self, DatasetCommand.self, DemoCommand.self, ConvertCommand.self, InfoCommand.self, BenchCommand.self])

    static func main() {
        Allocator.returnLargeBuffersToSystem()
        main(nil)
    }
}

import ArgumentParser
import Models
import ONNXExport

/// `unet export MODEL -o model.onnx`: the model as ONNX, for ONNX Runtime, OpenVINO, TensorRT or the browser.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a model to ONNX (for ONNX Runtime, OpenVINO, TensorRT).",
        discussion: """
            Writes the eval-mode network: input 'input', float32 (N, C, H, W), the image scaled to [0, 1] and \
            normalized as the model's metadata says; output 'logits', float32 (N, classes, H, W). The class table, \
            normalization and architecture are in the model's metadata (unet.metadata and the configuration as JSON). \
            Weights keep their PyTorch state_dict names. Shapes are fixed at --size and --batch-size unless --dynamic.
            """)

    @OptionGroup var source: ModelArgument
    @Option(name: .shortAndLong, help: "Where to write the .onnx file.") var output: String
    @Option(help: ArgumentHelp("ONNX operator set (15 to 21).", valueName: "N")) var opset = ONNXExportOptions.defaultOpset
    @Flag(help: "Fold each batch norm into the convolution before it.") var foldBn = false
    @Flag(help: "Symbolic batch, height and width (any size the network takes) instead of fixed shapes.") var dynamic = false
    @Option(help: ArgumentHelp("Fixed input size, N or WxH (default: the model's prediction window, or the smallest size from 256 up the network takes).",
                               valueName: "size"))
    var size: String?
    @Option(help: ArgumentHelp("Fixed batch size.", valueName: "N")) var batchSize = 1
    @Flag(help: "Write the weights to <output>.data beside the model (ONNX external data; automatic above 2 GB).") var externalData = false
    @OptionGroup var model: ModelOptions

    func validate() throws {
        guard output.lowercased().hasSuffix(".onnx") else { throw ValidationError("--output must end in .onnx, got '\(output)'") }
        let range = ONNXExportOptions.supportedOpsets
        try FlagRange.check(opset, "--opset", in: range)
        try FlagRange.check(batchSize, "--batch-size", in: 1...4096)
        if let size, SizeFlag.parse(size) == nil { throw ValidationError("--size: '\(size)' is not N or WxH") }
        if dynamic && size != nil { throw ValidationError("--size fixes the input size; --dynamic leaves it open: give one of them") }
    }

    func run() throws {
        for path in [output, output + ".data"] where FileIdentity.same(source.path, path) {
            throw CLIError(description: "-o: \(path) is the input file; write the export to another path")
        }
        let loaded = try CLIError.reporting { try model.load(source.path) }
        for line in ModelSummary(loaded).lines { Console.out(line) }
        let architecture = loaded.model.architecture
        let (width, height) = try size.flatMap(SizeFlag.parse) ?? defaultSize(loaded)
        let options = ONNXExportOptions(opset: opset, foldBatchNorm: foldBn, dynamic: dynamic,
                                        inputShape: [batchSize, architecture.inputChannels, height, width], externalData: externalData)
        let wroteData = try CLIError.reporting {
            let metadata = try ModelFile.descriptiveMetadata(architecture: architecture, metadata: loaded.metadata)
            return try ONNXExporter.write(loaded.model, ensemble: loaded.ensemble, metadata: metadata, options: options, to: output)
        }
        if !loaded.ensemble.isEmpty { Console.out("\(loaded.ensemble.count + 1) folds: their logits averaged in the graph (ONNX Mean)") }
        let shape = dynamic ? "batch x \(architecture.inputChannels) x height x width" : "\(batchSize)x\(architecture.inputChannels)x\(height)x\(width)"
        Console.out("wrote \(output) (opset \(opset), input \(shape)\(wroteData ? ", weights in \(output).data" : ""))")
    }

    /// The model's prediction window if it has one, else the smallest square size from 256 up the network takes.
    private func defaultSize(_ loaded: LoadedModel) throws -> (Int, Int) {
        if let tile = loaded.metadata.tile { return (loaded.metadata.tileWidth ?? tile, tile) }
        let architecture = loaded.model.architecture
        let start = max(256, architecture.minimumInputSize)
        for side in start..<(start + 4 * architecture.downsampling + 64)
        where (try? loaded.model.checkInput([1, architecture.inputChannels, side, side])) != nil {
            return (side, side)
        }
        throw CLIError(description: "\(source.path): found no size from \(start) up the network takes; give --size")
    }
}

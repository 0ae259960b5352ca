import ArgumentParser
import Checkpoints
import Models

/// `unet convert IN -o OUT`: between PyTorch .pth and native safetensors, in either direction.
struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a model between PyTorch .pth and safetensors (the native format).",
        discussion: """
            The layouts of milesial, labml and tutorial checkpoints, segmentation_models_pytorch, MONAI and nnU-Net \
            are detected. Writing .pth gives a state dict in the keys of the model's own package, which torch.load + \
            load_state_dict accept; writing .safetensors records the architecture and metadata. Tensors keep their \
            element type and bytes.
            """)

    @OptionGroup var source: ModelArgument
    @Option(name: .shortAndLong, help: "Where to write: .safetensors, or .pth/.pt for PyTorch.") var output: String
    @OptionGroup var model: ModelOptions
    @Flag(help: "Print every matched or renamed key.") var verbose = false

    func validate() throws {
        let lowered = output.lowercased()
        guard [".safetensors", ".pth", ".pt"].contains(where: lowered.hasSuffix) else {
            throw ValidationError("--output must end in .safetensors, .pth or .pt, got '\(output)'")
        }
    }

    func run() throws {
        guard !FileIdentity.same(source.path, output) else {
            throw CLIError(description: "-o: \(output) is the input file; write the conversion to another path")
        }
        let loaded = try CLIError.reporting { try ModelFile.load(path: source.path, options: try model.loadOptions()) }
        for line in verbose ? loaded.report : loaded.notes { Console.out(line) }
        let matched = loaded.report.count - loaded.notes.count
        if matched > 0 && !verbose { Console.out("\(matched) keys matched or renamed (--verbose lists them)") }
        for line in ModelSummary(loaded).lines { Console.out(line) }
        try CLIError.reporting {
            try ModelFile.write(loaded.tensors, architecture: loaded.model.architecture, metadata: loaded.metadata,
                                to: output)
        }
        Console.out("wrote \(output)")
    }
}

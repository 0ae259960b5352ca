import ArgumentParser

/// The model that `info`, `convert`, `export` and `quantize` read: their argument (`unet info model.pth`), or
/// `-m/--model` as `predict`, `evaluate` and `serve` take it (milesial's `predict.py -m`). Exactly one of the two.
struct ModelArgument: ParsableArguments {
    @Argument(help: ArgumentHelp("The model: .safetensors, .pth or .pt, or a save_pretrained or nnU-Net folder.",
                                 valueName: "model"))
    var argument: String?
    @Option(name: [.customShort("m"), .long], help: ArgumentHelp("The model, as predict takes it (instead of the argument).",
                                                                 valueName: "model"))
    var model: String?

    func validate() throws {
        switch (argument, model) {
        case (nil, nil): throw ValidationError("Missing the model: give it as the argument or with -m/--model")
        case let (given?, flagged?) where given != flagged:
            throw ValidationError("Two models: '\(given)' and -m '\(flagged)'; give one")
        default: break
        }
    }

    /// The path given, once `validate()` has passed.
    var path: String { model ?? argument ?? "" }
}

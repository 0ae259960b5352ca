import ArgumentParser
import Models

/// `unet info MODEL`: architecture, parameter count and metadata of a model file.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a model's architecture, parameter count and metadata.")

    @OptionGroup var model: ModelArgument
    @OptionGroup var options: ModelOptions
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        let loaded = try CLIError.reporting { try ModelFile.load(path: model.path, options: try options.loadOptions()) }
        let summary = ModelSummary(loaded)
        if json {
            Console.out(try summary.json())
        } else {
            for line in summary.lines { Console.out(line) }
            for line in loaded.notes { Console.out("note: \(line)") }
        }
    }
}

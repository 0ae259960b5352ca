import ArgumentParser

/// `unet dataset`: tools for image/mask datasets.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Inspect image/mask datasets.", subcommands: [DatasetCheckCommand.self])
}

import Foundation

/// The flags written on the command line (`--base`, `-b` as `--batch-size`), so that `unet train --auto` keeps what the
/// user chose and plans the rest. Read from the process's arguments: a flag set to its default value still counts as
/// given.
struct GivenFlags {
    let names: Set<String>

    /// `unet train`'s short names and the long names they stand for.
    static let shortNames = ["-e": "--epochs", "-b": "--batch-size", "-f": "--load", "-s": "--scale", "-l": "--learning-rate",
                             "-c": "--classes", "-v": "--validation"]

    init(_ arguments: [String] = CommandLine.arguments) {
        var names = Set<String>()
        for argument in arguments.dropFirst() {
            if argument == "--" { break }
            if argument.hasPrefix("--") {
                names.insert(String(argument.prefix { $0 != "=" }))
            } else if argument.hasPrefix("-"), argument.count >= 2, !argument.dropFirst().first!.isNumber {
                let short = String(argument.prefix(2))
                names.insert(Self.shortNames[short] ?? short)
            }
        }
        self.names = names
    }

    func contains(_ flag: String) -> Bool { names.contains(flag) }
}

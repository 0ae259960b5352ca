import Foundation
import TestSupport
import Testing

/// The README's CLI reference is the tool's own `--help`, command by command (scripts/cli_reference.sh writes it).
@Suite("README CLI reference")
struct CLIReferenceTests {
    /// The names under `SUBCOMMANDS:` in a help text.
    func subcommands(_ help: String) -> [String] {
        guard let range = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        // Entries are "  name  abstract" up to the first blank line; wrapped abstracts are indented further.
        return help[range.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
            .compactMap { line -> String? in
                guard line.hasPrefix("  "), line.dropFirst(2).first?.isLetter == true else { return nil }
                return line.split(separator: " ").first.map(String.init)
            }
    }

    @Test("every subcommand's --help appears verbatim in README.md")
    func inSync() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        let start = try #require(text.range(of: "<!-- cli-reference:start -->\n"))
        let end = try #require(text.range(of: "<!-- cli-reference:end -->"))
        let documented = String(text[start.upperBound..<end.lowerBound])

        let top = try CommandRunner.unet(["--help"])
        #expect(top.status == 0)
        var expected = ""
        var names: [String] = []
        for command in subcommands(top.output) {
            let help = try CommandRunner.unet([command, "--help"])
            #expect(help.status == 0, "unet \(command) --help: \(help.error)")
            let nested = subcommands(help.output)
            for sub in nested.isEmpty ? [""] : nested {
                let name = sub.isEmpty ? command : "\(command) \(sub)"
                let output = sub.isEmpty ? help : try CommandRunner.unet([command, sub, "--help"])
                #expect(output.status == 0, "unet \(name) --help: \(output.error)")
                expected += "### unet \(name)\n\n```text\n\(output.output)```\n\n"
                names.append(name)
            }
        }
        #expect(names.contains("train") && names.contains("predict") && names.contains("evaluate") && names.contains("dataset check"))
        #expect(documented == expected, "README.md's CLI reference is out of date: run `swift build && scripts/cli_reference.sh`")
    }
}

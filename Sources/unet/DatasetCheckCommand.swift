import ArgumentParser
import Datasets
import Foundation
import Models

/// `unet dataset check`: the pass training runs first, reported in full: counts, sizes, channels, mask values,
/// the class table and class balance, every problem, and warnings about encodings that train to blank masks.
struct DatasetCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a dataset: sizes, channels, mask values, class table and balance, and every problem.",
        discussion: """
            DIR may hold the images and masks folders (images|imgs|image and masks|labels|label|mask); or give \
            --images and --masks (or --list). Exits non-zero when training would refuse the dataset.
            """)

    @Argument(help: ArgumentHelp("A folder holding the images and masks folders.", valueName: "dir")) var folder: String?
    @OptionGroup var data: DataOptions
    @Option(help: "Input channels of the model that will read the images.") var inChannels = 3
    @Option(name: [.short, .long], help: "Classes the model will have (checked against the masks).") var classes: Int?
    @Flag(help: "Print the report as one JSON object.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try FlagRange.check(inChannels, "--in-channels", in: 1...UNetConfiguration.maximumChannels)
        try FlagRange.check(classes, "--classes", in: 1...UNetConfiguration.maximumChannels)
        try data.checkSource(folder: folder)
    }

    func run() throws {
        runtime.apply()
        try CLIError.reporting {
            let (pairs, known) = try data.pairs(in: folder)
            let options = DatasetOptions(inputChannels: inChannels, classes: classes, maskEncoding: data.maskEncoding,
                                         classTable: try data.classTable(), ignoreValue: data.ignoreIndex)
            var report: DatasetReport?
            var problems: [DatasetProblem] = []
            do throws(DatasetProblems) {
                report = try SegmentationDataset.open(pairs, options: options, problems: known).report
            } catch {
                (report, problems) = (error.report, error.problems)
            }
            let warnings = report?.warnings(maskPaths: pairs.map(\.mask)) ?? []
            if json {
                try printJSON(report, problems: problems, warnings: warnings)
            } else {
                if let report { for line in DatasetReportText.lines(report) { Console.out(line) } }
                for warning in warnings { Console.out("warning: \(warning)") }
                Console.out(problems.isEmpty ? "problems: none" : "problems (\(problems.count)):")
                for problem in problems { Console.out("  \(problem)") }
            }
            if !problems.isEmpty { throw CLIError(description: "\(problems.count) dataset problem(s); training would refuse this dataset") }
        }
    }

    private func printJSON(_ report: DatasetReport?, problems: [DatasetProblem], warnings: [String]) throws {
        var object: [String: Any] = ["problems": problems.map(\.description), "warnings": warnings]
        if let report {
            object["report"] = DatasetReportText.jsonObject(report)
        }
        Console.out(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
    }
}

import ArgumentParser
import Datasets
import Foundation
import Planning

/// `unet plan`: a dataset's fingerprint and the recipe `unet train --auto` would train with for a time budget, decided
/// from the fingerprint and training steps timed on this machine.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Fingerprint a dataset and plan a training recipe for a time budget (what unet train --auto trains).",
        discussion: """
            The fingerprint: image sizes, gray or colour, intensities per channel, and per class its share of the pixels, \
            the size and thickness of its regions and where in the images it lies. The recipe: scale, crop, batch, depth, \
            width (the widest whose measured steps fill the budget; past base 32 a larger batch instead), steps, validation, normalization, loss, optimizer, \
            schedule, augmentation and prediction settings, each with its reason. 10% of the images (one of a set under \
            ten) are assumed held out for validation, as unet train --auto holds them out. --json prints both as one JSON \
            object.
            """)

    @Argument(help: ArgumentHelp("A folder holding the images and masks folders.", valueName: "dir")) var folder: String?
    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("The training budget, e.g. 30m, 1h30m, 90s.", valueName: "duration"))
    var time = DurationFlag(seconds: Planner.defaultBudgetSeconds)
    @Option(help: "Input channels (default: 1 when every image is gray, else 3).") var inChannels: Int?
    @Option(name: [.short, .long], help: "Classes (default: the mask values' count; 1 for a binary model with a sigmoid).")
    var classes: Int?
    @Flag(help: "Print the fingerprint and the recipe as one JSON object.") var json = false
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        try FlagRange.check(inChannels, "--in-channels", in: 1...4)
        try FlagRange.check(classes, "--classes", in: 1...1024)
        try data.checkSource(folder: folder)
    }

    func run() throws {
        runtime.apply()
        let started = Date()
        try CLIError.reporting {
            let (pairs, problems) = try data.pairs(in: folder)
            let options = DatasetOptions(inputChannels: inChannels ?? 3, classes: classes, maskEncoding: data.maskEncoding,
                                         classTable: try data.classTable(), ignoreValue: data.ignoreIndex)
            let dataset = try SegmentationDataset.open(pairs, options: options, problems: problems)
            let percent = Planner.validationPercent(images: dataset.count)
            let (training, validation) = ValidationSplit.split(count: dataset.count, percent: percent, seed: 0)
            let fingerprint = try DatasetFingerprint.measure(dataset, indices: training)
            let planner = Planner(fingerprint: fingerprint, trainingImages: training.count, validationImages: validation.count, heldOutPercent: percent,
                                  inputChannels: inChannels ?? fingerprint.sourceChannels, classes: classes ?? max(dataset.table.classes, 2),
                                  budgetSeconds: time.seconds)
            let recipe = try planner.plan(probe: EngineThroughputProbe(), spent: { Date().timeIntervalSince(started) })
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                let object = PlanDocument(fingerprint: fingerprint, recipe: recipe)
                Console.out(String(decoding: try encoder.encode(object), as: UTF8.self))
            } else {
                for line in RecipeText.lines(fingerprint, recipe) { Console.out(line) }
            }
        }
    }
}

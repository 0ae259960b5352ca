import Datasets
import Models
import Planning
import Workflows

/// What `unet train` trains with once the flags are read: from the flags alone, or (`--auto`) from a planned recipe with
/// the flags the user gave in place of its choices.
struct TrainingSettings {
    var scale: Double
    var inputChannels: Int
    /// The model's classes; nil while `--auto` has not yet read them from the masks.
    var classes: Int?
    var architecture: Architecture
    var batchSize: Int
    var augmentation: Augmentation
    var mean: [Float]?
    var std: [Float]?
    /// Per-channel clipping bounds before `mean`/`std` (`--intensity-min`/`--intensity-max`); nil: none.
    var intensityMinimum: [Float]?
    var intensityMaximum: [Float]?
    var options: TrainingOptions
    /// Test-time flips recorded in the model for prediction (the recipe's choice); nil: not recorded.
    var predictionFlips: Bool?

    /// The settings the flags give, for a run that trains a new model or `loaded`, the architecture of the model
    /// loaded or resumed.
    init(_ command: TrainCommand, loaded: Architecture?) throws {
        scale = command.scale
        (inputChannels, classes) = (command.architecture.inChannels, command.architecture.classes)
        architecture = try command.architecture.architecture()
        batchSize = command.batchSize
        augmentation = command.augmentation.augmentation()
        mean = try NumberList.parse(command.mean, "--mean")
        std = try NumberList.parse(command.std, "--std")
        intensityMinimum = try NumberList.parse(command.intensityMin, "--intensity-min")
        intensityMaximum = try NumberList.parse(command.intensityMax, "--intensity-max")
        options = try command.trainingOptions(classes: command.architecture.classes,
                                              defaults: .of(loaded ?? architecture))
        if !command.auto { try OptimizerOptions.check(options) }  // --auto: against the recipe's rate
    }

    /// The settings of `recipe` (the given flags already written into it), with the flags no recipe decides (precision,
    /// seed, padding, noise, blur, the Dice term's background, the focal gamma, ...).
    init(_ recipe: Recipe, _ command: TrainCommand, given: GivenFlags) throws {
        scale = recipe.scale
        (inputChannels, classes) = (recipe.inputChannels, recipe.classes)
        var flags = command.architecture
        (flags.inChannels, flags.classes, flags.base, flags.depth) = (recipe.inputChannels, recipe.classes, recipe.base, recipe.depth)
        architecture = .unet(flags.configuration())
        batchSize = recipe.batchSize
        augmentation = recipe.batchAugmentation
        (augmentation.noise, augmentation.blur) = (command.augmentation.noise, command.augmentation.blur)
        (mean, std) = (recipe.mean, recipe.std)
        (intensityMinimum, intensityMaximum) = (recipe.intensityMinimum, recipe.intensityMaximum)
        options = try command.trainingOptions(classes: recipe.classes, defaults: .milesial)
        recipe.apply(to: &options)
        try OptimizerOptions.check(options)
        options.stretchesToDeadline = !given.contains("--steps")  // --auto refuses --epochs
        predictionFlips = recipe.predictionFlips
        options.checksTestTimeFlips = recipe.predictionFlips
    }
}

import ArgumentParser
import DNNL
import Datasets
import Distributed
import Execution
import Foundation
import Graph
import Models
import Planning
import Tensors
import Training
import Workflows

/// `unet train`: train a U-Net on folders of images and masks (milesial's `train.py`, natively).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a U-Net on folders of images and masks.",
        discussion: """
            Defaults follow milesial/Pytorch-UNet: 5 epochs, batch 1, RMSprop at 1e-5, scale 0.5, 10% validation, \
            Dice + cross-entropy, ReduceLROnPlateau on validation Dice; nnU-Net's networks take nnU-Net's trainer's: \
            SGD at 1e-2, Nesterov momentum 0.99, weight decay 3e-5, the poly schedule, gradients clipped at 12, Dice \
            without the background. \
            --output-dir receives best.safetensors, last.safetensors, metrics.jsonl and training_curves.png; it is \
            locked for the run, and a folder that already holds a run is refused unless --resume continues it or \
            --overwrite replaces it.

            Under mpirun (or srun) the ranks train one model data-parallel: each takes --batch-size images of every \
            global batch and the gradients are averaged; rank 0 alone writes --output-dir and shows progress.
            """)

    @OptionGroup var data: DataOptions
    @Flag(help: ArgumentHelp("Plan the recipe from the data and --time (unet plan shows it): normalization, width, depth, crop, "
        + "batch, loss, optimizer, schedule, augmentation, steps, validation. Flags given replace its choices."))
    var auto = false
    @Option(help: ArgumentHelp("Stop by this time, validation and checkpoints included, e.g. 30m, 1h30m, 90s (--auto: the "
        + "budget it plans for, 30m by default; else fewer steps are trained if they do not fit).", valueName: "duration"))
    var time: DurationFlag?
    @Option(help: ArgumentHelp("Validation images (instead of a --validation split).", valueName: "dir")) var valImages: String?
    @Option(help: ArgumentHelp("Validation masks.", valueName: "dir")) var valMasks: String?
    @Option(help: ArgumentHelp("Region-of-interest masks of the validation images (named as --region-suffix says, or found from the files).", valueName: "dir"))
    var valRegions: String?
    @Option(help: ArgumentHelp("A list file of validation pairs ('IMAGE MASK [REGION]' per line).", valueName: "file"))
    var valList: String?
    @Option(name: [.short, .customLong("validation")], help: "Percent of the data used for validation.")
    var validation: Double = 10

    @Option(name: [.short, .long], help: "Epochs.") var epochs = 5
    @Option(help: "Total optimizer steps instead of epochs.") var steps: Int?
    @Option(name: [.short, .long], help: "Batch size (per rank under mpirun: the global batch is this times the ranks).") var batchSize = 1
    @Option(name: [.customShort("f"), .long], help: ArgumentHelp("Start from a model's weights (.safetensors or .pth).", valueName: "model"))
    var load: String?
    @Option(help: ArgumentHelp("Continue a run exactly from its checkpoint (last.safetensors).", valueName: "checkpoint"))
    var resume: String?
    @Option(name: [.short, .long], help: "Downscaling factor of the images.") var scale: Double = 0.5
    @Flag(help: "Mixed precision where the CPU has native bf16: bf16 convolutions, fp32 master weights (the same path as --dtype bf16 in bench); elsewhere fp32, with a warning.")
    var amp = false
    @Flag(help: Self.keepActivationsHelp) var keepActivations = false
    /// `--keep-activations`, here and in `unet bench`.
    static let keepActivationsHelp = ArgumentHelp(
        "Keep every convolution output for backward even where keeping every map would take more than an eighth of this machine's memory (there, by default, the first convolution of each block and each up-sampling run again: 10-15% slower, about 12% less peak memory).")
    @OptionGroup var architecture: ArchitectureOptions
    @Option(help: ArgumentHelp("smp-unet: initialise the encoder from the state dict of its network (ImageNet weights: "
        + "a torchvision or timm ResNet's conv1.weight, layer1.0.conv1.weight, ...); the default normalization then is the "
        + "weights' (ImageNet's mean and std; 0.5 and 0.5 for EfficientNet-Lite).", valueName: "file"))
    var encoderWeights: String?
    @Option(help: ArgumentHelp("monai-unet, basic-unet: MONAI's dropout, each value of every block's map zeroed with this probability "
        + "in training (MONAI's dropout=RATE; none by default). A model file records it; a PyTorch checkpoint does not.",
        valueName: "rate")) var dropout: Float?
    @Option(help: ArgumentHelp("smp-unet with an EfficientNet encoder: stochastic depth, block i of n dropping its residual branch for "
        + "whole images at RATE·i/n in training (efficientnet-pytorch's drop_connect_rate, timm's drop_path_rate; default: smp's 0.2, "
        + "or what a resumed run or a model file recorded; 0: none).", valueName: "rate")) var dropPath: Float?
    @Option(help: ArgumentHelp("smp-unet, nnunet: leave the encoder's weights alone for the first N steps (train the decoder "
        + "first), as requires_grad=False does in PyTorch.", valueName: "N")) var freezeEncoder = 0
    @Flag(inversion: .prefixedNo, help: ArgumentHelp("The loss also scores lower-resolution heads against the masks resized to their "
        + "size, weighted as nnU-Net weighs them (1/2^i, the lowest 0, normalized). nnunet: its own heads, on by default as nnU-Net "
        + "trains; unet (same padding): a 1x1 head added after each lower decoder step for training only (the model file "
        + "leaves them out), off by default."))
    var deepSupervision: Bool?
    @OptionGroup var augmentation: AugmentationOptions
    @Option(help: ArgumentHelp("Per-channel mean to subtract, e.g. 0.485,0.456,0.406.", valueName: "values")) var mean: String?
    @Option(help: ArgumentHelp("Per-channel standard deviation to divide by.", valueName: "values")) var std: String?
    @Option(help: ArgumentHelp("Per-channel lowest intensity, 0-1 of the format's maximum: darker values are raised to it before "
        + "--mean/--std (percentile clipping; with --intensity-max).", valueName: "values")) var intensityMin: String?
    @Option(help: ArgumentHelp("Per-channel highest intensity: brighter values are lowered to it (with --intensity-min).",
                               valueName: "values")) var intensityMax: String?
    @OptionGroup var optimizer: OptimizerOptions
    @OptionGroup var loss: LossOptions
    @Option(help: "Validate every this many steps (default: each epoch, or every tenth of --steps).") var validateEvery: Int?
    @Option(help: "The metric that picks best.safetensors.") var bestMetric: TrainingOptions.Metric = .dice
    @Flag(help: "Also write epoch_<n>.safetensors at the end of each epoch.") var saveEveryEpoch = false
    @Option(help: "Random seed (data split, weights, augmentation).") var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Under mpirun: gradients are exchanged in buckets of this size while backward goes on (PyTorch DDP's bucket_cap_mb).",
                               valueName: "MB"))
    var bucketMb = 25.0
    @Flag(help: "Under mpirun: batch norm normalises with the statistics of every rank's batch together (PyTorch's SyncBatchNorm).")
    var syncBn = false
    @OptionGroup var runtime: RuntimeOptions
    @Option(help: ArgumentHelp("Where checkpoints, the log and the plot go.", valueName: "dir")) var outputDir = "runs/train"
    @Flag(help: "Replace the run --output-dir holds (its checkpoints, log and curves) instead of refusing.")
    var overwrite = false
    @Option(help: ArgumentHelp("Also log to TensorBoard: an events file in DIR (default, with no DIR: --output-dir).", valueName: "dir"))
    var tensorboard: String?

    func validate() throws {
        // Counts and sizes (the option groups check their own).
        try FlagRange.check(epochs, "--epochs", in: 1...1_000_000)
        try FlagRange.check(steps, "--steps", in: 1...1_000_000_000)
        try FlagRange.check(batchSize, "--batch-size", in: 1...4096)
        try FlagRange.check(validateEvery, "--validate-every", in: 1...1_000_000_000)
        try FlagRange.positive(bucketMb, "--bucket-mb", atMost: 1_000_000)
        // Rates and factors: finite, in the range where they mean something.
        try FlagRange.below(validation, "--validation", 100)
        try FlagRange.positive(scale, "--scale", atMost: 1)
        let inChannels = architecture.inChannels
        let given = GivenFlags()
        let (lower, upper) = (try NumberList.parse(intensityMin, "--intensity-min"), try NumberList.parse(intensityMax, "--intensity-max"))
        for (flag, values) in [("--mean", try NumberList.parse(mean, "--mean")), ("--std", try NumberList.parse(std, "--std")),
                               ("--intensity-min", lower), ("--intensity-max", upper)] {
            guard let values, !auto || given.contains("--in-channels") else { continue }
            guard values.count == inChannels else {
                throw ValidationError("\(flag): \(values.count) value(s) for \(inChannels) input channel(s) (--in-channels)")
            }
        }
        try FlagRange.each(try NumberList.parse(mean, "--mean"), "--mean", { $0.isFinite }, "finite")
        try FlagRange.each(try NumberList.parse(std, "--std"), "--std", { $0.isFinite && $0 > 0 }, "positive and finite")
        try FlagRange.each(lower, "--intensity-min", { (0...1).contains($0) }, "in 0...1")
        try FlagRange.each(upper, "--intensity-max", { (0...1).contains($0) }, "in 0...1")
        if (lower == nil) != (upper == nil) { throw ValidationError("--intensity-min and --intensity-max come together") }
        if let lower, let upper, lower.count == upper.count, zip(lower, upper).contains(where: { $0 >= $1 }) {
            throw ValidationError("--intensity-min: each value must lie below --intensity-max's")
        }
        if !auto || given.contains("--classes") { _ = try loss.lossFunction(classes: architecture.classes) }
        if auto && (load != nil || resume != nil) {
            throw ValidationError("--auto plans a new network; --load and --resume start from a trained one")
        }
        if auto && architecture.arch != .unet { throw ValidationError("--auto plans a classic U-Net (--arch unet)") }
        if auto && given.contains("--epochs") { throw ValidationError("--auto counts steps: give --steps instead of --epochs") }
        if !data.namesPairs {
            throw ValidationError("give --images and --masks, or --list")
        }
        if (valImages == nil) != (valMasks == nil) { throw ValidationError("give both --val-images and --val-masks") }
        if valList != nil && valImages != nil { throw ValidationError("--val-list and --val-images exclude each other") }
        if load != nil && resume != nil { throw ValidationError("--load and --resume exclude each other") }
        if encoderWeights != nil && architecture.arch != .smpUNet { throw ValidationError("--encoder-weights needs --arch smp-unet") }
        try FlagRange.check(freezeEncoder, "--freeze-encoder", in: 0...1_000_000_000)
        if encoderWeights != nil && (load != nil || resume != nil) {
            throw ValidationError("--encoder-weights starts a new model; --load and --resume start from a whole one")
        }
        if overwrite && resume != nil { throw ValidationError("--overwrite replaces a run; --resume continues one") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw ValidationError("--dropout \(dropout): a rate in [0, 1)") }
        if dropout != nil && resume != nil { throw ValidationError("--dropout: --resume continues with the run's own (its model file records it)") }
        if let dropPath, !(dropPath >= 0 && dropPath < 1) { throw ValidationError("--drop-path \(dropPath): a rate in [0, 1)") }
        if dropPath != nil && resume != nil {
            throw ValidationError("--drop-path: --resume continues with the run's own (its model file records it)")
        }
    }

    func run() throws {
        runtime.apply()
        let group = ProcessGroup.world
        let progress = ProgressDisplay(quiet: !group.isPrimary)
        let started = Date()
        try CLIError.reporting { try train(progress, group: group, started: started) }
    }

    private func train(_ progress: ProgressDisplay, group: ProcessGroup, started: Date) throws {
        // 0. The output folder, checked before the data is read (and locked once the data is good) by rank 0, the
        // one that writes it.
        let mode: RunDirectory.Mode = resume.map { .resume(checkpoint: $0) } ?? (overwrite ? .overwrite : .new)
        if group.isPrimary { try RunDirectory.check(path: outputDir, mode: mode) }
        // 1. Data: pair the files and check every one of them before anything trains (--auto: at full resolution,
        // read as colour unless --in-channels says otherwise, until the plan decides).
        let given = GivenFlags()
        // A MONAI UNet's .pth does not record its strides, nor a norm or an activation without parameters, nor an smp
        // Unet's its decoder's up-sampling: --strides, --norm, --act and --decoder-interpolation complete it (and are
        // checked against a file that records them). Without a file, --strides describes the network --arch builds
        // (nnU-Net's may read 1x2).
        let file = resume ?? load
        let completion = ModelLoadOptions(overrides: ArchitectureOverrides(
            strides: file == nil ? nil : try NumberList.parse(architecture.strides, "--strides", as: Int.self), norm: architecture.norm,
            activation: architecture.act, decoderInterpolation: architecture.decoderInterpolation))
        let loaded = try file.map { try ModelFile.load(path: $0, options: completion) }
        if let loaded, resume == nil, group.isPrimary {
            for line in loaded.notes { progress.message("note: \(line)") }
        }
        var settings = try TrainingSettings(self, loaded: loaded?.model.architecture)
        if auto {
            settings.scale = given.contains("--scale") ? scale : 1
            if !given.contains("--in-channels") { settings.inputChannels = 3 }
            if !given.contains("--classes") { settings.classes = nil }
        }
        var datasetOptions = DatasetOptions(inputChannels: settings.inputChannels, classes: settings.classes, scale: settings.scale,
                                            maskEncoding: data.maskEncoding, classTable: try data.classTable(),
                                            ignoreValue: data.ignoreIndex)
        if let values = loaded?.metadata.maskValues, resume != nil, datasetOptions.classTable == nil {
            datasetOptions.classTable = try ClassTable(values: values)
        }
        let (pairs, pairProblems) = try data.pairs()
        var dataset = try SegmentationDataset.open(pairs, options: datasetOptions, problems: pairProblems)
        progress.message("data: \(dataset.count) image/mask pairs, class table \(dataset.table)"
            + (dataset.isCached ? " (decoded once, kept in memory)" : ""))
        var trainIndices = Array(0..<dataset.count)
        var validationSet: (SegmentationDataset, [Int])?
        var validationPairs: (pairs: [SamplePaths], problems: [DatasetProblem])?
        let validationPercent = auto && !given.contains("--validation") ? Planner.validationPercent(images: dataset.count) : validation
        if valList != nil || valImages != nil {
            let valPairs = valList.map(SampleDiscovery.readList)
                ?? data.pairFolders(images: valImages!, masks: valMasks!, regions: valRegions)
            var valOptions = datasetOptions
            valOptions.classTable = dataset.table
            validationSet = (try SegmentationDataset.open(valPairs.pairs, options: valOptions, problems: valPairs.problems),
                             Array(0..<valPairs.pairs.count))
            validationPairs = valPairs
        } else if validationPercent > 0 {
            let split = ValidationSplit.split(count: dataset.count, percent: validationPercent, seed: seed)
            validationSet = (dataset, split.validation)
            trainIndices = split.training
        }
        guard trainIndices.count >= 1 else { throw CLIError(description: "no training samples left after the validation split") }
        if auto {
            // The plan, then the data again if it is to be read at another scale, channel count or class count.
            guard group.worldSize == 1 else {
                throw CLIError(description: "--auto plans in one process: run unet plan, then mpirun unet train with the flags it prints")
            }
            let recipe = try plan(dataset, training: trainIndices, validationImages: validationSet?.1.count ?? 0,
                                  heldOut: validationPairs == nil ? validationPercent : nil, given: given, started: started, progress)
            settings = try TrainingSettings(recipe, self, given: given)
            if settings.scale != datasetOptions.scale || settings.inputChannels != datasetOptions.inputChannels {
                (datasetOptions.scale, datasetOptions.inputChannels, datasetOptions.classes) = (settings.scale, settings.inputChannels, settings.classes)
                datasetOptions.classTable = dataset.table
                dataset = try SegmentationDataset.open(pairs, options: datasetOptions, problems: pairProblems)
                if let validationPairs {
                    validationSet = (try SegmentationDataset.open(validationPairs.pairs, options: datasetOptions, problems: validationPairs.problems),
                                     validationSet!.1)
                } else if let indices = validationSet?.1 {
                    validationSet = (dataset, indices)
                }
            }
        }
        let batchSize = settings.batchSize
        if group.worldSize > 1, trainIndices.count < batchSize * group.worldSize {
            throw CLIError(description: "\(trainIndices.count) training samples cannot fill one global batch of \(batchSize * group.worldSize) "
                + "(--batch-size \(batchSize) on each of \(group.worldSize) ranks); lower --batch-size or run fewer ranks")
        }
        progress.message("split: \(trainIndices.count) for training, \(validationSet?.1.count ?? 0) for validation")

        // 2. The model: new, loaded (fine-tuning, a different class count re-initialises the head), or resumed.
        var generator = SeededGenerator(seed: seed)
        var model: any SegmentationModel
        if let loaded, resume == nil {
            model = try fineTuned(loaded, generator: &generator, progress)
        } else if let loaded {
            model = loaded.model
        } else {
            model = try settings.architecture.makeModel(generator: &generator)
        }
        if let rebuilt = try withRegularization(model, resumed: resume != nil, generator: &generator) { model = rebuilt }
        var normalization = Normalization(mean: settings.mean, std: settings.std, lower: settings.intensityMinimum,
                                          upper: settings.intensityMaximum)
        if let path = encoderWeights, let smp = model as? SMPUNet {
            try smp.encoder.loadPretrained(path: path)
            progress.message("encoder: \(smp.configuration.encoder.rawValue) weights from \(path)")
            if mean == nil, std == nil {
                let (m, s) = smp.encoder.pretrainedNormalization(inputChannels: settings.inputChannels)
                (normalization.mean, normalization.std) = (m, s)
                let list = { (values: [Float]) in values.map { "\(($0 * 1000).rounded() / 1000)" }.joined(separator: ",") }
                progress.message("normalization: mean \(list(m)), std \(list(s)), as the encoder's weights expect (--mean/--std to change)")
            }
        }
        if freezeEncoder > 0 {
            guard model.namedParameters().contains(where: { $0.0.hasPrefix("encoder.") }) else {
                throw ValidationError("--freeze-encoder: \(model.architecture) has no encoder.* parameters (smp-unet and nnunet have)")
            }
            progress.message("encoder frozen for the first \(freezeEncoder) steps")
        }
        if deepSupervision == true, let problem = model.architecture.deepSupervisionProblem {
            throw ValidationError("--deep-supervision: " + problem)
        }
        var metadata = ModelMetadata(maskValues: dataset.table.values,
                                     normalization: normalization, scale: settings.scale)
        metadata.flips = settings.predictionFlips

        // 3. Batches, options, trainer.
        let loader = BatchLoader(dataset: dataset, indices: trainIndices, batchSize: batchSize, augmentation: settings.augmentation,
                                 normalization: normalization, shuffle: true, seed: seed, dropLast: true,
                                 rank: group.rank, worldSize: group.worldSize)
        var options = settings.options
        options.deadline = (time?.seconds ?? (auto ? Planner.defaultBudgetSeconds : nil)).map { started.addingTimeInterval($0) }
        if let loaded, let resume { try Trainer.checkResumable(loaded, path: resume, options: options) }
        let trainer = try Trainer(model: model, metadata: metadata, options: options,
                                  loader: loader, validation: validationSet, outputDirectory: outputDir, mode: mode, group: group)
        if trainer.deepSupervision {
            let heads = (trainer.addedHeads?.heads.count ?? model.architecture.deepSupervisionHeads) + 1
            let weights = DeepSupervisionLoss.weights(count: heads).map { String(format: "%.3g", $0) }.joined(separator: ", ")
            progress.message("deep supervision: \(heads) heads" + (trainer.addedHeads == nil ? "" : " (1x1 heads added for training)")
                + ", loss weights \(weights) from the full resolution down"
                + (trainer.addedHeads == nil ? " (--no-deep-supervision: the full-resolution head alone)" : ""))
        }
        if let loaded, let resume {
            try trainer.resume(from: loaded, path: resume)
            guard trainer.step < trainer.totalSteps else {
                Console.out("nothing to train: \(resume) is at step \(trainer.step) of \(trainer.totalSteps) (give more --steps or --epochs to go on)")
                return
            }
            progress.message("resumed \(resume) at step \(trainer.step) of \(trainer.totalSteps)")
        }
        let batches = group.worldSize == 1 ? "\(batchSize)"
            : "\(batchSize * group.worldSize) (\(batchSize) on each of \(group.worldSize) ranks, \(Threads.count) threads each)"
        progress.message(Self.optimizerText(options))
        progress.message("loss: \(options.loss.kind.rawValue)"
            + (options.loss.leavesDiceBackground(classes: model.architecture.classes) ? ", Dice without the background (class 0)" : ""))
        progress.message("training \(model.architecture) for \(trainer.totalSteps) steps of \(batches)"
            + (group.worldSize == 1 ? " on \(Threads.count) threads" : "") + ", \(options.precision == .bf16 ? "bf16 mixed precision" : "fp32")")
        var tensorBoardLog: TensorBoardLog?
        if let tensorboard, group.isPrimary {
            let directory = tensorboard == UNetCommand.defaultValue ? outputDir : tensorboard
            let configuration = "`" + CommandLine.arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ") + "`\n\n"
                + "model: \(model.architecture), \(trainer.totalSteps) steps of \(batchSize)"
            let log = try CLIError.reporting {
                try TensorBoardLog(directory: directory, startStep: resume == nil ? nil : trainer.step + 1, configuration: configuration,
                                   report: progress.message)
            }
            trainer.validationSampleCount = TensorBoardLog.overlayCount
            progress.message("TensorBoard: \(log.writer.path) (tensorboard --logdir \(directory))")
            tensorBoardLog = log
        }
        TrainingReporter.attach(trainer, to: progress, also: tensorBoardLog?.handle)
        // 4. Train, then draw the curves (after a stop too, so that the run so far can be seen).
        let log = (outputDir as NSString).appendingPathComponent("metrics.jsonl")
        let curves = (outputDir as NSString).appendingPathComponent("training_curves.png")
        defer { progress.finish() }
        let started = Date()
        do {
            try trainer.run()
        } catch let error as TrainingError {
            if case .interrupted = error, !group.isPrimary { throw ExitCode.failure }  // rank 0 says it
            if group.isPrimary { try? TrainingCurves.write(metricsLog: log, to: curves) }
            throw error
        }
        progress.finish()
        guard group.isPrimary else { return }
        try TrainingCurves.write(metricsLog: log, to: curves)
        Console.out("best: \(trainer.bestCheckpoint) " + (trainer.best.map { String(format: "(%@ %.4f)", options.bestMetric.rawValue, $0) }
            ?? "(no validation images: the last step)"))
        if let check = trainer.flipsCheck {
            let kept = check.with > check.without
            Console.out(String(format: "test-time flips: best %@ %.4f with them, %.4f without: %@", options.bestMetric.rawValue, check.with,
                               check.without, kept ? "kept in best.safetensors" : "not recorded in best.safetensors"))
        }
        if trainer.shortenedByDeadline, !auto {
            Console.out("--time: trained \(trainer.step) steps, the ones that fitted the budget")
        }
        Console.out("last: \(trainer.lastCheckpoint)")
        Console.out("log: \(log), curves: \(curves)")
        if group.worldSize > 1 {
            let (waited, elapsed) = (trainer.gradientExchangeWaitSeconds, Date().timeIntervalSince(started))
            Console.out(String(format: "gradient exchange: %d ranks; rank 0 waited %.1f s for it after backward (%.1f%% of %.1f s)",
                               group.worldSize, waited, 100 * waited / max(elapsed, 1e-9), elapsed))
        }
    }

    /// The training options the flags give, for a model of `classes` classes; the optimizer and loss flags left out
    /// take `defaults` (`TrainerDefaults.of(_:)`).
    func trainingOptions(classes: Int, defaults: TrainerDefaults) throws -> TrainingOptions {
        var o = TrainingOptions()
        (o.epochs, o.steps) = (epochs, steps)
        optimizer.apply(to: &o, defaults: defaults)
        o.loss = try loss.lossFunction(classes: classes, includesBackground: defaults.diceIncludesBackground)
        o.precision = MixedPrecision.precision(amp: amp)
        o.recomputesConvolutions = keepActivations ? false : nil
        (o.validateEvery, o.bestMetric, o.saveEveryEpoch, o.seed) = (validateEvery, bestMetric, saveEveryEpoch, seed)
        o.freezeEncoderSteps = freezeEncoder
        o.deepSupervision = deepSupervision
        o.gradientBucketMegabytes = bucketMb
        o.synchronizedBatchNorm = syncBn
        return o
    }

    /// One line naming the optimizer, its schedule and the clipping a run trains with.
    static func optimizerText(_ o: TrainingOptions) -> String {
        let momentum = switch o.optimizer {
        case .sgd: (o.nesterov ? ", Nesterov momentum " : ", momentum ") + "\(o.momentum)"
        case .rmsprop: ", momentum \(o.momentum)"
        case .adam, .adamw: ", beta1 \(o.momentum)"
        }
        let schedule = "\(o.schedule.rawValue) schedule" + (o.warmupSteps > 0 ? " after \(o.warmupSteps) warm-up steps" : "")
            + (o.minimumLearningRate > 0 ? " down to \(o.minimumLearningRate)" : "")
        return "optimizer: \(o.optimizer.rawValue) at \(o.learningRate)\(momentum), weight decay \(o.weightDecay), \(schedule), "
            + (o.gradientClipping.map { "gradient norm clipped at \($0)" } ?? "no clipping")
    }

    /// The model rebuilt with `--dropout` or `--drop-path` (smp's 0.2 for an EfficientNet encoder that records none,
    /// unless resumed), its tensors copied; nil where nothing changes.
    private func withRegularization(_ model: any SegmentationModel, resumed: Bool, generator: inout SeededGenerator) throws
        -> (any SegmentationModel)?
    {
        var architecture = model.architecture
        if let dropout {
            do { architecture = try architecture.with(dropout: dropout) } catch { throw ValidationError("--dropout: \(error)") }
        }
        var smpDefault: Float? {
            guard !resumed, case .smpUNet(let c) = architecture, c.dropPath == nil else { return nil }
            return c.encoder.smpDropPath
        }
        if let rate = dropPath ?? smpDefault {
            do { architecture = try architecture.with(dropPath: rate) } catch { throw ValidationError("--drop-path: \(error)") }
        }
        guard architecture != model.architecture else { return nil }
        let rebuilt = try architecture.makeModel(generator: &generator)
        try rebuilt.load(model.stateDict(), strict: true)
        return rebuilt
    }

    /// The loaded model, with its head re-initialised if --classes differs from its class count.
    private func fineTuned(_ loaded: LoadedModel, generator: inout SeededGenerator, _ progress: ProgressDisplay) throws
        -> any SegmentationModel
    {
        let classes = architecture.classes
        guard loaded.model.architecture.classes != classes else { return loaded.model }
        let model = try loaded.model.architecture.with(classes: classes).makeModel(generator: &generator)
        var state = loaded.model.stateDict()
        for key in state.keys where model.stateDict()[key]?.shape != state[key]?.shape { state[key] = nil }
        try model.load(state, strict: false)
        progress.message("warning: \(load!) has \(loaded.model.architecture.classes) classes, training \(classes): "
            + "the output layer starts from new random weights")
        return model
    }
}

extension TrainingOptions.Metric: ExpressibleByArgument {}

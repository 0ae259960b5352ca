import Datasets
import Distributed
import Execution
import Foundation
import Inference
import Evaluation
import Models
import NN
import Tensors
import Training

/// Trains a `UNet` on a segmentation dataset through the compiled (fast) network: milesial's `train.py` loop,
/// by epochs or steps, with validation, best/last checkpoints written atomically, exact resume, and a stop on
/// a non-finite loss, batch or parameter that leaves the last good checkpoint untouched. The output folder is
/// held exclusively for the run (`RunDirectory`), and no checkpoint with NaN or infinity is ever written.
///
/// Data-parallel (`group` of several ranks, each with its `BatchLoader` shard): rank 0's weights are copied to every
/// rank at the start, each step's gradients are averaged over the ranks (`GradientReducer`), so the weights stay
/// identical (checked at every validation); batch norm uses each rank's batch, and rank 0's running statistics are
/// copied to all before each validation, as PyTorch's `DistributedDataParallel` does (or, with
/// `TrainingOptions.synchronizedBatchNorm`, every rank's batch together, as `SyncBatchNorm` does). Validation is split between
/// the ranks and their confusion matrices summed. Rank 0 alone writes the folder; the others write nothing.
public final class Trainer {
    public let model: any SegmentationModel
    public let metadata: ModelMetadata
    public let options: TrainingOptions
    public let loader: BatchLoader
    /// Validation samples (dataset and indices), evaluated whole, without augmentation.
    public let validation: (dataset: SegmentationDataset, indices: [Int])?
    public let outputDirectory: String
    /// The locked output folder, held as long as the trainer lives (rank 0; nil on the others).
    private let runDirectory: RunDirectory?
    /// The ranks training together (one process by default).
    public let group: ProcessGroup
    /// Averages gradients over the ranks (several ranks only).
    private let reducer: GradientReducer?
    /// Called on every step, validation and checkpoint.
    public var onEvent: (TrainingEvent) -> Void = { _ in }
    /// How many validation images (the first ones) `onEvent` receives with their predictions after each validation
    /// pass (`TrainingEvent.validationSamples`); 0: none.
    public var validationSampleCount = 0
    /// Polled after every step: true stops training after saving `last.safetensors` (SIGINT/SIGTERM).
    public var shouldStop: () -> Bool = { false }
    /// The time, as the budget (`TrainingOptions.deadline`) and the step records read it; tests give a fake clock.
    public var clock: () -> Date = { Date() }

    public private(set) var step = 0
    public private(set) var best: Double?
    public private(set) var optimizer: any Optimizer
    /// The optimizer's indices of the encoder's parameters (`TrainingOptions.freezeEncoderSteps`).
    private let encoderIndices: Set<Int>
    public private(set) var schedule: Schedule
    /// The moving average of the weights (`TrainingOptions.emaDecay`).
    public let average: ExponentialMovingAverage?
    /// The heads a classic U-Net trains with under `TrainingOptions.deepSupervision` (not part of the model; the
    /// optimizer's last parameters).
    public let addedHeads: UNetDeepSupervisionHeads?
    private var trainingNetworks: [[Int]: CompiledUNet] = [:]
    /// The validation predictors, without and with test-time flips.
    private var validationPredictors: [Bool: Predictor] = [:]
    /// The best checkpoint's metric without and with test-time flips (`TrainingOptions.checksTestTimeFlips`); nil until
    /// checked.
    public private(set) var flipsCheck: (without: Double, with: Double)?
    private let log: MetricsLog?

    /// The steps the run will train: the options' count, or under a deadline the steps that fit it (re-estimated as
    /// steps are timed).
    public var totalSteps: Int { plannedSteps }
    /// Whether the loss scores lower-resolution heads too (`TrainingOptions.deepSupervision`): nnU-Net's own unless turned
    /// off, a classic U-Net's added ones where asked for.
    public var deepSupervision: Bool {
        addedHeads != nil || ((options.deepSupervision ?? true) && model.architecture.deepSupervisionHeads > 0)
    }
    private var plannedSteps: Int
    /// The deadline's measurements (nil without `TrainingOptions.deadline`).
    private var budget: TimeBudget?
    /// Whether the deadline cut the run short of the steps its options asked for.
    public var shortenedByDeadline: Bool { budget != nil && plannedSteps < requestedSteps }
    /// The steps the options ask for.
    private var requestedSteps: Int { options.totalSteps(batchesPerEpoch: loader.batchesPerEpoch) }
    /// Data-parallel training: seconds spent waiting for the gradient exchange after backward (the communication
    /// that overlapping did not hide); 0 for one process.
    public var gradientExchangeWaitSeconds: Double { reducer?.waitingSeconds ?? 0 }
    public var lastCheckpoint: String { (outputDirectory as NSString).appendingPathComponent("last.safetensors") }
    public var bestCheckpoint: String { (outputDirectory as NSString).appendingPathComponent("best.safetensors") }

    /// A trainer writing into `outputDirectory`, which it opens (and locks) as `mode` allows (rank 0 of `group`;
    /// the other ranks leave it alone).
    /// - Throws: `TrainingError.outputDirectory` when the folder is held by another run or holds a run `mode`
    ///   does not allow; `FileError` when the log cannot be opened.
    public convenience init(model: any SegmentationModel, metadata: ModelMetadata, options: TrainingOptions, loader: BatchLoader,
                            validation: (dataset: SegmentationDataset, indices: [Int])?, outputDirectory: String,
                            mode: RunDirectory.Mode = .new, group: ProcessGroup = ProcessGroup()) throws {
        try self.init(model: model, metadata: metadata, options: options, loader: loader, validation: validation,
                      runDirectory: group.isPrimary ? try RunDirectory(path: outputDirectory, mode: mode) : nil,
                      outputDirectory: outputDirectory, group: group)
    }

    /// A trainer writing into a folder the caller opened (and locked) already; nil on ranks other than 0.
    /// - Precondition: `loader` is this rank's shard of `group` (`BatchLoader.rank`, `worldSize`).
    /// - Throws: `FileError` when the log cannot be opened; `UNetError.unsupported` for deep supervision of a network
    ///   that cannot have it (`Architecture.deepSupervisionProblem`).
    public init(model: any SegmentationModel, metadata: ModelMetadata, options: TrainingOptions, loader: BatchLoader,
                validation: (dataset: SegmentationDataset, indices: [Int])?, runDirectory: RunDirectory?,
                outputDirectory: String? = nil, group: ProcessGroup = ProcessGroup()) throws {
        precondition(loader.rank == group.rank && loader.worldSize == group.worldSize, "Trainer: the loader is not this rank's shard")
        precondition(group.isPrimary == (runDirectory != nil), "Trainer: rank 0, and only rank 0, writes the run")
        self.model = model
        self.metadata = metadata
        self.options = options
        self.loader = loader
        self.validation = validation
        self.runDirectory = runDirectory
        self.outputDirectory = runDirectory?.path ?? outputDirectory ?? "."
        self.group = group
        addedHeads = try Self.addedHeads(for: model, options)
        optimizer = Self.makeOptimizer(options, model.trainableParameters + (addedHeads?.trainableParameters ?? []))
        average = options.emaDecay.map { ExponentialMovingAverage(parameters: model.namedParameters().map(\.1), decay: $0) }
        reducer = group.worldSize > 1
            ? GradientReducer(optimizer: optimizer, group: group,
                              bucketElements: GradientReducer.bucketElements(megabytes: options.gradientBucketMegabytes)) : nil
        encoderIndices = Set(model.namedParameters().filter { $0.1.requiresGrad }.enumerated()
            .filter { $0.element.0.hasPrefix("encoder.") }.map(\.offset))
        schedule = Schedule(kind: options.schedule, learningRate: options.learningRate,
                            totalSteps: options.totalSteps(batchesPerEpoch: loader.batchesPerEpoch),
                            warmupSteps: options.warmupSteps, minimumLearningRate: options.minimumLearningRate,
                            patience: options.plateauPatience)
        log = try runDirectory.map { try MetricsLog(path: $0.file("metrics.jsonl")) }
        plannedSteps = options.totalSteps(batchesPerEpoch: loader.batchesPerEpoch)  // requestedSteps, before self is whole
        budget = options.deadline.map {
            TimeBudget(deadline: $0, estimatedValidationSeconds: options.estimatedValidationSeconds,
                       closesWithFlipsCheck: options.checksTestTimeFlips)
        }
    }

    /// The heads `options` asks a classic U-Net to train with, from a generator of their own (the model's weights and
    /// the data's order are as without them); nil for other networks or without deep supervision asked for.
    static func addedHeads(for model: any SegmentationModel, _ options: TrainingOptions) throws -> UNetDeepSupervisionHeads? {
        guard addsHeads(model.architecture, options) else { return nil }
        if let problem = model.architecture.deepSupervisionProblem { throw UNetError.unsupported("deep supervision: " + problem) }
        guard let unet = model as? UNet else { throw UNetError.unsupported("deep supervision: \(model.architecture) takes no added heads") }
        var generator = SeededGenerator(seed: options.seed ^ 0x6473_6865_6164_7300)  // "dsheads"
        return try UNetDeepSupervisionHeads(for: unet, generator: &generator)
    }

    /// Whether `options` asks a network of `architecture` to train with added heads: deep supervision asked for, and
    /// no lower-resolution heads of its own.
    private static func addsHeads(_ architecture: Architecture, _ options: TrainingOptions) -> Bool {
        options.deepSupervision == true && architecture.deepSupervisionHeads == 0
    }

    static func makeOptimizer(_ o: TrainingOptions, _ parameters: [Parameter]) -> any Optimizer {
        switch o.optimizer {
        case .sgd: SGD(parameters: parameters, learningRate: o.learningRate, momentum: o.momentum, nesterov: o.nesterov,
                       weightDecay: o.weightDecay)
        case .adam: Adam(parameters: parameters, learningRate: o.learningRate, beta1: o.momentum, weightDecay: o.weightDecay)
        case .adamw: Adam(parameters: parameters, learningRate: o.learningRate, beta1: o.momentum, weightDecay: o.weightDecay,
                          decoupled: true)
        case .rmsprop: RMSprop(parameters: parameters, learningRate: o.learningRate, weightDecay: o.weightDecay,
                               momentum: o.momentum)
        }
    }

    /// Checks that `loaded` is a training checkpoint these options can continue (its state in range, the same
    /// optimizer), before anything is created for the run.
    /// - Throws: `TrainingError.invalidCheckpoint` naming the file.
    public static func checkResumable(_ loaded: LoadedModel, path: String, options: TrainingOptions) throws {
        try check(try TrainingCheckpoint.read(loaded, path: path), of: loaded.model.architecture, path: path, options: options)
    }

    /// `checkResumable` of a checkpoint already read.
    private static func check(_ contents: TrainingCheckpoint.Contents, of architecture: Architecture, path: String,
                              options: TrainingOptions) throws {
        let state = contents.state
        guard state.optimizer == options.optimizer else {
            throw TrainingError.invalidCheckpoint("\(path): trained with --optimizer \(state.optimizer.rawValue), not \(options.optimizer.rawValue)")
        }
        let addsHeads = addsHeads(architecture, options)
        guard (contents.heads.count == 0) != addsHeads else {
            throw TrainingError.invalidCheckpoint("\(path): trained " + (addsHeads ? "without" : "with")
                + " --deep-supervision's added heads; resume it " + (addsHeads ? "without" : "with") + " --deep-supervision")
        }
    }

    /// Continues from a training checkpoint whose weights `model` already holds: optimizer, schedule, step and
    /// best metric as they were.
    public func resume(from loaded: LoadedModel, path: String) throws {
        let contents = try TrainingCheckpoint.read(loaded, path: path)
        try Self.check(contents, of: loaded.model.architecture, path: path, options: options)
        let state = contents.state
        if let addedHeads {
            do { try addedHeads.load(contents.heads, strict: true) } catch {
                throw TrainingError.invalidCheckpoint("\(path): deep supervision heads: \(error)")
            }
        }
        try optimizer.restore(contents.optimizer)
        // A checkpoint without averages (trained without --ema, or the best one) starts them from its weights.
        if let average, let averageState = contents.average { try average.restore(averageState) }
        schedule = state.schedule
        step = state.step
        best = state.best
        try log?.truncate(after: step)
    }

    // MARK: - The loop

    /// Trains until the total steps are done, or under a deadline until another step would leave too little time for
    /// the closing validation and checkpoints.
    /// - Throws: `TrainingError` for a non-finite loss or an interruption, dataset and oneDNN errors.
    public func run() throws {
        // The largest batch the loader will make, checked before any is made.
        let size = loader.augmentation.crop.map { [$0, $0] } ?? loader.dataset.report.maximumSize
        if size.count == 2 {
            try model.architecture.checkMemory(batch: loader.batchSize, height: size[1], width: size[0], training: true)
        }
        let perEpoch = max(loader.batchesPerEpoch, 1)
        let validateEvery = options.validateEvery ?? (options.steps != nil ? max(plannedSteps / 10, 1) : perEpoch)
        let start = clock()
        if group.worldSize > 1 { try synchronize(model.namedParameters().map(\.1) + (addedHeads?.namedParameters().map(\.1) ?? [])) }
        var epoch = step / perEpoch
        var imagesSinceReport = 0
        var reportTime = start
        var validated = -1
        var previousEnd: Date?
        var closingSince = 0.0
        while step < plannedSteps {
            // 1. The epoch's batches, resumed mid-epoch if need be.
            let batches = loader.epoch(epoch, startingAt: step % perEpoch)
            defer { batches.cancel() }
            while step < plannedSteps, let batch = try batches.next() {
                // 2. Forward and loss (not on a batch with NaN or infinity; all ranks learn of it together).
                let shape = batch.images.shape
                let compiles = trainingNetworks[shape] == nil
                let batchIsFinite = batch.images.isFinite
                var compiled: CompiledUNet?
                var (loss, dLogits, dAuxiliary): (Float, Tensor, [Tensor]) = (.nan, Tensor(shape: [0]), [])
                if batchIsFinite {
                    let network = try trainingNetwork(for: shape)
                    compiled = network
                    let logits = try network.forward(batch.images)
                    let targets = try SegmentationPrediction.cropTargets(
                        batch.targets, batch: shape[0], height: shape[2], width: shape[3], to: logits.shape[2], logits.shape[3])
                    if deepSupervision {
                        let (value, gradients) = try DeepSupervisionLoss(loss: options.loss)(outputs: [logits] + network.auxiliaryOutputs,
                                                                                             targets: targets)
                        (loss, dLogits, dAuxiliary) = (value, gradients[0], Array(gradients.dropFirst()))
                    } else {
                        (loss, dLogits) = try options.loss(logits: logits, targets: targets)
                    }
                }
                let agreed = try agree(loss: loss, batchIsFinite: batchIsFinite)
                guard batchIsFinite, let network = compiled else {
                    throw TrainingError.nonFiniteBatch(step: step + 1, samples: batch.indices.map { loader.dataset.samples[$0].image })
                }
                guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: step + 1, loss: loss) }
                if let reason = agreed.stopReason { throw TrainingError.stoppedByOtherRanks(step: step + 1, ranks: agreed.stopped, reason: reason) }
                // 3. Schedule; backward and update. Clipping needs every gradient first; without it each
                // parameter is updated as soon as backward has its gradient (averaged over the ranks first), and no
                // gradient is stored.
                optimizer.learningRate = schedule.learningRate(step: step)
                if let momentum = schedule.momentum(step: step) { optimizer.momentum = momentum }
                optimizer.frozen = step < options.freezeEncoderSteps ? encoderIndices : []
                if let maximum = options.gradientClipping {
                    if let reducer {
                        try reducer.averageGradients { try network.backward(dLogits, auxiliaryGradients: dAuxiliary, applying: $0) }
                    } else {
                        try network.backward(dLogits, auxiliaryGradients: dAuxiliary)
                    }
                    clipGradientNorm(optimizer.parameters.enumerated().filter { !optimizer.frozen.contains($0.offset) }.map(\.element),
                                     maximum: maximum)
                    optimizer.update()
                } else if let reducer {
                    try reducer.step { try network.backward(dLogits, auxiliaryGradients: dAuxiliary, applying: $0) }
                } else {
                    try optimizer.step { try network.backward(dLogits, auxiliaryGradients: dAuxiliary, applying: $0) }
                }
                step += 1
                try checkParameters()
                average?.update()
                // 4. Report.
                // A step's time: from the previous step's end (its batch's wait included), validation and checkpoints
                // aside.
                let now = clock()
                if !compiles, let previousEnd { budget?.recordStep(seconds: now.timeIntervalSince(previousEnd) - closingSince) }
                (previousEnd, closingSince) = (now, 0)
                imagesSinceReport += shape[0] * group.worldSize
                let rate = Double(imagesSinceReport) / max(now.timeIntervalSince(reportTime), 1e-9)
                if now.timeIntervalSince(reportTime) > 2 { (imagesSinceReport, reportTime) = (0, now) }
                let record = TrainingStepRecord(step: step, epoch: epoch + 1, totalSteps: plannedSteps, loss: agreed.loss,
                                                learningRate: optimizer.learningRate, imagesPerSecond: rate,
                                                elapsed: now.timeIntervalSince(start), secondsLeft: budget?.secondsLeft(at: now))
                try log?.write(record)
                onEvent(.step(record))
                // 5. Validate and checkpoint; under a deadline, fit the plan to the time left.
                let closingStart = clock()
                if step % validateEvery == 0 || step == plannedSteps {
                    try validateAndSave(epoch: epoch + 1)
                    validated = step
                }
                if try fitToDeadline(validateEvery: validateEvery), validated != step {
                    try validateAndSave(epoch: epoch + 1)
                    validated = step
                }
                closingSince = clock().timeIntervalSince(closingStart)
                if agreed.stop || (group.worldSize == 1 && shouldStop()) {
                    try save(lastCheckpoint, reason: "interrupted")
                    try group.barrier()  // the other ranks wait for rank 0's save: the launcher never stops it mid-write
                    throw TrainingError.interrupted(step: step, checkpoint: lastCheckpoint)
                }
            }
            epoch += 1
            if options.saveEveryEpoch, step % perEpoch == 0 {
                try save((outputDirectory as NSString).appendingPathComponent("epoch_\(epoch).safetensors"), reason: "epoch \(epoch)")
            }
        }
        if options.checksTestTimeFlips { try checkTestTimeFlips(epoch: epoch) }
    }

    /// Validates the best checkpoint's weights again with test-time flips and records them in its metadata only if they
    /// raise the best metric (one process, with validation images; the model is left with the best weights).
    private func checkTestTimeFlips(epoch: Int) throws {
        guard group.worldSize == 1, let best, runDirectory != nil else { return }
        let loaded = try ModelFile.load(path: bestCheckpoint)
        try model.load(loaded.model.stateDict(), strict: true)
        guard let record = try validate(epoch: epoch, flips: true) else { return }
        let flipped = metric(record)
        flipsCheck = (best, flipped)
        var metadata = loaded.metadata
        metadata.flips = flipped > best
        guard metadata.flips != loaded.metadata.flips else { return }
        try TrainingCheckpoint.rewrite(loaded, to: bestCheckpoint, metadata: metadata)
    }

    /// Under a deadline: ends the plan at this step when another one would not leave time for the closing validation
    /// and checkpoints (true: the caller closes the run), else every tenth step re-estimates the steps that fit and
    /// fits the schedule to them. All ranks take rank 0's decision.
    private func fitToDeadline(validateEvery: Int) throws -> Bool {
        guard let budget, step < plannedSteps else { return false }
        var decision: [Double] = [0, group.isPrimary ? Double(plannedSteps) : 0]
        if group.isPrimary {
            let now = clock()
            if !budget.allowsStep(at: now) {
                decision = [1, Double(step)]
            } else if step % 10 == 0, let fit = budget.stepsThatFit(at: now, validateEvery: validateEvery) {
                let fitting = step + max(fit, 1)
                decision = [0, Double(options.stretchesToDeadline ? fitting : min(fitting, requestedSteps))]
            }
        }
        if group.worldSize > 1 { try group.allReduce(&decision, .sum) }  // only rank 0's values are not 0
        let steps = Int(decision[1])
        if steps != plannedSteps {
            plannedSteps = steps
            schedule = schedule.resized(totalSteps: steps)
        }
        return decision[0] == 1
    }

    /// What the ranks agree on after each forward pass (one allreduce): the mean loss, whether any rank asked to
    /// stop (SIGINT reaches them at different moments; they stop at the same step), and whether other ranks met
    /// a non-finite batch or loss. One process: its own values (and `shouldStop` is asked after the step instead).
    private func agree(loss: Float, batchIsFinite: Bool) throws -> (loss: Float, stop: Bool, stopped: Int, stopReason: String?) {
        let failed = !batchIsFinite || !loss.isFinite
        var values: [Double] = [failed ? 0 : Double(loss), batchIsFinite ? 0 : 1, failed && batchIsFinite ? 1 : 0,
                               group.worldSize > 1 && shouldStop() ? 1 : 0]
        try group.allReduce(&values, .sum)
        let otherBatches = Int(values[1]) - (batchIsFinite ? 0 : 1)
        let otherLosses = Int(values[2]) - (failed && batchIsFinite ? 1 : 0)
        let reason = otherBatches > 0 ? "a batch with NaN or infinite values" : otherLosses > 0 ? "a NaN or infinite loss" : nil
        return (Float(values[0] / Double(group.worldSize)), values[3] > 0, otherBatches + otherLosses, reason)
    }

    /// Copies rank 0's values of `parameters` to every rank.
    private func synchronize(_ parameters: [Parameter]) throws {
        for parameter in parameters { try parameter.value.withUnsafeMutableBufferPointer { try group.broadcast($0, from: 0) } }
    }

    /// Stops unless every rank holds the same weights and statistics (bit for bit).
    private func checkReplicas() throws {
        guard group.worldSize > 1 else { return }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the values' bits
        for (_, parameter) in model.namedParameters() {
            parameter.value.withUnsafeBufferPointer { values in
                for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3 }
            }
        }
        let all = try group.allGather(Int64(bitPattern: hash))
        guard Set(all).count == 1 else { throw TrainingError.replicasDiverged(step: step, checksums: all) }
    }

    /// The seed of a new training network's dropout masks: the run's seed, mixed with the rank (each rank draws its own),
    /// the step (a resumed run draws anew) and the networks made so far (one per batch shape).
    private var dropoutSeed: UInt64 {
        options.seed ^ (UInt64(group.rank) << 48) ^ (UInt64(step) << 16) ^ UInt64(trainingNetworks.count)
    }

    /// The compiled training network for a batch shape (one per shape, kept).
    private func trainingNetwork(for shape: [Int]) throws -> CompiledUNet {
        if let network = trainingNetworks[shape] { return network }
        let factor = model.architecture.downsampling
        if model.architecture.hasBatchNorm, shape[0] * (shape[2] / factor) * (shape[3] / factor) <= 1 {
            throw TrainingError.batchTooSmall(shape: shape, downsampling: factor)
        }
        let network = try CompiledUNet(model, inputShape: shape, precision: options.precision, training: true,
                                       recomputesConvolutions: options.recomputesConvolutions,
                                       synchronizedBatchNorm: options.synchronizedBatchNorm && group.worldSize > 1 ? group : nil,
                                       deepSupervision: deepSupervision, addedHeads: addedHeads,
                                       randomSeed: dropoutSeed)
        trainingNetworks[shape] = network
        return network
    }

    // MARK: - Validation and checkpoints

    /// Stops at the first parameter or running statistic that is not finite (oneDNN's ReLU turns NaN into 0,
    /// so a NaN weight can leave the loss finite).
    private func checkParameters() throws {
        let heads = addedHeads?.namedParameters(prefix: UNetDeepSupervisionHeads.prefix) ?? []
        for (key, parameter) in model.namedParameters() + heads where !parameter.value.isFinite {
            throw TrainingError.nonFiniteParameter(step: step, key: key)
        }
    }

    private func validateAndSave(epoch: Int) throws {
        if group.worldSize > 1 {
            try synchronize(model.namedParameters().map(\.1).filter { !$0.requiresGrad })
            try checkReplicas()
        }
        try withAverage {
            let validationStart = clock()
            let validation = try validate(epoch: epoch)
            budget?.recordValidation(seconds: clock().timeIntervalSince(validationStart))
            if let record = validation {
                try log?.write(record)
                onEvent(.validation(record))
                let value = metric(record)
                if schedule.kind == .plateau { optimizer.learningRate = schedule.report(metric: value) }
                if best.map({ value > $0 }) ?? true {
                    best = value
                    try save(bestCheckpoint, reason: "best \(options.bestMetric.rawValue) \(String(format: "%.4f", value))")
                }
            } else {
                // Without validation images nothing ranks the checkpoints: best is the latest.
                try save(bestCheckpoint, reason: "latest (no validation images)")
            }
        }
        try save(lastCheckpoint, reason: "step \(step)")
    }

    /// Runs `body` with the averaged weights in the model where there is an average (every rank with rank 0's
    /// averaged running statistics), then puts the trained weights back.
    private func withAverage(_ body: () throws -> Void) throws {
        guard let average else { return try body() }
        average.exchange()
        defer { average.exchange() }
        if group.worldSize > 1 { try synchronize(average.parameters.filter { !$0.requiresGrad }) }
        try body()
    }

    /// The value of `options.bestMetric` in `record`.
    private func metric(_ record: ValidationRecord) -> Double {
        switch options.bestMetric {
        case .dice: record.dice
        case .miou: record.meanIoU
        case .accuracy: record.pixelAccuracy
        }
    }

    /// Evaluates the validation samples whole (any size: `Predictor` pads or mirrors what the network needs) with
    /// the eval-mode network, averaging the logits over test-time flips with `flips`; nil without validation samples.
    /// Several ranks share the samples (rank 0 the first ones) and sum their confusion matrices and losses: the same
    /// record as one process.
    public func validate(epoch: Int, flips: Bool = false) throws -> ValidationRecord? {
        guard let validation, !validation.indices.isEmpty else { return nil }
        let classes = model.architecture.classes
        let predictor: Predictor
        if let existing = validationPredictors[flips] {
            predictor = existing
            try predictor.parametersChanged()
        } else {
            var options = PredictionOptions()
            options.precision = self.options.precision
            options.flips = flips
            predictor = try Predictor(model: model, options: options)
            validationPredictors[flips] = predictor
        }
        var confusion = ConfusionMatrix(classes: max(classes, 2))
        var lossTotal: Double = 0
        var samples: [ValidationSample] = []
        for index in validation.indices[group.share(of: validation.indices.count)] {
            var (image, mask) = try validation.dataset.sample(index)
            let original = samples.count < validationSampleCount ? image : nil  // a copy only for the samples handed on
            loader.normalization.apply(&image)
            let path = validation.dataset.samples[index].image
            let logits = try predictor.logits(image, path: path)
            lossTotal += Double(try options.loss(logits: logits, targets: mask.classes).loss)
            let predicted = SegmentationPrediction.classes(logits)
            try confusion.add(predictions: predicted, truth: mask.classes, ignoreIndex: -1)
            if let original { samples.append(ValidationSample(path: path, image: original, classes: predicted)) }
        }
        if !samples.isEmpty { onEvent(.validationSamples(step: step, samples)) }
        confusion = try confusion.summed(over: group)
        if group.worldSize > 1 {
            var total = [lossTotal]
            try group.allReduce(&total, .sum)
            lossTotal = total[0]
        }
        let metrics = SegmentationMetrics(confusion)
        let dice = classes == 1 ? (metrics.perClassDice[1] ?? 0) : metrics.meanDiceWithoutBackground
        return ValidationRecord(step: step, epoch: epoch, loss: Float(lossTotal / Double(validation.indices.count)),
                                dice: dice, meanIoU: metrics.meanIoU, pixelAccuracy: metrics.pixelAccuracy,
                                perClassIoU: metrics.perClassIoU, perClassDice: metrics.perClassDice)
    }

    /// Writes a training checkpoint atomically.
    /// - Throws: `TrainingError.nonFiniteParameter` instead of writing a model or optimizer state that holds NaN
    ///   or infinity.
    public func save(_ path: String, reason: String) throws {
        try checkParameters()
        guard group.isPrimary else { return }
        for (key, tensor) in optimizer.state.tensors + (average?.state.tensors ?? []) where !tensor.isFinite {
            throw TrainingError.nonFiniteParameter(step: step, key: "optimizer state \(key)")
        }
        let state = TrainingCheckpoint.State(step: step, optimizer: options.optimizer, optimizerNumbers: [:],
                                             schedule: schedule, best: best, seed: options.seed)
        let start = clock()
        // While the model holds the averaged weights, the average holds the trained ones: the file keeps no average.
        try TrainingCheckpoint.write(model: model, metadata: metadata, optimizer: optimizer,
                                     average: average?.isExchanged == true ? nil : average, heads: addedHeads, state: state, to: path)
        budget?.recordCheckpoint(seconds: clock().timeIntervalSince(start))
        onEvent(.checkpoint(path: path, reason: reason))
    }
}

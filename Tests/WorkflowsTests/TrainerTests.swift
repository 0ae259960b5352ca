import Datasets
import Foundation
import Models
import Tensors
import TestSupport
import Testing
import Training
import Workflows

@Suite("Trainer: learning, checkpoints, exact resume, failures")
struct TrainerTests {
    struct Run {
        let folder: URL
        let dataset: SegmentationDataset
    }

    func setUp(count: Int = 10) throws -> Run {
        let folder = try SyntheticData.temporaryFolder("unet-trainer")
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: count, size: 32)
        let (pairs, _, _) = SampleDiscovery.pairFolders(images: images, masks: masks)
        return Run(folder: folder, dataset: try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2)))
    }

    func trainer(_ run: Run, steps: Int, output: String, seed: UInt64 = 3, learningRate: Float = 3e-3,
                 recomputesConvolutions: Bool? = nil, mode: RunDirectory.Mode = .new, flips: Bool? = nil, ema: Float? = nil,
                 depth: Int = 2, deepSupervision: Bool? = nil) throws -> Trainer {
        var g = SeededGenerator(seed: seed)
        let model = try UNet(.milesial(inputChannels: 1, classes: 2, baseWidth: 8, depth: depth), generator: &g)
        var options = TrainingOptions()
        (options.steps, options.learningRate, options.optimizer) = (steps, learningRate, .adam)
        (options.momentum, options.schedule, options.validateEvery, options.seed) = (0.9, .cosine, 4, seed)
        options.recomputesConvolutions = recomputesConvolutions
        options.checksTestTimeFlips = flips != nil
        options.emaDecay = ema
        options.deepSupervision = deepSupervision
        var augmentation = Augmentation()
        (augmentation.crop, augmentation.flips) = (24, true)
        let loader = BatchLoader(dataset: run.dataset, indices: Array(0..<8), batchSize: 2, augmentation: augmentation,
                                 shuffle: true, seed: seed, dropLast: true)
        var metadata = ModelMetadata(maskValues: run.dataset.table.values)
        metadata.flips = flips
        return try Trainer(model: model, metadata: metadata, options: options,
                           loader: loader, validation: (run.dataset, [8, 9]), outputDirectory: output, mode: mode)
    }

    /// A run of `steps` steps into `output` stopped (and saved) after step `stoppedAfter`, and a trainer resumed from
    /// its last checkpoint; with the stopped run's losses.
    func interruptedAndResumed(_ run: Run, steps: Int, output: String, stoppedAfter: Int, ema: Float? = nil,
                               deepSupervision: Bool? = nil) throws
        -> (losses: [Float], resumed: Trainer)
    {
        var firstLosses: [Float] = []
        let depth = deepSupervision == nil ? 2 : 3
        do {
            // The first run holds the folder's lock until it is released, at the end of this block.
            let first = try trainer(run, steps: steps, output: output, ema: ema, depth: depth, deepSupervision: deepSupervision)
            let recorded = losses(first)
            var count = 0
            first.shouldStop = { count += 1; return count == stoppedAfter }
            #expect(throws: TrainingError.self) { try first.run() }
            firstLosses = recorded()
        }
        let checkpoint = output + "/last.safetensors"
        let loaded = try ModelFile.load(path: checkpoint)
        let second = try trainer(run, steps: steps, output: output, mode: .resume(checkpoint: checkpoint), ema: ema, depth: depth,
                                 deepSupervision: deepSupervision)
        try second.model.load(loaded.model.stateDict())
        try second.resume(from: loaded, path: checkpoint)
        return (firstLosses, second)
    }

    func losses(_ trainer: Trainer) -> () -> [Float] {
        final class Box { var values: [Float] = [] }
        let box = Box()
        trainer.onEvent = { if case .step(let r) = $0 { box.values.append(r.loss) } }
        return { box.values }
    }

    @Test("the loss falls, validation Dice rises above chance, best and last checkpoints load as models")
    func learns() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let output = run.folder.appendingPathComponent("out").path
        let t = try trainer(run, steps: 40, output: output)
        let recorded = losses(t)
        try t.run()
        let values = recorded()
        #expect(values.count == 40)
        let early: Float = values.prefix(8).reduce(0, +) / 8
        let late: Float = values.suffix(8).reduce(0, +) / 8
        #expect(late < early * 0.8, "\(values)")
        let validation = try #require(try t.validate(epoch: 0))
        #expect(validation.dice > 0.6, "Dice \(validation.dice)")
        for name in ["best.safetensors", "last.safetensors", "metrics.jsonl"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + name), "\(name)")
        }
        let loaded = try ModelFile.load(path: output + "/last.safetensors")
        #expect(loaded.metadata.maskValues == [[0], [255]])
        #expect(loaded.model.stateDict() == t.model.stateDict())
    }

    @Test("a deadline on a fake clock: the steps are fitted to it, training stops before it with the closing validation and checkpoints done")
    func deadline() throws {
        final class FakeClock {
            var now = Date(timeIntervalSince1970: 0)
            /// Each reading is 10 ms later (validations and checkpoints take time); each step takes a second more.
            func read() -> Date {
                now.addTimeInterval(0.01)
                return now
            }
        }
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let output = run.folder.appendingPathComponent("out").path
        let clock = FakeClock()
        let t = try trainer(run, steps: 1000, output: output)
        var options = t.options
        options.deadline = Date(timeIntervalSince1970: 30)
        let timed = try Trainer(model: t.model, metadata: t.metadata, options: options, loader: t.loader, validation: t.validation,
                                outputDirectory: output + "-deadline")
        timed.clock = clock.read
        var checkpoints: [String] = []
        var lastRecord: TrainingStepRecord?
        timed.onEvent = {
            if case .checkpoint(let path, _) = $0 { checkpoints.append((path as NSString).lastPathComponent) }
            if case .step(let r) = $0 {
                lastRecord = r
                clock.now.addTimeInterval(1)
            }
        }
        try timed.run()
        #expect(timed.shortenedByDeadline)
        #expect(timed.step > 10 && timed.step < 1000)
        #expect(timed.totalSteps == timed.step)  // the plan was cut to the steps trained
        #expect(clock.now <= options.deadline!, "ended at \(clock.now.timeIntervalSince1970) s of 30")
        #expect(clock.now.timeIntervalSince1970 > 25, "ended at \(clock.now.timeIntervalSince1970) s of 30: the budget is used")
        #expect(checkpoints.suffix(2) == ["best.safetensors", "last.safetensors"] || checkpoints.last == "last.safetensors")
        let last = try ModelFile.load(path: output + "-deadline/last.safetensors")
        #expect(last.model.stateDict() == timed.model.stateDict())
        #expect(try #require(lastRecord?.secondsLeft) > 0)
        // The schedule was fitted to the deadline: cosine decay ends at the last step, not at step 1000.
        #expect(timed.schedule.totalSteps <= timed.step + 10)
        #expect(timed.schedule.learningRate(step: timed.step) < 0.01 * options.learningRate)

        // Without stretching, a plan shorter than the deadline allows is kept as it is.
        options.steps = 12
        let short = try Trainer(model: t.model, metadata: t.metadata, options: options, loader: t.loader, validation: t.validation,
                                outputDirectory: output + "-short")
        let shortClock = FakeClock()
        short.clock = shortClock.read
        short.onEvent = { if case .step = $0 { shortClock.now.addTimeInterval(1) } }
        try short.run()
        #expect(short.step == 12 && !short.shortenedByDeadline)
    }

    @Test("the test-time flips check: best.safetensors records flips exactly when they raise its validation metric, its weights and training state kept")
    func flipsCheck() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        // The same run twice, planned with flips on and off: the check decides both the same way, so one file is rewritten.
        var decisions: [Bool] = []
        for planned in [true, false] {
            let output = run.folder.appendingPathComponent("flips-\(planned)").path
            let t = try trainer(run, steps: 12, output: output, flips: planned)
            try t.run()
            let check = try #require(t.flipsCheck)
            #expect(check.without == t.best)
            // The model is left with the best weights: validating them with flips again gives the checked value.
            #expect(try #require(try t.validate(epoch: 0, flips: true)).dice == check.with)
            let loaded = try ModelFile.load(path: t.bestCheckpoint)
            #expect(loaded.metadata.flips == (check.with > check.without), "\(check)")
            #expect(loaded.model.stateDict() == t.model.stateDict())
            #expect(loaded.fileMetadata["unet.training"] != nil && !loaded.extraTensors.isEmpty)
            decisions.append(check.with > check.without)
        }
        #expect(decisions[0] == decisions[1])
    }

    @Test("keeping every convolution output for backward trains to the same model, bit for bit, as recomputing")
    func keptActivations() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let recomputing = try trainer(run, steps: 6, output: run.folder.appendingPathComponent("recompute").path,
                                      recomputesConvolutions: true)
        let keeping = try trainer(run, steps: 6, output: run.folder.appendingPathComponent("keep").path,
                                  recomputesConvolutions: false)
        let (recomputedLosses, keptLosses) = (losses(recomputing), losses(keeping))
        try recomputing.run()
        try keeping.run()
        #expect(recomputedLosses().count == 6)
        #expect(recomputedLosses() == keptLosses())
        #expect(recomputing.model.stateDict() == keeping.model.stateDict())
    }

    @Test("a run resumed from its checkpoint reproduces the uninterrupted loss sequence")
    func exactResume() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let whole = try trainer(run, steps: 12, output: run.folder.appendingPathComponent("whole").path)
        let wholeLosses = losses(whole)
        try whole.run()

        let (firstLosses, second) = try interruptedAndResumed(run, steps: 12, output: run.folder.appendingPathComponent("part").path,
                                                              stoppedAfter: 5)
        #expect(second.step == 5)
        let secondLosses = losses(second)
        try second.run()
        #expect(firstLosses + secondLosses() == wholeLosses(), "\(firstLosses + secondLosses()) vs \(wholeLosses())")
        #expect(second.model.stateDict() == whole.model.stateDict())
    }

    @Test("--ema: training unchanged; validation and best.safetensors use the average of the weights; last.safetensors keeps both, and resume continues the average exactly")
    func movingAverage() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let plain = try trainer(run, steps: 12, output: run.folder.appendingPathComponent("plain").path)
        let plainLosses = losses(plain)
        try plain.run()

        // The average, computed here from the weights after each step, and the one at each save of best.safetensors.
        let output = run.folder.appendingPathComponent("ema").path
        let averaged = try trainer(run, steps: 12, output: output, ema: 0.8)
        let keys = averaged.model.namedParameters().map(\.0)
        final class Expected { var average: [String: Tensor] = [:]; var updates = 0; var atBest: [String: Tensor] = [:]; var losses: [Float] = [] }
        let expected = Expected()
        averaged.onEvent = { event in
            switch event {
            case .step(let record):
                expected.losses.append(record.loss)
                let d: Float = expected.updates == 0 ? 0 : min(0.8, Float(1 + expected.updates) / Float(10 + expected.updates))
                for (key, parameter) in averaged.model.namedParameters() {
                    let old = expected.average[key] ?? parameter.value
                    expected.average[key] = parameter.isInteger ? parameter.value
                        : Tensor(shape: old.shape) { d * old[flat: $0] + (1 - d) * parameter.value[flat: $0] }
                }
                expected.updates += 1
            case .checkpoint(let path, _) where path.hasSuffix("best.safetensors"):
                expected.atBest = expected.average
            default: break
            }
        }
        try averaged.run()
        #expect(expected.losses == plainLosses())  // the average never feeds back into training
        #expect(averaged.model.stateDict() == plain.model.stateDict())
        let average = try #require(averaged.average)
        for (key, value) in zip(keys, average.averages) { expectClose(value, expected.average[key]!, rtol: 1e-6, atol: 1e-7, key) }
        let best = try ModelFile.load(path: output + "/best.safetensors").model.stateDict()
        #expect(!expected.atBest.isEmpty)
        for key in keys { expectClose(best[key]!, expected.atBest[key]!, rtol: 1e-6, atol: 1e-7, "best.safetensors \(key)") }
        #expect(best != plain.model.stateDict())
        let last = try ModelFile.load(path: output + "/last.safetensors")
        #expect(last.model.stateDict() == averaged.model.stateDict())
        #expect(last.extraTensors.filter { $0.key.hasPrefix(ModelFile.optimizerPrefix + "ema.") }.count == keys.count)

        // Stopped after step 5 and resumed: the same average at the end as the uninterrupted run.
        let second = try interruptedAndResumed(run, steps: 12, output: run.folder.appendingPathComponent("part").path, stoppedAfter: 5,
                                               ema: 0.8).resumed
        #expect(second.average?.updates == 5)
        try second.run()
        #expect(second.average?.averages == average.averages)
    }

    @Test("--deep-supervision on a classic U-Net: the added heads train and change training; the model files leave them out, last.safetensors keeps them, and resume continues exactly")
    func classicDeepSupervision() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let plain = try trainer(run, steps: 12, output: run.folder.appendingPathComponent("plain").path, depth: 3)
        let plainLosses = losses(plain)
        try plain.run()
        let output = run.folder.appendingPathComponent("supervised").path
        let supervised = try trainer(run, steps: 12, output: output, depth: 3, deepSupervision: true)
        let heads = try #require(supervised.addedHeads)
        #expect(supervised.deepSupervision && heads.heads.count == 2)
        let initial = heads.stateDict()
        let supervisedLosses = losses(supervised)
        try supervised.run()
        #expect(supervisedLosses().count == plainLosses().count && supervisedLosses() != plainLosses())
        #expect(heads.stateDict() != initial, "the heads are trained")

        // best.safetensors: the plain network's keys alone; last.safetensors also the heads, as trained.
        let best = try ModelFile.load(path: output + "/best.safetensors")
        #expect(best.model.stateDict().keys == plain.model.stateDict().keys)
        #expect(best.model.architecture == plain.model.architecture)
        let last = try ModelFile.load(path: output + "/last.safetensors")
        let stored = Dictionary(last.extraTensors.filter { $0.key.hasPrefix(ModelFile.optimizerPrefix + UNetDeepSupervisionHeads.prefix) }
            .map { ($0.key, $0.tensor.floatTensor()) }, uniquingKeysWith: { a, _ in a })
        #expect(stored.count == 4)
        for (key, parameter) in heads.namedParameters(prefix: ModelFile.optimizerPrefix + UNetDeepSupervisionHeads.prefix) {
            #expect(stored[key] == parameter.value, "\(key)")
        }

        // Stopped after step 5 and resumed: the same network and heads as the uninterrupted run.
        let (firstLosses, second) = try interruptedAndResumed(run, steps: 12, output: run.folder.appendingPathComponent("part").path,
                                                              stoppedAfter: 5, deepSupervision: true)
        let secondLosses = losses(second)
        try second.run()
        #expect(firstLosses + secondLosses() == supervisedLosses())
        #expect(second.model.stateDict() == supervised.model.stateDict())
        #expect(second.addedHeads?.stateDict() == heads.stateDict())

        // A checkpoint with heads resumes only with them, and one without only without.
        let checkpoint = output + "/last.safetensors"
        var options = TrainingOptions()
        options.optimizer = .adam
        #expect(throws: TrainingError.self) { try Trainer.checkResumable(last, path: checkpoint, options: options) }
        options.deepSupervision = true
        try Trainer.checkResumable(last, path: checkpoint, options: options)
        let plainLast = run.folder.appendingPathComponent("plain/last.safetensors").path
        #expect(throws: TrainingError.self) { try Trainer.checkResumable(try ModelFile.load(path: plainLast), path: plainLast, options: options) }
    }

    @Test("a non-finite loss stops training with the step, and leaves the last good checkpoint untouched")
    func nonFinite() throws {
        let run = try setUp()
        defer { try? FileManager.default.removeItem(at: run.folder) }
        let output = run.folder.appendingPathComponent("nan").path
        let t = try trainer(run, steps: 200, output: output, learningRate: 1e30)
        let error = #expect(throws: TrainingError.self) { try t.run() }
        let text = try #require(error).description
        #expect(text.contains("the loss became") && text.contains("step"))
        if FileManager.default.fileExists(atPath: output + "/last.safetensors") {
            let loaded = try ModelFile.load(path: output + "/last.safetensors")
            #expect(loaded.model.stateDict().entries.allSatisfy { $0.tensor.scalars.allSatisfy(\.isFinite) })
        }
    }
}

@Suite("Trainer: non-finite values never reach a checkpoint")
struct TrainerNonFiniteTests {
    /// A trainer of a base-4 model on `count` synthetic images in `folder`, writing into `folder/run`.
    func trainer(in folder: URL, count: Int, normalization: Normalization = Normalization(), steps: Int = 4) throws -> Trainer {
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: count, size: 32)
        let dataset = try SegmentationDataset.open(SampleDiscovery.pairFolders(images: images, masks: masks).pairs,
                                                   options: DatasetOptions(inputChannels: 1, classes: 2))
        var g = SeededGenerator(seed: 1)
        let model = try UNet(.milesial(inputChannels: 1, classes: 2, baseWidth: 4, depth: 2), generator: &g)
        let loader = BatchLoader(dataset: dataset, indices: Array(0..<count), batchSize: 2, normalization: normalization,
                                 shuffle: false, seed: 1, dropLast: true)
        var options = TrainingOptions()
        options.steps = steps
        return try Trainer(model: model, metadata: ModelMetadata(), options: options, loader: loader, validation: nil,
                           outputDirectory: folder.appendingPathComponent("run").path)
    }

    @Test("a batch holding infinity (std 0) stops at step 1 naming its images, and writes no checkpoint")
    func nonFiniteBatch() throws {
        let folder = try SyntheticData.temporaryFolder("unet-trainer-inf")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try trainer(in: folder, count: 4, normalization: Normalization(mean: [0.5], std: [0]))
        let error = #expect(throws: TrainingError.self) { try trainer.run() }
        let text = try #require(error).description
        #expect(text.contains("step 1") && text.contains("NaN or infinite") && text.contains(".png"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: trainer.lastCheckpoint))
        #expect(!FileManager.default.fileExists(atPath: trainer.bestCheckpoint))
    }

    @Test("a parameter that becomes NaN is named, and save refuses to write it")
    func nonFiniteParameter() throws {
        let folder = try SyntheticData.temporaryFolder("unet-trainer-nanweight")
        defer { try? FileManager.default.removeItem(at: folder) }
        let trainer = try trainer(in: folder, count: 2)
        let head = try #require(trainer.model as? UNet).head
        head.weight.value = Tensor(shape: head.weight.value.shape, repeating: .nan)
        let path = trainer.outputDirectory + "/manual.safetensors"
        let error = #expect(throws: TrainingError.self) { try trainer.save(path, reason: "test") }
        #expect(try #require(error).description.contains("outc.conv.weight became NaN or infinite"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

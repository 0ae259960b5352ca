import Datasets
import Foundation
import Planning
import Workflows

extension TrainCommand {
    /// `--auto`: the dataset's fingerprint, the recipe planned from it and this machine's measured speed for the time
    /// budget, with the flags the user gave in place of the planner's choices; printed, decision by decision.
    /// - Parameters:
    ///   - dataset: opened at full resolution (or the given --scale).
    ///   - heldOut: the percent of the data held out for validation; nil when a validation set is given.
    func plan(_ dataset: SegmentationDataset, training: [Int], validationImages: Int, heldOut: Double?, given: GivenFlags,
              started: Date, _ progress: ProgressDisplay) throws -> Recipe
    {
        let budget = time?.seconds ?? Planner.defaultBudgetSeconds
        let fingerprint = try DatasetFingerprint.measure(dataset, indices: training)
        var constraints = RecipeConstraints()
        if given.contains("--scale") { constraints.scale = scale }
        if given.contains("--base") { constraints.base = architecture.base }
        if given.contains("--depth") { constraints.depth = architecture.depth }
        if given.contains("--crop") { constraints.crop = augmentation.crop }
        if given.contains("--batch-size") { constraints.batchSize = batchSize }
        if given.contains("--steps") { constraints.steps = steps }
        let planner = Planner(
            fingerprint: fingerprint, trainingImages: training.count, validationImages: validationImages, heldOutPercent: heldOut,
            inputChannels: given.contains("--in-channels") ? architecture.inChannels : fingerprint.sourceChannels,
            classes: given.contains("--classes") ? architecture.classes : max(dataset.table.classes, 2), budgetSeconds: budget,
            constraints: constraints)
        progress.message(String(format: "plan: %d training images; timing candidate networks for a budget of %@", training.count,
                                durationText(budget)))
        let precision = MixedPrecision.precision(amp: amp)
        var recipe = try planner.plan(probe: EngineThroughputProbe(precision: precision), spent: { Date().timeIntervalSince(started) })
        try applyGiven(given, to: &recipe)
        for line in RecipeText.lines(fingerprint, recipe) { progress.message(line) }
        return recipe
    }

    /// Writes the flags the user gave into `recipe`, each decision's reason then saying so.
    private func applyGiven(_ given: GivenFlags, to recipe: inout Recipe) throws {
        func set<Value>(_ flag: String, _ path: WritableKeyPath<Recipe, Value>, _ value: Value, _ text: String) {
            guard given.contains(flag) else { return }
            recipe[keyPath: path] = value
            recipe.setReason(flag, value: text, reason: "given")
        }
        for (flag, value) in [("--in-channels", "\(architecture.inChannels)"), ("--classes", "\(architecture.classes)"),
                              ("--scale", "\(scale)"), ("--base", "\(architecture.base)"), ("--depth", "\(architecture.depth)"),
                              ("--crop", augmentation.crop.map(String.init) ?? "none"), ("--batch-size", "\(batchSize)"),
                              ("--steps", steps.map(String.init) ?? "")] where given.contains(flag) {
            recipe.setReason(flag, value: value, reason: "given")
        }
        if let mean = try NumberList.parse(mean, "--mean") { set("--mean", \.mean, mean, self.mean!) }
        if let std = try NumberList.parse(std, "--std") { set("--std", \.std, std, self.std!) }
        if let lower = try NumberList.parse(intensityMin, "--intensity-min"), let upper = try NumberList.parse(intensityMax, "--intensity-max") {
            set("--intensity-min", \.intensityMinimum, lower, intensityMin!)
            set("--intensity-max", \.intensityMaximum, upper, intensityMax!)
        }
        guard recipe.mean.count == recipe.inputChannels, recipe.std.count == recipe.inputChannels,
              [recipe.intensityMinimum, recipe.intensityMaximum].allSatisfy({ ($0?.count ?? recipe.inputChannels) == recipe.inputChannels })
        else {
            throw CLIError(description: "--mean/--std/--intensity-min/--intensity-max: \(recipe.mean.count)/\(recipe.std.count)/"
                + "\(recipe.intensityMinimum?.count ?? 0)/\(recipe.intensityMaximum?.count ?? 0) value(s) for \(recipe.inputChannels) input channel(s)")
        }
        let lossFunction = try loss.lossFunction(classes: recipe.classes)
        set("--loss", \.loss, lossFunction.kind, lossFunction.kind.rawValue)
        set("--class-weights", \.classWeights, lossFunction.classWeights, loss.classWeights ?? "")
        var o = TrainingOptions()
        optimizer.apply(to: &o)
        set("--optimizer", \.optimizer, o.optimizer, o.optimizer.rawValue)
        set("--learning-rate", \.learningRate, o.learningRate, "\(o.learningRate)")
        set("--weight-decay", \.weightDecay, o.weightDecay, "\(o.weightDecay)")
        if given.contains("--momentum") || given.contains("--optimizer") { set("--momentum", \.momentum, o.momentum, "\(o.momentum)") }
        if given.contains("--nesterov") || given.contains("--no-nesterov") {
            recipe.nesterov = o.nesterov
            recipe.setReason("--nesterov", value: o.nesterov ? "on" : "off", reason: "given")
        }
        set("--schedule", \.schedule, o.schedule, o.schedule.rawValue)
        set("--warmup", \.warmup, o.warmupSteps, "\(o.warmupSteps)")
        set("--min-lr", \.minimumLearningRate, o.minimumLearningRate, "\(o.minimumLearningRate)")
        set("--clip", \.clip, o.gradientClipping ?? 0, "\(o.gradientClipping ?? 0)")
        let a = augmentation
        set("--foreground-crops", \.augmentation.foregroundCrops, a.foregroundCrops, "\(a.foregroundCrops)")
        set("--flips", \.augmentation.flips, true, "on")
        set("--rotate90", \.augmentation.rotate90, true, "on")
        set("--augment-rotation", \.augmentation.rotation, a.augmentRotation, "\(a.augmentRotation)")
        set("--augment-scale", \.augmentation.scale, a.augmentScale, "\(a.augmentScale)")
        set("--brightness", \.augmentation.brightness, a.brightness, "\(a.brightness)")
        set("--contrast", \.augmentation.contrast, a.contrast, "\(a.contrast)")
        set("--gamma", \.augmentation.gamma, a.gamma, "\(a.gamma)")
        if let validateEvery { set("--validate-every", \.validateEvery, validateEvery, "\(validateEvery)") }
        set("--best-metric", \.bestMetric, bestMetric, bestMetric.rawValue)
    }
}

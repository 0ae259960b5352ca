import Foundation

/// A learning-rate schedule, as `--schedule` names it. Step-driven schedules give the rate for optimizer step
/// `t` (0-based), PyTorch's `scheduler.get_last_lr()` after `t` calls to `scheduler.step()`; the plateau
/// schedule changes the rate when a validation metric stops improving. `Codable`, so checkpoints resume it.
public struct Schedule: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case constant
        /// `torch.optim.lr_scheduler.OneCycleLR` (cosine annealing, momentum cycled between 0.85 and 0.95).
        case onecycle
        /// `PolynomialLR(total_iters: totalSteps, power: 0.9)`: nnU-Net's `lr·(1 − t/T)^0.9`.
        case poly
        /// Linear warm-up from `lr/100` over `warmupSteps` (`LinearLR(start_factor=0.01)`), then
        /// `CosineAnnealingLR` to `minimumLearningRate` over the remaining steps (PyTorch's `SequentialLR`).
        case cosine
        /// `ReduceLROnPlateau(mode='max', factor, patience, threshold=1e-4)` on a validation metric (milesial).
        case plateau
    }

    public let kind: Kind
    /// The rate the schedule starts from (OneCycle's peak).
    public let baseLearningRate: Float
    public private(set) var totalSteps: Int
    public let warmupSteps: Int
    public let minimumLearningRate: Float
    /// OneCycle: the share of steps spent rising, the initial divisor and the final divisor.
    public let onecycleRise: Double
    public let onecycleDivisor: Float
    public let onecycleFinalDivisor: Float
    /// Plateau: the reduction factor and how many evaluations without improvement it waits.
    public let factor: Float
    public let patience: Int
    /// Plateau state: the best metric so far, evaluations since, and the current rate.
    public private(set) var best: Double?
    public private(set) var badEvaluations = 0
    public private(set) var plateauRate: Float

    public init(kind: Kind, learningRate: Float, totalSteps: Int, warmupSteps: Int = 0, minimumLearningRate: Float = 0,
                factor: Float = 0.1, patience: Int = 5) {
        self.kind = kind
        baseLearningRate = learningRate
        self.totalSteps = max(totalSteps, 1)
        self.warmupSteps = warmupSteps
        self.minimumLearningRate = minimumLearningRate
        onecycleRise = 0.3
        onecycleDivisor = 25
        onecycleFinalDivisor = 1e4
        self.factor = factor
        self.patience = patience
        plateauRate = learningRate
    }

    /// Whether every field is in range: a schedule decoded from a checkpoint may have been edited or crafted,
    /// and step arithmetic on an absurd `totalSteps` would overflow.
    public var isValid: Bool {
        let rates = [baseLearningRate, minimumLearningRate, plateauRate, onecycleDivisor, onecycleFinalDivisor, factor]
        return rates.allSatisfy { $0.isFinite && $0 >= 0 } && baseLearningRate > 0 && onecycleDivisor > 0
            && onecycleFinalDivisor > 0 && onecycleRise > 0 && onecycleRise < 1 && (best?.isFinite ?? true)
            && (1...1_000_000_000).contains(totalSteps) && (0...1_000_000_000).contains(warmupSteps)
            && (0...1_000_000).contains(patience) && (0...1_000_000).contains(badEvaluations)
    }

    /// The same schedule stretched or shortened to `totalSteps` (a time budget's new estimate of the steps that fit);
    /// the rate at a step moves as the new length places it.
    public func resized(totalSteps: Int) -> Schedule {
        var copy = self
        copy.totalSteps = max(totalSteps, 1)
        return copy
    }

    /// The learning rate of optimizer step `step`.
    public func learningRate(step: Int) -> Float {
        let t = Double(min(step, totalSteps))
        let base = Double(baseLearningRate)
        switch kind {
        case .constant: return baseLearningRate
        case .plateau: return plateauRate
        case .poly: return Float(base * pow(1 - t / Double(totalSteps), 0.9))
        case .cosine:
            let w = Double(warmupSteps)
            if t < w { return Float(base * (0.01 + 0.99 * t / w)) }
            let span = max(Double(totalSteps) - w, 1)
            let eta = Double(minimumLearningRate)
            return Float(eta + (base - eta) * (1 + cos(Double.pi * min(t - w, span) / span)) / 2)
        case .onecycle:
            let initial = base / Double(onecycleDivisor)
            let minimum = initial / Double(onecycleFinalDivisor)
            return Float(onecyclePhase(step, rising: (initial, base), falling: (base, minimum)))
        }
    }

    /// OneCycle's momentum (SGD momentum or Adam's β1) for step `step`; nil for other schedules.
    public func momentum(step: Int) -> Float? {
        kind == .onecycle ? Float(onecyclePhase(step, rising: (0.95, 0.85), falling: (0.85, 0.95))) : nil
    }

    /// PyTorch's OneCycleLR phases: cosine from `rising.0` to `rising.1` until step `0.3·T − 1`, then from
    /// `falling.0` to `falling.1` until step `T − 1`.
    private func onecyclePhase(_ step: Int, rising: (Double, Double), falling: (Double, Double)) -> Double {
        let firstEnd = onecycleRise * Double(totalSteps) - 1
        let lastEnd = Double(totalSteps - 1)
        func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double { end + (start - end) / 2 * (cos(Double.pi * pct) + 1) }
        let s = Double(step)
        if s <= firstEnd { return anneal(rising.0, rising.1, s / firstEnd) }
        return anneal(falling.0, falling.1, (s - firstEnd) / (lastEnd - firstEnd))
    }

    /// Reports a validation metric (higher is better); the plateau schedule may lower its rate.
    /// - Returns: the rate to use from now on.
    @discardableResult
    public mutating func report(metric: Double) -> Float {
        guard kind == .plateau else { return baseLearningRate }
        if let best, !(metric > best * (1 + 1e-4)) {
            badEvaluations += 1
        } else {
            best = metric
            badEvaluations = 0
        }
        if badEvaluations > patience {
            let reduced = max(plateauRate * factor, minimumLearningRate)
            if plateauRate - reduced > 1e-8 { plateauRate = reduced }
            badEvaluations = 0
        }
        return plateauRate
    }
}

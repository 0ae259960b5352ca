import Foundation

/// A training run's deadline and what the run has measured so far: the recent steps' durations, the last validation's
/// and checkpoint's. `Trainer` asks it before each step whether another step still leaves time for the final
/// validation and checkpoints, and how many steps fit (to stretch or shorten the schedule to the budget).
public struct TimeBudget: Sendable {
    public let deadline: Date
    /// Seconds one validation pass is assumed to take until one has been timed.
    public var estimatedValidationSeconds: Double
    /// The last `window` steps' durations.
    private var steps: [Double] = []
    public private(set) var validationSeconds: Double?
    public private(set) var checkpointSeconds: Double?
    /// Whether the run ends with the test-time flips check (`TrainingOptions.checksTestTimeFlips`): four more
    /// validation passes and a checkpoint rewritten.
    public var closesWithFlipsCheck: Bool
    static let window = 21

    public init(deadline: Date, estimatedValidationSeconds: Double = 1, closesWithFlipsCheck: Bool = false) {
        self.deadline = deadline
        self.estimatedValidationSeconds = estimatedValidationSeconds
        self.closesWithFlipsCheck = closesWithFlipsCheck
    }

    public mutating func recordStep(seconds: Double) {
        steps.append(seconds)
        if steps.count > Self.window { steps.removeFirst() }
    }

    public mutating func recordValidation(seconds: Double) { validationSeconds = seconds }
    public mutating func recordCheckpoint(seconds: Double) { checkpointSeconds = max(seconds, checkpointSeconds ?? 0) }

    /// The median of the recent steps; nil before one was timed.
    public var secondsPerStep: Double? { steps.isEmpty ? nil : steps.sorted()[steps.count / 2] }

    /// One validation pass: the last one timed, or the estimate.
    private var passSeconds: Double { validationSeconds ?? estimatedValidationSeconds }
    /// One checkpoint: the slowest timed, or half a second.
    private var checkpointWriteSeconds: Double { checkpointSeconds ?? 0.5 }

    /// What a periodic validation needs: a validation pass and two checkpoints (best and last).
    public var validationRoundSeconds: Double { passSeconds + 2 * checkpointWriteSeconds }

    /// What the end of the run needs: a validation round, and the flips check's four passes and rewrite if it has one.
    public var closingSeconds: Double { validationRoundSeconds + (closesWithFlipsCheck ? 4 * passSeconds + checkpointWriteSeconds : 0) }

    public func secondsLeft(at now: Date) -> Double { deadline.timeIntervalSince(now) }

    /// Whether one more step, then the closing validation and checkpoints, end by the deadline.
    public func allowsStep(at now: Date) -> Bool { secondsLeft(at: now) >= (secondsPerStep ?? 0) + closingSeconds }

    /// The steps that fit from `now` with a periodic validation (and its checkpoints) every `validateEvery` steps and the
    /// closing ones after (at least 0); nil before a step was timed.
    public func stepsThatFit(at now: Date, validateEvery: Int) -> Int? {
        guard let perStep = secondsPerStep, perStep > 0 else { return nil }
        let periodic = validationRoundSeconds / Double(max(validateEvery, 1))
        return max(Int((secondsLeft(at: now) - closingSeconds) / (perStep + periodic)), 0)
    }
}

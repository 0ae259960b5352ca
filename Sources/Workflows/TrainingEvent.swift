/// What the trainer reports as it goes, for progress bars and logs.
public enum TrainingEvent: Sendable {
    /// One optimizer step done.
    case step(TrainingStepRecord)
    /// A validation pass done.
    case validation(ValidationRecord)
    /// A checkpoint written.
    case checkpoint(path: String, reason: String)
    /// The first validation images and their predictions (`Trainer.validationSampleCount` of them), after each
    /// validation pass.
    case validationSamples(step: Int, [ValidationSample])
}

/// One step's numbers (a line of the metrics log).
public struct TrainingStepRecord: Codable, Sendable {
    public let step: Int
    public let epoch: Int
    public let totalSteps: Int
    public let loss: Float
    public let learningRate: Float
    public let imagesPerSecond: Double
    /// Seconds since training (or this resumed run) started.
    public let elapsed: Double
    /// Seconds left before the run's deadline (`TrainingOptions.deadline`); nil without one.
    public var secondsLeft: Double? = nil
}

/// One validation pass (a line of the metrics log).
public struct ValidationRecord: Codable, Sendable {
    public let step: Int
    public let epoch: Int
    public let loss: Float
    public let dice: Double
    public let meanIoU: Double
    public let pixelAccuracy: Double
    public let perClassIoU: [Double?]
    /// Dice of each class (class 0 included); nil for a class absent from both prediction and truth.
    public let perClassDice: [Double?]
}

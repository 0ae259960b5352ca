/// Why training stopped early. Each message is one line.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    /// The loss became NaN or infinite; the last good checkpoint is left as it was.
    case nonFiniteLoss(step: Int, loss: Float)
    /// Stopped by SIGINT or SIGTERM after saving a checkpoint.
    case interrupted(step: Int, checkpoint: String)
    case invalidCheckpoint(String)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let loss):
            "the loss became \(loss) at step \(step); stopped, the last good checkpoint is unchanged (lower --learning-rate?)"
        case .interrupted(let step, let checkpoint): "interrupted at step \(step); saved \(checkpoint) (continue with --resume)"
        case .invalidCheckpoint(let reason): reason
        }
    }
}

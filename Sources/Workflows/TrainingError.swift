/// Why training stopped early. Each message is one line.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    /// The loss became NaN or infinite; the last good checkpoint is left as it was.
    case nonFiniteLoss(step: Int, loss: Float)
    /// Stopped by SIGINT or SIGTERM after saving a checkpoint.
    case interrupted(step: Int, checkpoint: String)
    case invalidCheckpoint(String)
    /// A batch whose deepest feature map holds one value per channel: batch norm cannot normalise it.
    case batchTooSmall(shape: [Int], depth: Int)

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let loss):
            "the loss became \(loss) at step \(step); stopped, the last good checkpoint is unchanged (lower --learning-rate?)"
        case .interrupted(let step, let checkpoint): "interrupted at step \(step); saved \(checkpoint) (continue with --resume)"
        case .invalidCheckpoint(let reason): reason
        case .batchTooSmall(let shape, let depth):
            "a batch of \(shape[0]) image(s) of \(shape[3])x\(shape[2]) leaves one value per channel after \(depth) "
                + "down-samplings, which batch norm cannot normalise (PyTorch refuses it too): use --batch-size 2 or more, "
                + "or larger images (--crop, --scale)"
        }
    }
}

/// Why training stopped early. Each message is one line.
public enum TrainingError: Error, CustomStringConvertible, Sendable {
    /// The loss became NaN or infinite; the last good checkpoint is left as it was.
    case nonFiniteLoss(step: Int, loss: Float)
    /// Stopped by SIGINT or SIGTERM after saving a checkpoint.
    case interrupted(step: Int, checkpoint: String)
    case invalidCheckpoint(String)
    /// A batch whose deepest feature map holds one value per channel: batch norm cannot normalise it.
    case batchTooSmall(shape: [Int], downsampling: Int)
    /// A batch holding NaN or infinity after normalisation and augmentation, naming its samples.
    case nonFiniteBatch(step: Int, samples: [String])
    /// A parameter or running statistic that became NaN or infinite, naming it; nothing was saved.
    case nonFiniteParameter(step: Int, key: String)
    /// The output folder cannot be used: held by another run, holding a run, or not creatable.
    case outputDirectory(String)
    /// Data-parallel training: other ranks stopped at this step (a non-finite batch or loss there; they say which).
    case stoppedByOtherRanks(step: Int, ranks: Int, reason: String)
    /// Data-parallel training: the ranks' weights are no longer identical (checked at every validation).
    case replicasDiverged(step: Int, checksums: [Int64])

    public var description: String {
        switch self {
        case .nonFiniteLoss(let step, let loss):
            "the loss became \(loss) at step \(step); stopped, the last good checkpoint is unchanged (lower --learning-rate?)"
        case .interrupted(let step, let checkpoint): "interrupted at step \(step); saved \(checkpoint) (continue with --resume)"
        case .invalidCheckpoint(let reason): reason
        case .nonFiniteBatch(let step, let samples):
            "the batch of step \(step) holds NaN or infinite values (\(samples.prefix(3).joined(separator: ", "))); "
                + "check --mean, --std and the augmentation flags; the last good checkpoint is unchanged"
        case .nonFiniteParameter(let step, let key):
            "\(key) became NaN or infinite at step \(step); stopped, the last good checkpoint is unchanged "
                + "(lower --learning-rate, or keep --clip?)"
        case .outputDirectory(let reason): reason
        case .stoppedByOtherRanks(let step, let ranks, let reason):
            "\(ranks) other rank(s) stopped at step \(step): \(reason); the last good checkpoint is unchanged"
        case .replicasDiverged(let step, let checksums):
            "the ranks' weights differ at step \(step) (checksums "
                + checksums.map { String(UInt64(bitPattern: $0), radix: 16) }.joined(separator: ", ")
                + "); stopped, the last good checkpoint is unchanged"
        case .batchTooSmall(let shape, let downsampling):
            "a batch of \(shape[0]) image(s) of \(shape[3])x\(shape[2]) leaves one value per channel after down-sampling "
                + "\(downsampling)x, which batch norm cannot normalise (PyTorch refuses it too): use --batch-size 2 or more, "
                + "or larger images (--crop, --scale)"
        }
    }
}

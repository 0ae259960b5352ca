import Checkpoints
import Foundation
import Models
import Tensors
import Training

/// A training checkpoint: a native model file (loadable by `predict`, `info`, `convert`) that also holds the
/// optimizer's buffers (`optimizer.<parameter index>.<name>` tensors), the weights' moving average if there is one
/// (`optimizer.ema.<parameter index>.average`), a classic U-Net's deep supervision heads if it trains with them
/// (`optimizer.deep_supervision.<key>`: they are not part of the model) and the trainer's state (`unet.training` metadata:
/// step, optimizer numbers, schedule, best metric, the average's update count), so that `--resume` continues exactly.
struct TrainingCheckpoint {
    /// The trainer's state besides the model and the optimizer buffers.
    struct State: Codable {
        var step: Int
        var optimizer: TrainingOptions.OptimizerKind
        var optimizerNumbers: [String: Double]
        var schedule: Schedule
        var best: Double?
        var seed: UInt64
        /// The moving average's updates (nil: the file holds no average).
        var averageUpdates: Int?
    }

    /// The prefix of the moving average's tensors after `ModelFile.optimizerPrefix`.
    static let averagePrefix = "ema."

    /// What a training checkpoint holds besides the model.
    struct Contents {
        var state: State
        var optimizer: OptimizerState
        /// nil where the file holds no average.
        var average: OptimizerState?
        /// The deep supervision heads' tensors under their keys (`UNetDeepSupervisionHeads`); empty where it holds none.
        var heads: StateDict
    }

    /// Writes the checkpoint atomically.
    static func write(model: any SegmentationModel, metadata: ModelMetadata, optimizer: any Optimizer, average: ExponentialMovingAverage?,
                      heads: UNetDeepSupervisionHeads?, state: State, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var state = state
        state.optimizerNumbers = optimizer.state.numbers
        state.averageUpdates = average?.updates
        let extra = optimizer.state.tensors.map { (ModelFile.optimizerPrefix + $0.key, StoredTensor($0.tensor)) }
            + (average?.state.tensors ?? []).map { (ModelFile.optimizerPrefix + averagePrefix + $0.key, StoredTensor($0.tensor)) }
            + (heads?.namedParameters(prefix: ModelFile.optimizerPrefix + UNetDeepSupervisionHeads.prefix) ?? []).map {
                ($0.0, StoredTensor($0.1.value))
            }
        try ModelFile.write(ModelFile.storedTensors(of: model), architecture: model.architecture, metadata: metadata,
                            to: path, extraTensors: extra,
                            extraMetadata: [ModelFile.trainingKey: String(decoding: try encoder.encode(state), as: UTF8.self)])
    }

    /// Writes `loaded`, the checkpoint read from `path`, back with `metadata` as its model metadata (`unet.metadata`),
    /// its tensors and training state as they are; atomically.
    static func rewrite(_ loaded: LoadedModel, to path: String, metadata: ModelMetadata) throws {
        try ModelFile.write(loaded.tensors, architecture: loaded.model.architecture, metadata: metadata, to: path,
                            extraTensors: loaded.extraTensors, extraMetadata: loaded.fileMetadata)
    }

    /// The state, optimizer buffers, moving average and deep supervision heads of a loaded training checkpoint.
    static func read(_ loaded: LoadedModel, path: String) throws -> Contents {
        guard let text = loaded.fileMetadata[ModelFile.trainingKey],
            let state = try? JSONDecoder().decode(State.self, from: Data(text.utf8))
        else { throw TrainingError.invalidCheckpoint("\(path): not a training checkpoint (no \(ModelFile.trainingKey) metadata); use --load to start from its weights") }
        // The state comes from a file: every number must be in range before step arithmetic uses it.
        guard (0...1_000_000_000).contains(state.step), state.schedule.isValid, state.best?.isFinite ?? true,
            (0...1_000_000_000).contains(state.averageUpdates ?? 0),
            state.optimizerNumbers.values.allSatisfy({ $0.isFinite && abs($0) <= 1e15 })
        else { throw TrainingError.invalidCheckpoint("\(path): \(ModelFile.trainingKey) holds values out of range (edited?)") }
        for (key, tensor) in loaded.extraTensors where !tensor.isFinite {
            throw TrainingError.invalidCheckpoint("\(path): optimizer state \(CheckpointError.quote(key)) holds NaN or infinite values")
        }
        let tensors = loaded.extraTensors.map { (String($0.key.dropFirst(ModelFile.optimizerPrefix.count)), $0.tensor.floatTensor()) }
        func under(_ prefix: String) -> [(String, Tensor)] {
            tensors.filter { $0.0.hasPrefix(prefix) }.map { (String($0.0.dropFirst(prefix.count)), $0.1) }
        }
        let average = state.averageUpdates.map { OptimizerState(tensors: under(averagePrefix), numbers: ["updates": Double($0)]) }
        let buffers = tensors.filter { !$0.0.hasPrefix(averagePrefix) && !$0.0.hasPrefix(UNetDeepSupervisionHeads.prefix) }
        return Contents(state: state, optimizer: OptimizerState(tensors: buffers, numbers: state.optimizerNumbers), average: average,
                        heads: StateDict(under(UNetDeepSupervisionHeads.prefix)))
    }
}

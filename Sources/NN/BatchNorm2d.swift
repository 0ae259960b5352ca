import Kernels
import Tensors

/// Batch normalization over the channels of `(N, C, H, W)` input. Mirrors `torch.nn.BatchNorm2d`
/// (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html) with `affine=True`,
/// `track_running_stats=True`.
///
/// In training mode it normalises with the batch mean and biased variance and updates the running
/// statistics as PyTorch does: `running = (1 − momentum)·running + momentum·batch`, with the *unbiased*
/// batch variance (·n/(n−1), n = N·H·W) going into `running_var`, and `num_batches_tracked += 1`.
/// In eval mode it normalises with the running statistics.
public final class BatchNorm2d: Module {
    /// `(C)`, initialised to ones.
    public let weight: Parameter
    /// `(C)`, initialised to zeros.
    public let bias: Parameter
    /// `(C)` buffer, initialised to zeros.
    public let runningMean: Parameter
    /// `(C)` buffer, initialised to ones.
    public let runningVar: Parameter
    /// Scalar int64 buffer (shape `[]`), the number of training batches seen.
    public let numBatchesTracked: Parameter
    public let epsilon: Float
    public let momentum: Float
    public var isTraining = true

    public var namedTensors: [(String, Parameter)] {
        [("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar),
         ("num_batches_tracked", numBatchesTracked)]
    }

    public init(numFeatures: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        weight = Parameter(Tensor(shape: [numFeatures], repeating: 1))
        bias = Parameter(Tensor(shape: [numFeatures]))
        runningMean = Parameter(Tensor(shape: [numFeatures]), requiresGrad: false)
        runningVar = Parameter(Tensor(shape: [numFeatures], repeating: 1), requiresGrad: false)
        numBatchesTracked = Parameter(Tensor(shape: []), requiresGrad: false, isInteger: true)
        self.epsilon = epsilon
        self.momentum = momentum
    }

    /// Normalises `x`; in training mode also updates the running statistics.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try forward(x).0
    }

    /// The output and its pullback. In training mode the pullback differentiates through the batch
    /// statistics; in eval mode the running statistics are constants.
    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        let (w, b) = (weight.value, bias.value)
        guard isTraining else {
            let (mean, variance) = (runningMean.value, runningVar.value)
            let y = try batchNorm2dForwardInference(x, weight: w, bias: b, mean: mean, variance: variance,
                                                    epsilon: epsilon)
            return (y, { dy in try self.backward(dy, x, w, b, mean, variance, global: true) })
        }
        let n = x.rank == 4 ? x.shape[0] * x.shape[2] * x.shape[3] : 0
        guard n > 1 else {
            throw TensorError("batch_norm2d", "training needs more than 1 value per channel, got input \(x.shape)")
        }
        let (y, statistics) = try batchNorm2dForwardTraining(x, weight: w, bias: b, epsilon: epsilon)
        try updateRunningStatistics(statistics, count: n)
        return (y, { dy in
            try self.backward(dy, x, w, b, statistics.mean, statistics.variance, global: false)
        })
    }

    private func backward(
        _ dy: Tensor, _ x: Tensor, _ w: Tensor, _ b: Tensor, _ mean: Tensor, _ variance: Tensor, global: Bool
    ) throws -> Tensor {
        let (dx, dWeight, dBias) = try batchNorm2dBackward(
            dy, input: x, weight: w, bias: b, mean: mean, variance: variance, useGlobalStatistics: global,
            epsilon: epsilon)
        if let dWeight { try weight.accumulate(dWeight) }
        if let dBias { try bias.accumulate(dBias) }
        return dx
    }

    private func updateRunningStatistics(_ statistics: BatchStatistics, count n: Int) throws {
        let unbiased = Float(n) / Float(n - 1)
        runningMean.value = try (1 - momentum) * runningMean.value + momentum * statistics.mean
        runningVar.value = try (1 - momentum) * runningVar.value + (momentum * unbiased) * statistics.variance
        numBatchesTracked.value = numBatchesTracked.value.map { $0 + 1 }
    }
}

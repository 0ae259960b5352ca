import Tensors

/// nnU-Net's deep supervision: a network's logits at several resolutions, each scored against the targets resized to
/// its size, the losses summed with nnU-Net's weights (`DeepSupervisionWrapper` over the trainer's loss).
///
///     let supervised = DeepSupervisionLoss(loss: LossFunction())
///     let (loss, gradients) = try supervised(outputs: [logits] + network.auxiliaryOutputs, targets: targets)
///     try network.backward(gradients[0], auxiliaryGradients: Array(gradients.dropFirst()))
public struct DeepSupervisionLoss: Sendable {
    /// The loss each output is scored with.
    public var loss: LossFunction

    public init(loss: LossFunction) { self.loss = loss }

    /// nnU-Net's weights for `count` outputs, the full resolution first: `1/2^i`, the lowest resolution's 0, divided by
    /// their sum. One output weighs 1.
    public static func weights(count: Int) -> [Float] {
        guard count > 1 else { return [1] }
        var weights = (0..<count).map { Float(1) / Float(1 << min($0, 62)) }
        weights[count - 1] = 0
        let sum = weights.reduce(0, +)
        return weights.map { $0 / sum }
    }

    /// `targets` `(N, H, W)` row-major resized to `(N, height, width)` as nnU-Net resizes segmentations for deep
    /// supervision (`interpolate(mode='nearest-exact')`): output pixel `d` takes input `min(⌊(d + ½)·H/height⌋, H − 1)`
    /// per axis, the scale in float32 as PyTorch computes it. Ignored pixels (`-1`) stay ignored.
    public static func resize(_ targets: [Int32], batch: Int, from source: (height: Int, width: Int), to size: (height: Int, width: Int))
        -> [Int32]
    {
        func indices(_ input: Int, _ output: Int) -> [Int] {
            let scale = Float(input) / Float(output)
            return (0..<output).map { min(Int(((Float($0) + 0.5) * scale).rounded(.down)), input - 1) }
        }
        let (rows, columns) = (indices(source.height, size.height), indices(source.width, size.width))
        let plane = source.height * source.width
        var result: [Int32] = []
        result.reserveCapacity(batch * size.height * size.width)
        for n in 0..<batch {
            for row in rows { for column in columns { result.append(targets[n * plane + row * source.width + column]) } }
        }
        return result
    }

    /// The weighted sum of `loss` over `outputs` (each `(N, C, h, w)`, the full resolution first, whose size `targets`
    /// `(N, H, W)` has) and its gradient with respect to each output. An output weighing 0 is not scored: its
    /// gradient is zero.
    /// - Throws: `TensorError` where an output's batch or classes differ from the first's, or the loss's.
    public func callAsFunction(outputs: [Tensor], targets: [Int32]) throws -> (loss: Float, gradients: [Tensor]) {
        guard let first = outputs.first, first.rank == 4 else { throw TensorError("loss", "deep supervision needs (N, C, H, W) outputs") }
        let source = (height: first.shape[2], width: first.shape[3])
        var total: Float = 0
        var gradients: [Tensor] = []
        for (output, weight) in zip(outputs, Self.weights(count: outputs.count)) {
            guard output.rank == 4, output.shape[0...1] == first.shape[0...1] else {
                throw TensorError("loss", "deep supervision output \(output.shape) does not match the first's batch and classes \(first.shape)")
            }
            guard weight > 0 else {
                gradients.append(Tensor(shape: output.shape))
                continue
            }
            let resized = output.shape == first.shape ? targets
                : Self.resize(targets, batch: first.shape[0], from: source, to: (output.shape[2], output.shape[3]))
            let (value, gradient) = try loss(logits: output, targets: resized)
            total += weight * value
            gradients.append(gradient.map { $0 * weight })
        }
        return (total, gradients)
    }
}

import NN
import Tensors

/// An exponential moving average of a model's parameters and floating-point buffers (running statistics), kept
/// beside them: PyTorch's `AveragedModel(model, avg_fn, use_buffers=True)` with an exponential `avg_fn` whose decay
/// warms up as timm's does. Each `update()` after the first (which copies the values) sets
/// `average = d · average + (1 − d) · value` with `d = min(decay, (1 + n) / (10 + n))`, `n` the updates before it, so
/// the first weights, still random, fade within tens of steps. Integer buffers (`num_batches_tracked`) are copied.
///
/// The averages are used by exchanging them with the values in place (`exchange()`): compiled networks keep reading
/// the parameters' storage, so a validation pass between two exchanges sees the averaged model.
public final class ExponentialMovingAverage {
    public let decay: Float
    /// The parameters and buffers averaged, in the model's `namedParameters()` order.
    public let parameters: [Parameter]
    /// The average of each of `parameters`, of its shape.
    public private(set) var averages: [Tensor]
    /// Updates so far.
    public private(set) var updates = 0
    /// Whether the parameters hold the averages now (and `averages` the values), between two `exchange()` calls.
    public private(set) var isExchanged = false

    /// - Precondition: `decay` in 0..<1.
    public init(parameters: [Parameter], decay: Float) {
        precondition((0..<1).contains(decay), "ExponentialMovingAverage: decay \(decay) not in 0..<1")
        self.decay = decay
        self.parameters = parameters
        averages = parameters.map { parameter in
            var copy = Tensor(shape: parameter.value.shape)  // its own storage: the parameters' stays theirs alone
            copy.withUnsafeMutableBufferPointer { copy in parameter.value.withUnsafeBufferPointer { _ = copy.update(fromContentsOf: $0) } }
            return copy
        }
    }

    /// The decay the next update uses.
    public var currentDecay: Float { min(decay, Float(1 + updates) / Float(10 + updates)) }

    /// Moves each average towards its parameter's value (the first update copies the values).
    /// - Precondition: not exchanged.
    public func update() {
        precondition(!isExchanged, "ExponentialMovingAverage.update: the parameters hold the averages")
        let d = updates == 0 ? 0 : currentDecay
        for (index, parameter) in parameters.enumerated() {
            parameter.value.withUnsafeBufferPointer { values in
                averages[index].withUnsafeMutableBufferPointer { average in
                    if parameter.isInteger {
                        for i in values.indices { average[i] = values[i] }
                    } else if let a = average.baseAddress, let v = values.baseAddress {
                        parallelChunks(values.count) { range in for i in range { a[i] = d * a[i] + (1 - d) * v[i] } }
                    }
                }
            }
        }
        updates += 1
    }

    /// Exchanges the parameters' values with the averages, element by element (the parameters keep their storage);
    /// a second call exchanges them back.
    public func exchange() {
        for (index, parameter) in parameters.enumerated() {
            parameter.value.withUnsafeMutableBufferPointer { values in
                averages[index].withUnsafeMutableBufferPointer { average in
                    for i in values.indices { (values[i], average[i]) = (average[i], values[i]) }
                }
            }
        }
        isExchanged.toggle()
    }

    /// The averages (`<index>.average`) and the update count, for checkpoints (while exchanged, `averages` holds the
    /// parameters' own values: save the state before exchanging).
    public var state: OptimizerState {
        OptimizerState(tensors: averages.enumerated().map { ("\($0.offset).average", $0.element) }, numbers: ["updates": Double(updates)])
    }

    /// Restores what `state` returned.
    /// - Throws: `TensorError` when the state does not fit these parameters.
    public func restore(_ state: OptimizerState) throws {
        let restored = try state.buffers("average", shapes: parameters.map(\.value.shape))
        guard let count = state.numbers["updates"], count >= 0, count <= 1e12 else {
            throw TensorError("average state", "no update count in range")
        }
        (averages, updates) = (restored, Int(count))
    }
}

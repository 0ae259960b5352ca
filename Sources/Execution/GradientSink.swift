import DNNL
import NN

/// Where a training plan's backward puts each parameter's gradient (plain float32, PyTorch's layout): into the
/// parameter's `.grad`, or — for an optimizer step fused into backward — into one reused buffer that is handed
/// to a consumer as soon as the gradient is complete, so no parameter's gradient outlives its update.
final class GradientSink {
    typealias Consumer = (Parameter, UnsafeBufferPointer<Float>) throws -> Void

    private let consumer: Consumer?
    /// The reused buffer, as large as the largest parameter (consumer mode only).
    private let scratch: Memory?

    /// Gradients go into each parameter's `.grad` (allocated on first write, then overwritten in place).
    init() {
        (consumer, scratch) = (nil, nil)
    }

    /// Gradients go to `consumer` through `scratch`, valid only during the call.
    init(consumer: @escaping Consumer, scratch: Memory) {
        (self.consumer, self.scratch) = (consumer, scratch)
    }

    /// Runs `fill` on a buffer of `parameter`'s element count, row-major, then delivers the gradient it wrote.
    /// `fill` must write every element.
    func deliver(_ parameter: Parameter, _ fill: (UnsafeMutablePointer<Float>) throws -> Void) throws {
        guard let consumer, let scratch else {
            try parameter.grad.withUnsafeMutableBufferPointer { try fill($0.baseAddress!) }
            return
        }
        let count = parameter.value.count
        precondition(count * 4 <= scratch.descriptor.byteCount, "GradientSink: scratch smaller than the parameter")
        let base = scratch.dataPointer.assumingMemoryBound(to: Float.self)
        try fill(base)
        try consumer(parameter, UnsafeBufferPointer(start: base, count: count))
    }

    /// Delivers a float32 vector held by a oneDNN memory (batch-norm scale and shift gradients).
    func deliver(_ parameter: Parameter, copying source: Memory) throws {
        try deliver(parameter) { target in
            target.update(from: source.dataPointer.assumingMemoryBound(to: Float.self), count: parameter.value.count)
        }
    }
}

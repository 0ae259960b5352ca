import DNNL
import Kernels
import NN
import Tensors

/// Bilinear x2 up-sampling with aligned corners (milesial's `bilinear=True`) for the compiled network. It
/// runs the plain-layout matmul kernel between two reorders: correct, though not as fast as the transposed
/// convolution path.
final class BilinearUpsamplingStep {
    let inputShape: [Int]
    let outputShape: [Int]

    init(inputShape: [Int]) {
        self.inputShape = inputShape
        outputShape = [inputShape[0], inputShape[1], 2 * inputShape[2], 2 * inputShape[3]]
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        var x = Tensor.empty(shape: inputShape)
        try x.assign(try .whole(inputShape), from: source)
        try upsampleBilinear2dForward(x).copy(try .whole(outputShape), to: destination)
    }

    func backward(_ diffDestination: Memory, _ diffSource: Memory) throws {
        var dy = Tensor.empty(shape: outputShape)
        try dy.assign(try .whole(outputShape), from: diffDestination)
        try upsampleBilinear2dBackward(dy, inputShape: inputShape).copy(try .whole(inputShape), to: diffSource)
    }
}

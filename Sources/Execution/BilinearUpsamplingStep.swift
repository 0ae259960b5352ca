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

/// A decoder level's up-sampling in the compiled network.
enum UpsamplingStep {
    case transposed(TransposedConvolutionStep, ConvTranspose2d)
    case bilinear(BilinearUpsamplingStep)

    var outputShape: [Int] {
        switch self {
        case .transposed(let step, _): step.outputShape
        case .bilinear(let step): step.outputShape
        }
    }

    func loadParameters() throws {
        if case .transposed(let step, let layer) = self { try step.loadParameters(layer) }
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        switch self {
        case .transposed(let step, _): try step.forward(source, destination)
        case .bilinear(let step): try step.forward(source, destination)
        }
    }

    func backward(source: Memory, _ diffDestination: Memory, _ diffSource: Memory) throws {
        switch self {
        case .transposed(let step, let layer): try step.backward(source: source, diffDestination, diffSource, layer)
        case .bilinear(let step): try step.backward(diffDestination, diffSource)
        }
    }
}

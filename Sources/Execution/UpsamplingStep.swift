import DNNL
import NN

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

    /// Whether `backward` reads `source` (the transposed convolution's weight gradient does; bilinear's does not).
    var backwardReadsSource: Bool {
        if case .transposed = self { return true }
        return false
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

    func backward(source: Memory, _ diffDestination: Memory, _ diffSource: Memory, gradients sink: GradientSink) throws {
        switch self {
        case .transposed(let step, let layer):
            try step.backward(source: source, diffDestination, diffSource, layer, gradients: sink)
        case .bilinear(let step): try step.backward(diffDestination, diffSource)
        }
    }
}

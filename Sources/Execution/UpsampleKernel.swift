import DNNL
import Graph
import Kernels
import Tensors

/// `interpolate` (nearest, bilinear with or without aligned corners) in a compiled network: the input copied to a
/// plain tensor, resized by two interpolation matrices (`interpolate2dForward`), copied back; backward applies
/// the transposed matrices. Correct, though not as fast as the transposed convolution U-Nets use.
final class UpsampleKernel: NodeKernel {
    private let name: String
    private let mode: Interpolation
    private let inputShape: [Int]
    private let outputShape: [Int]

    init(_ node: Graph.Node, attributes a: UpsampleAttributes, lowering: Lowering) {
        name = node.name
        mode = switch a.mode {
        case .nearest: .nearest
        case .bilinear(let aligned): aligned ? .linearAlignedCorners : .linear
        }
        (inputShape, outputShape) = (lowering.graph.shape(node.inputs[0]), lowering.graph.shape(node.output))
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [Step("\(name): forward", reads: [inputs[0]], writes: [output]) { [self] in
            let x = try Tensor.copy(of: inputs[0].memory, shape: inputShape)
            try interpolate2dForward(x, size: Array(outputShape[2...]), mode).copy(to: output.memory)
        }]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0] else { return ([], [nil]) }
        let dx = try gradient(0)
        return ([Step("\(name): backward", reads: [outputGradient], writes: [dx]) { [self] in
            let dy = try Tensor.copy(of: outputGradient.memory, shape: outputShape)
            try interpolate2dBackward(dy, inputShape: inputShape, mode).copy(to: dx.memory)
        }], [dx])
    }
}

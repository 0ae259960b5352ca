import DNNL
import Graph
import Kernels
import Tensors

/// `interpolate` (nearest, bilinear with or without aligned corners) in a compiled network. Nearest up-sampling by
/// whole factors (every smp `Unet` decoder step at sizes divisible by 32) runs as oneDNN's resampling in the
/// activations' own layout, where its rounding is PyTorch's. Other sizes and modes copy the input to a plain
/// tensor, resize it by two interpolation matrices (`interpolate2dForward`) and copy back; backward applies the
/// transposed matrices.
final class UpsampleKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let mode: Interpolation
    private let inputShape: [Int]
    private let outputShape: [Int]
    /// Forward and backward (training) resampling primitives for whole-factor nearest up-sampling.
    private let resampling: (forward: Primitive, backward: Primitive?)?

    init(_ node: Graph.Node, attributes a: UpsampleAttributes, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        mode = switch a.mode {
        case .nearest: .nearest
        case .bilinear(let aligned): aligned ? .linearAlignedCorners : .linear
        }
        (inputShape, outputShape) = (lowering.graph.shape(node.inputs[0]), lowering.graph.shape(node.output))
        if Self.resamples(a, input: inputShape, output: outputShape) {
            let (source, destination) = (try lowering.descriptor(node.inputs[0]), try lowering.descriptor(node.output))
            let forward = try PrimitiveDescriptor.nearestResamplingForward(
                training: lowering.training, source: source, destination: destination, attributes: try lowering.attributes())
            let backward = lowering.training
                ? try Primitive(.nearestResamplingBackward(diffSource: source, diffDestination: destination, hint: forward,
                                                           attributes: try lowering.attributes()))
                : nil
            resampling = (try Primitive(forward), backward)
        } else {
            resampling = nil
        }
    }

    /// Whether up-sampling `input` to `output` (shapes) runs as oneDNN's resampling: nearest, by whole factors.
    static func resamples(_ a: UpsampleAttributes, input: [Int], output: [Int]) -> Bool {
        a.mode == .nearest && output[2] % input[2] == 0 && output[3] % input[3] == 0
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        if let (primitive, _) = resampling {
            return [.primitive("\(name): forward", primitive, reading: [.source: inputs[0]], writing: [.destination: output],
                               scratchpad: try lowering.scratchpad(primitive, name))]
        }
        return [Step("\(name): forward", reads: [inputs[0]], writes: [output]) { [self] in
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
        if let primitive = resampling?.backward {
            return ([.primitive("\(name): backward", primitive, reading: [.diffDestination: outputGradient], writing: [.diffSource: dx],
                                scratchpad: try lowering.scratchpad(primitive, name))], [dx])
        }
        return ([Step("\(name): backward", reads: [outputGradient], writes: [dx]) { [self] in
            let dy = try Tensor.copy(of: outputGradient.memory, shape: outputShape)
            try interpolate2dBackward(dy, inputShape: inputShape, mode).copy(to: dx.memory)
        }], [dx])
    }
}

import DNNL
import Graph

/// `relu`, `leaky_relu`, `relu6`, `sigmoid`, `silu` and `softmax` (over channels) in a compiled network: oneDNN eltwise or
/// softmax primitives whose backward reads the output (so the input need not be kept; SiLU's reads the input) and may
/// run in place on the output gradient.
final class ActivationKernel: NodeKernel {
    enum Function {
        case eltwise(EltwiseAlgorithm)
        case softmax
    }

    private let name: String
    private let lowering: Lowering
    private let forwardPrimitive: Primitive
    private let backwardPrimitive: Primitive?
    /// Whether backward reads the forward input (SiLU) rather than the output.
    private let readsInput: Bool

    init(_ node: Graph.Node, _ function: Function, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let data = try lowering.descriptor(node.output)
        let training = lowering.training
        switch function {
        case .eltwise(let algorithm):
            readsInput = algorithm.backwardReadsInput
            let forward = try PrimitiveDescriptor.eltwiseForward(algorithm, training: training, data: data, attributes: try lowering.attributes())
            forwardPrimitive = try Primitive(forward)
            backwardPrimitive = training
                ? try Primitive(.eltwiseBackward(algorithm, diffData: data, data: data, hint: forward, attributes: try lowering.attributes()))
                : nil
        case .softmax:
            readsInput = false
            let forward = try PrimitiveDescriptor.softmaxForward(training: training, source: data, destination: data, axis: 1)
            forwardPrimitive = try Primitive(forward)
            backwardPrimitive = training
                ? try Primitive(.softmaxBackward(diffSource: data, diffDestination: data, destination: data, axis: 1, hint: forward))
                : nil
        }
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([readsInput], !readsInput) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [.primitive("\(name): forward", forwardPrimitive, reading: [.source: inputs[0]], writing: [.destination: output],
                    scratchpad: try lowering.scratchpad(forwardPrimitive, name))]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0], let backwardPrimitive, let data = readsInput ? inputs[0] : output else { return ([], [nil]) }
        let dx = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
        let read: [Argument: Buffer] = [readsInput ? .source : .destination: data, .diffDestination: outputGradient]
        return ([.primitive("\(name): backward", backwardPrimitive, reading: read,
                            writing: [.diffSource: dx], scratchpad: try lowering.scratchpad(backwardPrimitive, name),
                            inPlace: [(dx, outputGradient)])], [dx])
    }
}

import DNNL
import Graph

/// `softmax` over channels in a compiled network (a multi-class head): oneDNN's softmax, whose backward reads the
/// output.
final class SoftmaxKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let forwardPrimitive: Primitive
    private let backwardPrimitive: Primitive?

    init(_ node: Graph.Node, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let data = try lowering.descriptor(node.output)
        let forward = try PrimitiveDescriptor.softmaxForward(training: lowering.training, source: data, destination: data, axis: 1)
        forwardPrimitive = try Primitive(forward)
        backwardPrimitive = lowering.training
            ? try Primitive(.softmaxBackward(diffSource: data, diffDestination: data, destination: data, axis: 1, hint: forward))
            : nil
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], true) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [.primitive("\(name): forward", forwardPrimitive, reading: [.source: inputs[0]], writing: [.destination: output],
                    scratchpad: try lowering.scratchpad(forwardPrimitive, name))]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0], let backwardPrimitive, let output else { return ([], [nil]) }
        let dx = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
        return ([.primitive("\(name): backward", backwardPrimitive, reading: [.destination: output, .diffDestination: outputGradient],
                            writing: [.diffSource: dx], scratchpad: try lowering.scratchpad(backwardPrimitive, name),
                            inPlace: [(dx, outputGradient)])], [dx])
    }
}

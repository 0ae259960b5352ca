import DNNL
import Graph

/// `relu`, `leaky_relu` and `sigmoid` in a compiled network, as oneDNN eltwise primitives whose backward reads
/// the output (so the input need not be kept) and may run in place on the output gradient.
final class EltwiseKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let forwardPrimitive: Primitive
    private let backwardPrimitive: Primitive?

    init(_ node: Graph.Node, algorithm: EltwiseAlgorithm, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let data = try lowering.descriptor(node.output)
        let forward = try PrimitiveDescriptor.eltwiseForward(algorithm, training: lowering.training, data: data,
                                                             attributes: try lowering.attributes())
        forwardPrimitive = try Primitive(forward)
        backwardPrimitive = lowering.training
            ? try Primitive(.eltwiseBackward(algorithm, diffData: data, data: data, hint: forward, attributes: try lowering.attributes()))
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

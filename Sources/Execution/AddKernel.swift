import DNNL
import Graph

/// `add` (a residual connection) in a compiled network: oneDNN's binary add. Both inputs' gradients are the
/// output's gradient itself.
final class AddKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let primitive: Primitive

    init(_ node: Graph.Node, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let data = try lowering.descriptor(node.output)
        primitive = try Primitive(.binaryAdd(source0: try lowering.descriptor(node.inputs[0]), source1: try lowering.descriptor(node.inputs[1]),
                                             destination: data, attributes: try lowering.attributes()))
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false, false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [.primitive("\(name): forward", primitive, reading: [.source: inputs[0], .source1: inputs[1]], writing: [.destination: output],
                    scratchpad: try lowering.scratchpad(primitive, name))]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        ([], wanted.map { $0 ? outputGradient : nil })
    }
}

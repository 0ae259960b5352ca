import DNNL
import Graph

/// `convert`: a value in another precision where a region of another precision begins (a bf16 network's fp32
/// region), one reorder; backward converts the gradient back.
final class ConvertKernel: NodeKernel {
    private let name: String
    private let forwardReorder: Reorder
    private let backwardReorder: Reorder?

    init(_ node: Graph.Node, lowering: Lowering) throws {
        name = node.name
        let (source, destination) = (try lowering.descriptor(node.inputs[0]), try lowering.descriptor(node.output))
        forwardReorder = try Reorder(from: source, to: destination)
        backwardReorder = lowering.training ? try Reorder(from: destination, to: source) : nil
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [Step("\(name): forward", reads: [inputs[0]], writes: [output]) { [forwardReorder] in
            try forwardReorder(inputs[0].memory, output.memory)
        }]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0], let backwardReorder else { return ([], [nil]) }
        let dx = try gradient(0)
        return ([Step("\(name): backward", reads: [outputGradient], writes: [dx]) { try backwardReorder(outputGradient.memory, dx.memory) }], [dx])
    }
}

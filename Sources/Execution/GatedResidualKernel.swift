import DNNL
import Graph

/// `gatedResidual` in a compiled inference network: `y = activation(x · g + r)` as oneDNN's binary multiply of `x` by
/// the channel gate `g` (broadcast), with the addition of `r` and the activation as its post-ops: one pass over the
/// maps where a multiply, an add and an activation made three. `x`, `r` and `y` share a layout; the gate keeps the
/// layout its producer chose. `x` is float; in an int8 network `r` and `y` may be 8 bits, each in the steps of the
/// range its int8 readers share (`Lowering.int8Values`: a residual stream from block to block without a float copy).
/// Inference only (`Graph.fusingGatedResiduals()`).
final class GatedResidualKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let primitive: Primitive

    init(_ node: Graph.Node, activation: Activation?, lowering: Lowering) throws {
        guard !lowering.training else { throw CompilationError("\(node.name): a gated residual is for inference only") }
        (name, self.lowering) = (node.name, lowering)
        let data = try lowering.descriptor(node.output)
        let residual = try lowering.descriptor(node.inputs[1])
        // An 8-bit residual holds `r / s_r`: the product is taken in those steps, the activation runs on them, and the
        // result is rescaled into the output's steps (1 for float).
        let (residualStep, outputStep) = (lowering.int8Values[node.inputs[1].id]?.scale ?? 1, lowering.int8Values[node.output.id]?.scale ?? 1)
        let rescale: [PrimitiveAttributes.PostOp] = residualStep == outputStep ? [] : [.linear(alpha: residualStep / outputStep)]
        primitive = try Primitive(.binaryMultiply(
            source0: try lowering.descriptor(node.inputs[0]), source1: try lowering.descriptor(node.inputs[2]), destination: data,
            attributes: try lowering.attributes([.add(residual)] + Lowering.postOps(activation, step: residualStep) + rescale,
                                                firstSourceScale: residualStep == 1 ? nil : 1 / residualStep)))
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false, false, false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [.primitive("\(name): forward", primitive, reading: [.source: inputs[0], .source1: inputs[2], .postOpSource(0): inputs[1]],
                    writing: [.destination: output], scratchpad: try lowering.scratchpad(primitive, name))]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { nil }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        throw CompilationError("\(name): a gated residual has no backward (training keeps the multiply and the add)")
    }
}

import DNNL
import Graph

/// `cat(dim=1)` in a compiled network: oneDNN's concat; backward copies each input's channels out of the output
/// gradient (a window of it, by reorder). The split-concat pass removes the concatenations a convolution reads.
final class ConcatKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let primitive: Primitive
    /// Each input's window of the output: its channels.
    private let windows: [MemoryDescriptor]
    private let inputDescriptors: [MemoryDescriptor]

    init(_ node: Graph.Node, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        inputDescriptors = try node.inputs.map { try lowering.descriptor($0) }
        let destination = try lowering.descriptor(node.output)
        primitive = try Primitive(.concat(sources: inputDescriptors, axis: 1, destination: destination))
        var offset = 0
        windows = try inputDescriptors.map { input in
            defer { offset += input.dims[1] }
            return try destination.submemory(dims: input.dims, offsets: [0, offset, 0, 0])
        }
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { (inputDescriptors.map { _ in false }, false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        var reads: [Argument: Buffer] = [:]
        for (i, input) in inputs.enumerated() { reads[.multipleSource(i)] = input }
        return [.primitive("\(name): forward", primitive, reading: reads, writing: [.destination: output],
                           scratchpad: try lowering.scratchpad(primitive, name))]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        var steps: [Step] = []
        var gradients: [Buffer?] = []
        for (i, window) in windows.enumerated() {
            guard wanted[i] else {
                gradients.append(nil)
                continue
            }
            let dx = try gradient(i)
            let part = try outputGradient.view(window)
            let reorder = try Reorder(from: window, to: inputDescriptors[i])
            steps.append(Step("\(name): backward of input \(i)", reads: [outputGradient], writes: [dx]) { try reorder(part, dx.memory) })
            gradients.append(dx)
        }
        return (steps, gradients)
    }
}

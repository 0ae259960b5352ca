import DNNL
import Graph

/// `cat(dim=1)` in a compiled network: forward reorders each input into its window of the output (its channels);
/// backward copies each input's channels out of the output gradient's window. (oneDNN 2.6's concat primitive takes
/// about 0.1 ms whatever the maps' size, ten times these reorders on a U-Net's small maps.) The split-concat pass
/// removes the concatenations a convolution reads.
final class ConcatKernel: NodeKernel {
    private let name: String
    /// Each input's window of the output: its channels.
    private let windows: [MemoryDescriptor]
    private let inputDescriptors: [MemoryDescriptor]

    init(_ node: Graph.Node, lowering: Lowering) throws {
        name = node.name
        inputDescriptors = try node.inputs.map { try lowering.descriptor($0) }
        let destination = try lowering.descriptor(node.output)
        var offset = 0
        windows = try inputDescriptors.map { input in
            defer { offset += input.dims[1] }
            return try destination.submemory(dims: input.dims, offsets: [0, offset, 0, 0])
        }
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { (inputDescriptors.map { _ in false }, false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        let copies = try zip(inputs, windows).map { input, window in
            (input, try output.view(window), try Reorder(from: input.descriptor, to: window))
        }
        return [Step("\(name): forward", reads: inputs, writes: [output]) {
            for (input, part, reorder) in copies { try reorder(input.memory, part) }
        }]
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

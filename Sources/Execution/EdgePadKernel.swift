import DNNL
import Graph
import Tensors

/// `pad` with `replicate` or `reflect` in a compiled network (MONAI's BasicUNet pads odd sizes this way): each
/// output pixel copies an input pixel — the nearest one inside, or its mirror image without the border — so
/// forward gathers and backward adds each output gradient back to its source pixel. It runs on plain tensors
/// (a copy in and out of the activation layout); zero padding, which U-Nets use between levels, is `WindowKernel`.
final class EdgePadKernel: NodeKernel {
    private let name: String
    private let inputShape: [Int]
    private let outputShape: [Int]
    /// For each output row and column, the input row and column it copies.
    private let rows: [Int]
    private let columns: [Int]

    init(_ node: Graph.Node, attributes a: PadAttributes, lowering: Lowering) {
        name = node.name
        let (input, output) = (lowering.graph.shape(node.inputs[0]), lowering.graph.shape(node.output))
        (inputShape, outputShape) = (input, output)
        func source(_ i: Int, before: Int, length: Int) -> Int {
            let j = i - before
            switch a.mode {
            case .reflect: return j < 0 ? -j : j >= length ? 2 * (length - 1) - j : j
            default: return min(max(j, 0), length - 1)
            }
        }
        rows = (0..<output[2]).map { source($0, before: a.amounts[0], length: input[2]) }
        columns = (0..<output[3]).map { source($0, before: a.amounts[2], length: input[3]) }
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [Step("\(name): forward", reads: [inputs[0]], writes: [output]) { [self] in
            let x = try Tensor.copy(of: inputs[0].memory, shape: inputShape)
            let (h, w, oh, ow) = (inputShape[2], inputShape[3], outputShape[2], outputShape[3])
            let y = Tensor(shape: outputShape) { index in
                let (plane, pixel) = (index / (oh * ow), index % (oh * ow))
                return x[flat: plane * h * w + rows[pixel / ow] * w + columns[pixel % ow]]
            }
            try y.copy(to: output.memory)
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
            var result = Tensor(shape: inputShape)
            let (h, w, oh, ow) = (inputShape[2], inputShape[3], outputShape[2], outputShape[3])
            result.withUnsafeMutableBufferPointer { target in
                dy.withUnsafeBufferPointer { source in
                    for plane in 0..<(outputShape[0] * outputShape[1]) {
                        for i in 0..<oh {
                            for j in 0..<ow {
                                target[plane * h * w + rows[i] * w + columns[j]] += source[plane * oh * ow + i * ow + j]
                            }
                        }
                    }
                }
            }
            try result.copy(to: dx.memory)
        }], [dx])
    }
}

import DNNL
import Graph

/// `depth_to_space` (a transposed convolution's 1x1 output put in place) in a compiled network: one reorder
/// between two views of the activation layout whose element order is the permutation, 6-D for NCHW and NHWC and
/// 7-D for a blocked layout (`(n, o/b, p, q, i, j, o%b)`: the block's channels stay together). Where a region of
/// another precision begins here, the reorder converts. Backward is the inverse reorder.
final class DepthToSpaceKernel: NodeKernel {
    private let name: String
    private let expandedView: MemoryDescriptor
    private let spaceView: MemoryDescriptor
    private let toSpace: Reorder
    private let toDepth: Reorder?
    private let lowering: Lowering

    init(_ node: Graph.Node, block k: Int, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let x = lowering.graph.shape(node.inputs[0])
        let (n, c, h, w) = (x[0], x[1] / (k * k), x[2], x[3])
        let (inType, outType) = (lowering.dataType(node.inputs[0]), lowering.dataType(node.output))
        let dims: [Int]
        let expandedStrides: [Int]
        let spaceStrides: [Int]
        switch lowering.formats[node.output.id] {
        case .acdb:
            // (n, p, q, i, j, o): the expanded map's channel (k·p + q)·C + o at pixel (i, j); the output's pixel (k·i + p, k·j + q).
            dims = [n, k, k, h, w, c]
            expandedStrides = [k * k * c * h * w, k * c, c, w * k * k * c, k * k * c, 1]
            spaceStrides = [k * k * c * h * w, k * w * c, c, k * k * w * c, k * c, 1]
        case .abcd:
            // (n, o, p, q, i, j).
            dims = [n, c, k, k, h, w]
            expandedStrides = [k * k * c * h * w, h * w, k * c * h * w, c * h * w, w, 1]
            spaceStrides = [k * k * c * h * w, k * k * h * w, k * w, 1, k * k * w, k]
        default:
            guard let b = lowering.channelBlock(node.output), c % b == 0 else {
                throw CompilationError("\(node.name): \(c) channels do not fill blocks of \(lowering.channelBlock(node.output) ?? 0)")
            }
            // (n, o/b, p, q, i, j, o%b).
            let (blocks, plane) = (c / b, h * w * b)
            dims = [n, blocks, k, k, h, w, b]
            expandedStrides = [k * k * c * h * w, plane, k * blocks * plane, blocks * plane, w * b, b, 1]
            spaceStrides = [k * k * c * h * w, k * k * plane, k * w * b, b, k * k * w * b, k * b, 1]
        }
        expandedView = try MemoryDescriptor(dims: dims, dataType: inType, strides: expandedStrides)
        spaceView = try MemoryDescriptor(dims: dims, dataType: outType, strides: spaceStrides)
        toSpace = try Reorder(from: expandedView, to: spaceView)
        toDepth = lowering.training ? try Reorder(from: spaceView.with(dataType: outType), to: expandedView) : nil
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        let (source, destination) = (try inputs[0].view(expandedView), try output.view(spaceView))
        return [Step("\(name): forward", reads: [inputs[0]], writes: [output]) { [toSpace] in try toSpace(source, destination) }]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0], let toDepth else { return ([], [nil]) }
        let dx = try gradient(0)
        let (source, destination) = (try outputGradient.view(spaceView), try dx.view(expandedView))
        return ([Step("\(name): backward", reads: [outputGradient], writes: [dx]) { try toDepth(source, destination) }], [dx])
    }
}

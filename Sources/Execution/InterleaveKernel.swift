import DNNL
import Graph

/// `interleave` (a transposed convolution's four phase convolutions put in place) in a compiled network: for each
/// input `k·p + q`, one reorder from it into the view of the output that holds its pixels `(k·i + p, k·j + q)` — the
/// output's own strides with the rows' and columns' taken `k` times, starting at that pixel. The views are 4-D for
/// NCHW and NHWC and 5-D for a blocked layout (`(n, o/b, i, j, o%b)`: the block's channels stay together); the inputs
/// are in the output's layout (`LayoutChoice`). Inference only.
final class InterleaveKernel: NodeKernel {
    private let name: String
    private let inputView: MemoryDescriptor
    /// Each input's view of the output and its byte offset there.
    private let outputViews: [(descriptor: MemoryDescriptor, offset: Int)]
    private let reorder: Reorder

    init(_ node: Graph.Node, block k: Int, lowering: Lowering) throws {
        name = node.name
        let x = lowering.graph.shape(node.inputs[0])
        let (n, c, h, w) = (x[0], x[1], x[2], x[3])
        let (inType, outType) = (lowering.dataType(node.inputs[0]), lowering.dataType(node.output))
        guard node.inputs.allSatisfy({ lowering.formats[$0.id] == lowering.formats[node.output.id] }) else {
            throw CompilationError("\(node.name): its inputs are not in its output's layout")
        }
        // Dimensions and dense strides of a map of `rows`x`columns` pixels; the rows' and columns' strides are the
        // third and fourth.
        let dims: [Int]
        let dense: (_ rows: Int, _ columns: Int) -> [Int]
        switch lowering.formats[node.output.id] {
        case .acdb:
            dims = [n, c, h, w]
            dense = { rows, columns in [rows * columns * c, 1, columns * c, c] }
        case .abcd:
            dims = [n, c, h, w]
            dense = { rows, columns in [c * rows * columns, rows * columns, columns, 1] }
        default:
            guard let b = lowering.channelBlock(node.output), c % b == 0 else {
                throw CompilationError("\(node.name): \(c) channels do not fill blocks of \(lowering.channelBlock(node.output) ?? 0)")
            }
            dims = [n, c / b, h, w, b]
            dense = { rows, columns in [c * rows * columns, rows * columns * b, columns * b, b, 1] }
        }
        inputView = try MemoryDescriptor(dims: dims, dataType: inType, strides: dense(h, w))
        var strides = dense(k * h, k * w)
        let (rowStride, columnStride) = (strides[2], strides[3])
        (strides[2], strides[3]) = (k * rowStride, k * columnStride)
        let view = try MemoryDescriptor(dims: dims, dataType: outType, strides: strides)
        let elementBytes = try MemoryDescriptor(dims: [1], dataType: outType, format: .a).byteCount
        outputViews = (0..<(k * k)).map { (view, ($0 / k * rowStride + $0 % k * columnStride) * elementBytes) }
        reorder = try Reorder(from: inputView, to: view)
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { (Array(repeating: false, count: outputViews.count), false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        let sources = try inputs.map { try $0.view(inputView) }
        let destinations = try outputViews.map { try output.view($0.descriptor, offset: $0.offset) }
        return [Step("\(name): forward", reads: inputs, writes: [output]) { [reorder] in
            for (source, destination) in zip(sources, destinations) { try reorder(source, destination) }
        }]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        throw CompilationError("\(name): an interleave of phase convolutions runs in inference only")
    }
}

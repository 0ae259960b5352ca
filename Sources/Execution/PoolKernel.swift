import DNNL
import Graph

/// `max_pool2d` and `avg_pool2d` in a compiled network. Training max pooling keeps oneDNN's workspace (which input
/// won each window) for backward, which reads nothing else; PyTorch's ceil mode is oneDNN's floor division with
/// the right and bottom padding extended.
final class PoolKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let isMax: Bool
    private let forwardPrimitive: Primitive
    private let backwardPrimitive: Primitive?
    private let workspace: MemoryDescriptor?
    private var savedWorkspace: Buffer?

    init(_ node: Graph.Node, attributes a: PoolAttributes, max isMax: Bool, lowering: Lowering) throws {
        (name, self.lowering, self.isMax) = (node.name, lowering, isMax)
        let input = lowering.graph.shape(node.inputs[0])
        let (source, destination) = (try lowering.descriptor(node.inputs[0]), try lowering.descriptor(node.output))
        let geometry = SpatialGeometry(
            strides: a.stride, paddingLeft: a.padding,
            paddingRight: [a.trailingPadding(input[2], axis: 0), a.trailingPadding(input[3], axis: 1)])
        let algorithm: PoolingAlgorithm = isMax ? .max : a.countIncludesPadding ? .averageIncludingPadding : .averageExcludingPadding
        let forward = try PrimitiveDescriptor.poolingForward(
            algorithm, training: lowering.training, source: source, destination: destination, kernel: a.kernel,
            geometry: geometry, attributes: try lowering.attributes())
        forwardPrimitive = try Primitive(forward)
        if lowering.training {
            backwardPrimitive = try Primitive(.poolingBackward(
                algorithm, diffSource: source, diffDestination: destination, kernel: a.kernel, geometry: geometry,
                hint: forward, attributes: try lowering.attributes()))
            let w = forward.memoryDescriptor(PrimitiveDescriptor.MemoryQuery.workspace)
            workspace = w.isEmpty || w.byteCount == 0 ? nil : w
        } else {
            (backwardPrimitive, workspace) = (nil, nil)
        }
    }

    /// Max pooling keeps its output: making it again would also make its workspace again, which costs as much.
    var cost: RecomputeCost { isMax ? .never : .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        var writes: [Argument: Buffer] = [.destination: output]
        if let workspace {
            let buffer = try lowering.buffer(name + " workspace", .state, workspace)
            savedWorkspace = buffer
            writes[.workspace] = buffer
        }
        return [.primitive("\(name): forward", forwardPrimitive, reading: [.source: inputs[0]], writing: writes,
                           scratchpad: try lowering.scratchpad(forwardPrimitive, name))]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? {
        guard !isMax else { return nil }
        return [.primitive("\(name): forward again", forwardPrimitive, reading: [.source: inputs[0]], writing: [.destination: output],
                           scratchpad: try lowering.scratchpad(forwardPrimitive, name))]
    }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0], let backwardPrimitive else { return ([], [nil]) }
        let dx = try gradient(0)
        var reads: [Argument: Buffer] = [.diffDestination: outputGradient]
        if let savedWorkspace { reads[.workspace] = savedWorkspace }
        return ([.primitive("\(name): backward", backwardPrimitive, reading: reads, writing: [.diffSource: dx],
                            scratchpad: try lowering.scratchpad(backwardPrimitive, name))], [dx])
    }
}

import DNNL

/// 2x2 max pooling, stride 2, floor mode, on the engine's layout; in training it keeps the arg-max workspace.
final class PoolingStep {
    let outputShape: [Int]
    let forwardPrimitive: Primitive
    let backwardPrimitive: Primitive?
    let workspace: Memory?

    init(inputShape: [Int], context: PlanContext) throws {
        let (type, training) = (context.activationType, context.training)
        outputShape = [inputShape[0], inputShape[1], inputShape[2] / 2, inputShape[3] / 2]
        let source = try MemoryDescriptor(dims: inputShape, dataType: type, format: context.activationFormat)
        let destination = try MemoryDescriptor(dims: outputShape, dataType: type, format: context.activationFormat)
        let geometry = SpatialGeometry(stride: 2, padding: 0)
        let forward = try PrimitiveDescriptor.maxPoolingForward(
            training: training, source: source, destination: destination, kernel: [2, 2], geometry: geometry,
            attributes: try context.attributes())
        forwardPrimitive = try context.primitive(forward)
        if training {
            backwardPrimitive = try context.primitive(.maxPoolingBackward(
                diffSource: source, diffDestination: destination, kernel: [2, 2], geometry: geometry, hint: forward,
                attributes: try context.attributes()))
            workspace = try Memory(forward.memoryDescriptor(.workspace))
        } else {
            (backwardPrimitive, workspace) = (nil, nil)
        }
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        var arguments: [Argument: Memory] = [.source: source, .destination: destination]
        if let workspace { arguments[.workspace] = workspace }
        try forwardPrimitive.execute(arguments)
    }

    func backward(_ diffDestination: Memory, _ diffSource: Memory) throws {
        guard let backwardPrimitive, let workspace else { return }
        try backwardPrimitive.execute([.diffDestination: diffDestination, .diffSource: diffSource, .workspace: workspace])
    }
}

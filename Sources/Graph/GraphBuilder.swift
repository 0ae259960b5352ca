/// Builds a `Graph` op by op, inferring each value's shape as it goes; a shape that does not fit throws a
/// `GraphError` naming the node. Model files describe their architecture with it:
///
///     let b = GraphBuilder(inputShape: [2, 3, 64, 64])
///     var x = try b.conv2d(b.input, .init(weight: "inc.0.weight", outputChannels: 16, kernel: 3, padding: 1), name: "inc.conv1")
///     x = try b.relu(x, name: "inc.relu1")
///     let graph = b.graph(output: x)
public final class GraphBuilder {
    private var nodes: [Graph.Node] = []
    private var shapes: [[Int]]
    public let input: Graph.Value

    /// - Parameter inputShape: `(N, C_in, H, W)`.
    public init(inputShape: [Int]) {
        shapes = [inputShape]
        input = Graph.Value(0)
    }

    public func shape(_ value: Graph.Value) -> [Int] { shapes[value.id] }

    /// Appends `op` on `inputs`; its output's shape is inferred.
    public func add(_ op: Op, _ inputs: [Graph.Value], name: String) throws(GraphError) -> Graph.Value {
        switch op.outputShape(inputs.map { shapes[$0.id] }) {
        case .failure(let reason):
            throw GraphError(name, "\(op.name) \(reason.reason)")
        case .success(let shape):
            shapes.append(shape)
            let output = Graph.Value(shapes.count - 1)
            nodes.append(Graph.Node(op: op, inputs: inputs, output: output, name: name))
            return output
        }
    }

    /// The graph so far, with `output` as the network's output and `auxiliaryOutputs` as the further outputs a
    /// training loss reads (`Graph.auxiliaryOutputs`).
    public func graph(output: Graph.Value, auxiliaryOutputs: [Graph.Value] = []) -> Graph {
        Graph(nodes: nodes, shapes: shapes, input: input, output: output, auxiliaryOutputs: auxiliaryOutputs)
    }

    // MARK: - PyTorch's layers

    public func conv2d(_ x: Graph.Value, _ attributes: Conv2dAttributes, name: String) throws(GraphError) -> Graph.Value {
        try add(.conv2d(attributes), [x], name: name)
    }

    public func convTranspose2d(_ x: Graph.Value, _ attributes: ConvTranspose2dAttributes, name: String)
        throws(GraphError) -> Graph.Value
    {
        try add(.convTranspose2d(attributes), [x], name: name)
    }

    public func batchNorm(_ x: Graph.Value, _ attributes: BatchNormAttributes, name: String) throws(GraphError) -> Graph.Value {
        try add(.batchNorm(attributes), [x], name: name)
    }

    public func instanceNorm(_ x: Graph.Value, _ attributes: InstanceNormAttributes, name: String)
        throws(GraphError) -> Graph.Value
    {
        try add(.instanceNorm(attributes), [x], name: name)
    }

    public func relu(_ x: Graph.Value, name: String) throws(GraphError) -> Graph.Value { try add(.relu, [x], name: name) }

    public func leakyReLU(_ x: Graph.Value, slope: Float, name: String) throws(GraphError) -> Graph.Value {
        try add(.leakyReLU(slope: slope), [x], name: name)
    }

    public func prelu(_ x: Graph.Value, weight: String, name: String) throws(GraphError) -> Graph.Value {
        try add(.prelu(weight: weight), [x], name: name)
    }

    public func maxPool(_ x: Graph.Value, _ attributes: PoolAttributes, name: String) throws(GraphError) -> Graph.Value {
        try add(.maxPool(attributes), [x], name: name)
    }

    public func avgPool(_ x: Graph.Value, _ attributes: PoolAttributes, name: String) throws(GraphError) -> Graph.Value {
        try add(.avgPool(attributes), [x], name: name)
    }

    /// `nn.AdaptiveAvgPool2d(1)`: `(N, C, H, W)` → `(N, C, 1, 1)`.
    public func globalAvgPool(_ x: Graph.Value, name: String) throws(GraphError) -> Graph.Value {
        try add(.globalAvgPool, [x], name: name)
    }

    /// Up-sampling by an integer `scale` (`nn.Upsample(scale_factor=scale)`).
    public func upsample(_ x: Graph.Value, scale: Int, mode: UpsampleAttributes.Mode, name: String)
        throws(GraphError) -> Graph.Value
    {
        let s = shapes[x.id]
        return try add(.upsample(UpsampleAttributes(mode: mode, size: [s[2] * scale, s[3] * scale])), [x], name: name)
    }

    /// Up-sampling to `size` `[H', W']` (`F.interpolate(x, size=...)`).
    public func upsample(_ x: Graph.Value, size: [Int], mode: UpsampleAttributes.Mode, name: String)
        throws(GraphError) -> Graph.Value
    {
        try add(.upsample(UpsampleAttributes(mode: mode, size: size)), [x], name: name)
    }

    public func pad(_ x: Graph.Value, _ attributes: PadAttributes, name: String) throws(GraphError) -> Graph.Value {
        try add(.pad(attributes), [x], name: name)
    }

    public func centerCrop(_ x: Graph.Value, height: Int, width: Int, name: String) throws(GraphError) -> Graph.Value {
        try add(.centerCrop(height: height, width: width), [x], name: name)
    }

    public func concat(_ xs: [Graph.Value], name: String) throws(GraphError) -> Graph.Value {
        try add(.concat, xs, name: name)
    }

    public func add(_ a: Graph.Value, _ b: Graph.Value, name: String) throws(GraphError) -> Graph.Value {
        try add(.add, [a, b], name: name)
    }

    /// `x * gate`, the gate broadcast over `x` (see `Op.multiply`).
    public func multiply(_ x: Graph.Value, _ gate: Graph.Value, name: String) throws(GraphError) -> Graph.Value {
        try add(.multiply, [x, gate], name: name)
    }

    public func silu(_ x: Graph.Value, name: String) throws(GraphError) -> Graph.Value { try add(.silu, [x], name: name) }

    public func relu6(_ x: Graph.Value, name: String) throws(GraphError) -> Graph.Value { try add(.relu6, [x], name: name) }

    /// `x` itself where `rate` is 0 (no node), else a dropout node (see `Op.dropout`).
    public func dropout(_ x: Graph.Value, rate: Float, perSample: Bool = false, name: String) throws(GraphError) -> Graph.Value {
        rate == 0 ? x : try add(.dropout(rate: rate, perSample: perSample), [x], name: name)
    }

    public func sigmoid(_ x: Graph.Value, name: String) throws(GraphError) -> Graph.Value { try add(.sigmoid, [x], name: name) }

    public func softmax(_ x: Graph.Value, name: String) throws(GraphError) -> Graph.Value { try add(.softmax, [x], name: name) }
}

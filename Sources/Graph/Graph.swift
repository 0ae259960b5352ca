/// A network as a graph of ops: the form every architecture is written in and every pass rewrites.
///
/// Values are single-assignment: each node computes one value from the values it reads. Nodes are kept in a
/// topological order (a node only reads values made before it), which is also the order a forward pass runs
/// them in. Every value has a shape, inferred when its node is added; activations are `(N, C, H, W)`.
/// Parameters are named by their PyTorch `state_dict` keys (`inc.double_conv.0.weight`), so a graph is bound to
/// a model's tensors by name when it is compiled.
///
///     let b = GraphBuilder(inputShape: [1, 3, 64, 64])
///     let y = try b.conv2d(b.input, .init(weight: "conv.weight", outputChannels: 8, kernel: 3, padding: 1), name: "conv")
///     let graph = b.graph(output: try b.relu(y, name: "relu"))
public struct Graph: Sendable, CustomStringConvertible {
    /// A value of the graph (an activation): its index into `shapes`.
    public struct Value: Hashable, Comparable, Sendable, CustomStringConvertible {
        public let id: Int
        public init(_ id: Int) { self.id = id }
        public static func < (a: Value, b: Value) -> Bool { a.id < b.id }
        public var description: String { "%\(id)" }
    }

    /// One op applied to values, making one value.
    public struct Node: Sendable {
        public var op: Op
        public var inputs: [Value]
        public var output: Value
        /// Where the node comes from in the model, for plans and errors (`down1.conv1`).
        public var name: String

        public init(op: Op, inputs: [Value], output: Value, name: String) {
            (self.op, self.inputs, self.output, self.name) = (op, inputs, output, name)
        }
    }

    /// In topological order. Passes rewrite it; every value a node reads must be made before it.
    public var nodes: [Node]
    /// The shape of every value, indexed by `Value.id`.
    public internal(set) var shapes: [[Int]]
    /// The network's input, `(N, C_in, H, W)`.
    public let input: Value
    /// The network's output (logits).
    public internal(set) var output: Value
    /// Further outputs a training loss reads besides `output`, in order: deep supervision's lower-resolution heads'
    /// logits `(N, classes, h, w)`, the largest first. Empty for most networks; inference reads `output` only.
    public internal(set) var auxiliaryOutputs: [Value]

    init(nodes: [Node], shapes: [[Int]], input: Value, output: Value, auxiliaryOutputs: [Value] = []) {
        (self.nodes, self.shapes, self.input, self.output, self.auxiliaryOutputs) = (nodes, shapes, input, output, auxiliaryOutputs)
    }

    /// Whether `value` leaves the network (`output` or one of `auxiliaryOutputs`): passes keep it a value of its own.
    public func isOutput(_ value: Value) -> Bool { value == output || auxiliaryOutputs.contains(value) }

    public func shape(_ value: Value) -> [Int] { shapes[value.id] }

    /// Whether convolutions alone read the network's input (they take it in any layout or precision they choose).
    public var onlyConvolutionsReadInput: Bool {
        nodes.allSatisfy { node in
            guard node.inputs.contains(input) else { return true }
            if case .conv2d = node.op { return true }
            return false
        }
    }

    /// The node that makes `value` (nil for the input).
    public func producer(of value: Value) -> Node? { producerIndex(of: value).map { nodes[$0] } }

    /// The index (into `nodes`) of the node that makes `value` (nil for the input).
    public func producerIndex(of value: Value) -> Int? { nodes.firstIndex { $0.output == value } }

    /// For every value, the indices (into `nodes`) of the nodes that read it, in order.
    public var consumers: [Value: [Int]] {
        var result: [Value: [Int]] = [:]
        for (index, node) in nodes.enumerated() {
            for input in Set(node.inputs) { result[input, default: []].append(index) }
        }
        return result
    }

    /// Every parameter key the graph reads, in node order, each once.
    public var parameterKeys: [String] {
        var seen = Set<String>()
        return nodes.flatMap(\.op.parameterKeys).filter { seen.insert($0).inserted }
    }

    /// A new value of `shape` (for passes that add nodes).
    public mutating func newValue(shape: [Int]) -> Value {
        shapes.append(shape)
        return Value(shapes.count - 1)
    }

    /// One line per node: `%5 = conv2d(%4) [down1.conv1] (2, 32, 16, 16)`.
    public var description: String {
        nodes.map { node in
            "\(node.output) = \(node.op.name)(\(node.inputs.map(\.description).joined(separator: ", "))) "
                + "[\(node.name)] (\(shape(node.output).map(String.init).joined(separator: ", ")))"
        }.joined(separator: "\n")
    }
}

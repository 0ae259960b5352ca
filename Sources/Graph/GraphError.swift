/// A graph that cannot be built as asked: a shape that does not fit an op. The message names the node.
public struct GraphError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ node: String, _ reason: String) { description = "\(node): \(reason)" }
}

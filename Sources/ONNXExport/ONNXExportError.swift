/// Why a model cannot be exported, in one line naming the option or the node.
public struct ONNXExportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

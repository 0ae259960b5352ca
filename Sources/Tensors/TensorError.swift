/// An error raised by a tensor operation given operands that do not fit it. The message names the
/// operation and the shapes involved, e.g. `concat: inputs have spatial sizes [2, 3, 4, 4] and [2, 5, 4, 6]`.
public struct TensorError: Error, CustomStringConvertible, Sendable {
    /// The operation that refused its operands (`"conv2d"`, `"add"`, ...).
    public let operation: String
    /// What was wrong, shapes included.
    public let reason: String

    public init(_ operation: String, _ reason: String) {
        self.operation = operation
        self.reason = reason
    }

    /// Two operands whose shapes had to agree but do not.
    public static func shapeMismatch(_ operation: String, _ lhs: [Int], _ rhs: [Int], _ what: String = "shapes")
        -> TensorError
    {
        TensorError(operation, "\(what) \(lhs) and \(rhs) do not match")
    }

    public var description: String { "\(operation): \(reason)" }
}

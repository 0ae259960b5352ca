/// A network the engine cannot compile as asked: a tensor the graph reads that the model lacks, an op on a
/// layout oneDNN has no kernel for. The message names what.
public struct CompilationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) { self.description = description }
}

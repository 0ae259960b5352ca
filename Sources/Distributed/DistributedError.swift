/// A collective that did not complete: an MPI call failed (a peer lost, the network down) or the ranks disagree.
public struct DistributedError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }
}

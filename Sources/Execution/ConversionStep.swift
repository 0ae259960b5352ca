import DNNL

/// A map converted from one precision to another, where a mixed-precision plan passes from a level in one
/// precision to a level in the other (the pooled map going down). `source` has storage of its own;
/// `destination` is the map the next level reads.
final class ConversionStep {
    let source: Memory
    let destination: Memory
    private let reorder: Reorder

    /// - Parameter type: the element type of `source` (`destination`'s layout).
    init(from type: DataType, to destination: Memory) throws {
        source = try Memory(destination.descriptor.with(dataType: type))
        self.destination = destination
        reorder = try Reorder(from: source.descriptor, to: destination.descriptor)
    }

    func callAsFunction() throws { try reorder(source, destination) }
}

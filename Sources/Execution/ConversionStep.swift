import DNNL

/// A map converted from one precision to another, where a mixed-precision plan passes from a level in one
/// precision to a level in the other (the pooled map going down): `source` in, `destination` (the map the
/// next level reads) out. In training, the gradient goes back the other way: from the next level's gradient
/// of `destination` into `diffSource` (`source`'s type).
final class ConversionStep {
    let source: Memory
    let destination: Memory
    let diffSource: Memory?
    private let reorder: Reorder
    private let backwardReorder: Reorder?

    /// - Parameter type: the element type of `source` (`destination`'s layout).
    init(from type: DataType, to destination: Memory, context: PlanContext) throws {
        let training = context.training
        // In training both are transient, in the slot of the blocks' inner gradients: `source` between an
        // encoder's forward and the next one's, `diffSource` between an encoder's backward and the pool's.
        // Inference keeps `source` (small) out of its two slots.
        let slot: PlanContext.Slot? = training ? .diffInner : nil
        source = try context.memory(destination.descriptor.with(dataType: type), slot: slot)
        self.destination = destination
        reorder = try Reorder(from: source.descriptor, to: destination.descriptor)
        diffSource = training ? try context.memory(source.descriptor, slot: slot) : nil
        backwardReorder = training ? try Reorder(from: destination.descriptor, to: source.descriptor) : nil
    }

    func callAsFunction() throws { try reorder(source, destination) }

    /// Converts `diffDestination` (the gradient of `destination`) into `diffSource`, and returns it.
    func backward(_ diffDestination: Memory) throws -> Memory {
        guard let diffSource, let backwardReorder else { return diffDestination }
        try backwardReorder(diffDestination, diffSource)
        return diffSource
    }
}

import Graph
import NN

/// A block of a MONAI network that adds itself to a graph: `Convolution` and `ResidualUnit`.
public protocol MONAIBlock: Module {
    /// The block applied to `x`, its parameters read under `key` (the block's `state_dict` prefix, without a dot).
    func apply(_ b: GraphBuilder, _ x: Graph.Value, key: String) throws -> Graph.Value
}

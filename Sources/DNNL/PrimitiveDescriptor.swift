import CDNNL

/// A primitive descriptor: oneDNN's choice of implementation and memory layouts for one operation on
/// given shapes. Mirrors `dnnl::primitive_desc`. Made by the `PrimitiveDescriptor+<Family>.swift` factories.
public final class PrimitiveDescriptor {
    let handle: dnnl_primitive_desc_t
    /// What the descriptor computes, for error messages ("convolution forward").
    public let operation: String

    init(handle: dnnl_primitive_desc_t, operation: String) {
        self.handle = handle
        self.operation = operation
    }

    deinit { Engine.exclusively { _ = dnnl_primitive_desc_destroy(handle) } }

    /// Creates a descriptor from a 2.x operation descriptor (`dnnl_*_desc_t`).
    static func create<OperationDescriptor>(
        _ operationDescriptor: OperationDescriptor, operation: String,
        attributes: PrimitiveAttributes? = nil, hint: PrimitiveDescriptor? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = operationDescriptor
        var pd: dnnl_primitive_desc_t?
        let engine = try Engine.cpu().handle
        let attributes = if let attributes { attributes } else { try PrimitiveAttributes() }
        let status = withUnsafePointer(to: &desc) { pointer in
            Engine.exclusively { dnnl_primitive_desc_create(&pd, UnsafeRawPointer(pointer), attributes.handle, engine, hint?.handle) }
        }
        try check(status, "dnnl_primitive_desc_create (\(operation))")
        return PrimitiveDescriptor(handle: pd!, operation: operation)
    }

    /// Which memory of the primitive to describe.
    public enum MemoryQuery: Sendable {
        case source, diffSource, weights, diffWeights, destination, diffDestination, workspace, scratchpad

        var raw: dnnl_query_t {
            switch self {
            case .source: dnnl_query_src_md
            case .diffSource: dnnl_query_diff_src_md
            case .weights: dnnl_query_weights_md
            case .diffWeights: dnnl_query_diff_weights_md
            case .destination: dnnl_query_dst_md
            case .diffDestination: dnnl_query_diff_dst_md
            case .workspace: dnnl_query_workspace_md
            case .scratchpad: dnnl_query_scratchpad_md
            }
        }
    }

    /// The layout the primitive chose for one of its memories; empty if it has no such memory.
    /// `index` selects among several (weights 1 = bias, source i of a concat).
    public func memoryDescriptor(_ query: MemoryQuery, index: Int = 0) -> MemoryDescriptor {
        guard let md = dnnl_primitive_desc_query_md(handle, query.raw, Int32(index)) else {
            return MemoryDescriptor(raw: dnnl_memory_desc_t())
        }
        return MemoryDescriptor(raw: md.pointee)
    }

    /// oneDNN's name for the chosen implementation, e.g. `brgconv:avx512_core`.
    public var implementationName: String {
        var name: UnsafePointer<CChar>?
        let status = withUnsafeMutablePointer(to: &name) { pointer in
            dnnl_primitive_desc_query(handle, dnnl_query_impl_info_str, 0, UnsafeMutableRawPointer(pointer))
        }
        guard status == dnnl_success, let name else { return "unknown" }
        return String(cString: name)
    }

    /// Whether oneDNN chose a Winograd kernel (`jit_wino_4x3:avx512_core`, ...).
    public var isWinograd: Bool { implementationName.contains("wino") }
}

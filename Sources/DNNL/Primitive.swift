import CDNNL

/// One execution argument slot of a primitive (`DNNL_ARG_*`).
public struct Argument: Hashable, Sendable {
    let raw: Int32
    init(_ raw: Int32) { self.raw = raw }

    public static let source = Argument(DNNL_ARG_SRC)
    public static let source1 = Argument(DNNL_ARG_SRC_1)
    public static let destination = Argument(DNNL_ARG_DST)
    public static let weights = Argument(DNNL_ARG_WEIGHTS)
    public static let bias = Argument(DNNL_ARG_BIAS)
    public static let mean = Argument(DNNL_ARG_MEAN)
    public static let variance = Argument(DNNL_ARG_VARIANCE)
    public static let scale = Argument(DNNL_ARG_SCALE)
    public static let shift = Argument(DNNL_ARG_SHIFT)
    public static let workspace = Argument(DNNL_ARG_WORKSPACE)
    public static let scratchpad = Argument(DNNL_ARG_SCRATCHPAD)
    public static let diffSource = Argument(DNNL_ARG_DIFF_SRC)
    public static let diffDestination = Argument(DNNL_ARG_DIFF_DST)
    public static let diffWeights = Argument(DNNL_ARG_DIFF_WEIGHTS)
    public static let diffBias = Argument(DNNL_ARG_DIFF_BIAS)
    public static let diffScale = Argument(DNNL_ARG_DIFF_SCALE)
    public static let diffShift = Argument(DNNL_ARG_DIFF_SHIFT)

    /// The `index`-th input of a concat or sum.
    public static func multipleSource(_ index: Int) -> Argument { Argument(DNNL_ARG_MULTIPLE_SRC + Int32(index)) }
    /// The second source of the `index`-th post-op (`PrimitiveAttributes.PostOp.add`): oneDNN's
    /// `DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1`.
    public static func postOpSource(_ index: Int) -> Argument {
        Argument(DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * Int32(index + 1) | DNNL_ARG_SRC_1)
    }
}

/// An executable oneDNN primitive. Mirrors `dnnl::primitive`. Creation JIT-compiles the kernel, so keep
/// primitives that run repeatedly; oneDNN's own primitive cache also serves identical descriptors.
public final class Primitive {
    let handle: dnnl_primitive_t
    /// The descriptor it was made from (layouts, implementation).
    public let descriptor: PrimitiveDescriptor
    /// Scratch memory passed at every execution that brings none in its arguments (every descriptor asks for a
    /// user-managed scratchpad). If it is nil when a primitive that needs scratch runs without one, the primitive
    /// allocates its own.
    public var scratchpad: Memory?

    public init(_ descriptor: PrimitiveDescriptor) throws(DNNLError) {
        var primitive: dnnl_primitive_t?
        try check(Engine.exclusively { dnnl_primitive_create(&primitive, descriptor.handle) },
                  "dnnl_primitive_create (\(descriptor.operation))")
        handle = primitive!
        self.descriptor = descriptor
        let scratch = descriptor.memoryDescriptor(.scratchpad)
        scratchpadNeeded = !scratch.isEmpty && scratch.byteCount > 0 ? scratch : nil
    }

    /// The scratch memory the primitive needs, if any.
    public let scratchpadNeeded: MemoryDescriptor?

    deinit { Engine.exclusively { _ = dnnl_primitive_destroy(handle) } }

    /// Runs the primitive on `arguments` and waits for it to finish.
    public func execute(_ arguments: [Argument: Memory]) throws(DNNLError) {
        let engine = try Engine.cpu()
        var arguments = arguments
        if arguments[.scratchpad] == nil {
            if scratchpad == nil, let scratchpadNeeded { scratchpad = try Memory(scratchpadNeeded) }
            if let scratchpad { arguments[.scratchpad] = scratchpad }
        }
        let args = arguments.map { dnnl_exec_arg_t(arg: $0.key.raw, memory: $0.value.handle) }
        try Engine.exclusively { () throws(DNNLError) in
            let status = args.withUnsafeBufferPointer { buffer in
                dnnl_primitive_execute(handle, engine.stream, Int32(buffer.count), buffer.baseAddress)
            }
            try check(status, "dnnl_primitive_execute (\(descriptor.operation))")
            try check(dnnl_stream_wait(engine.stream), "dnnl_stream_wait")
        }
    }
}

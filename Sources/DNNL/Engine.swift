import CDNNL
import Synchronization

/// The CPU engine and its in-order stream, created once and shared by every primitive.
/// oneDNN runs each primitive on OpenMP threads (`OMP_NUM_THREADS`, default: all cores).
///
/// Executions are serialized: primitives running in parallel would oversubscribe the cores (each runs on all
/// of oneDNN's OpenMP threads), and Debian's oneDNN 2.6 is built for one execution at a time. Callers on
/// other threads (data loading, tests running in parallel) wait their turn. Every primitive has a scratchpad
/// of its own or its caller's (`PrimitiveAttributes`), so a primitive may run on any thread.
public final class Engine: @unchecked Sendable {
    let handle: dnnl_engine_t
    let stream: dnnl_stream_t
    private let executionLock = Mutex<Void>(())

    private init() throws(DNNLError) {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        var stream: dnnl_stream_t?
        do {
            try check(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)),
                      "dnnl_stream_create")
        } catch {
            dnnl_engine_destroy(engine)
            throw error
        }
        handle = engine!
        self.stream = stream!
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(handle)
    }

    private static let created: Result<Engine, DNNLError> = Result { () throws(DNNLError) in try Engine() }

    /// The shared CPU engine.
    public static func cpu() throws(DNNLError) -> Engine { try created.get() }

    /// Runs `body` (primitive executions and the stream wait) while no other thread executes primitives.
    func serialized<R>(_ body: () throws(DNNLError) -> R) throws(DNNLError) -> R {
        try executionLock.withLock { _ throws(DNNLError) in try body() }
    }
}

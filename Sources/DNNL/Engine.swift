import CDNNL
import Synchronization

/// The CPU engine and its in-order stream, created once and shared by every primitive.
/// oneDNN runs each primitive on OpenMP threads (`OMP_NUM_THREADS`, default: all cores).
///
/// Everything that enters oneDNN or OpenMP runs one thread at a time (`exclusively`): creating and destroying
/// primitive descriptors and primitives, executing primitives, and `Threads.parallel`'s regions. Primitives running
/// in parallel would oversubscribe the cores (each runs on all of oneDNN's OpenMP threads), and Debian's oneDNN 2.6
/// gave wrong results now and then where only executions were serialized and other threads created primitives or
/// ran OpenMP regions meanwhile (tests compiling networks on several threads at once). Callers on other threads
/// (data loading, tests running in parallel, the server's requests) wait their turn. Every primitive has a
/// scratchpad of its own or its caller's (`PrimitiveAttributes`), so a primitive may run on any thread.
public final class Engine: @unchecked Sendable {
    let handle: dnnl_engine_t
    let stream: dnnl_stream_t

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

    private static let lock = Mutex<Void>(())

    /// Runs `body` while no other thread is in oneDNN or in an OpenMP region of ours. `body` must not call
    /// `exclusively` again (the lock is not recursive).
    static func exclusively<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        try lock.withLock { _ throws(E) in try body() }
    }
}

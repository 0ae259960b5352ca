#if canImport(Glibc)
import Glibc
#endif
import CDNNL

/// The OpenMP threads oneDNN runs on (libgomp, loaded with libdnnl). `OMP_NUM_THREADS` sets the default;
/// `setCount` changes it at run time, as `torch.set_num_threads` does.
public enum Threads {
    private typealias SetThreads = @convention(c) (Int32) -> Void
    private typealias GetThreads = @convention(c) () -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    /// Sets the number of threads for subsequent primitives; false when OpenMP is not available.
    @discardableResult
    public static func setCount(_ count: Int) -> Bool {
        guard count > 0, let set = symbol("omp_set_num_threads", as: SetThreads.self) else { return false }
        set(Int32(count))
        return true
    }

    /// The current number of threads (1 without OpenMP).
    public static var count: Int {
        symbol("omp_get_max_threads", as: GetThreads.self).map { Int($0()) } ?? 1
    }

    private typealias Region = @convention(c) (UnsafeMutableRawPointer?) -> Void
    private typealias Parallel = @convention(c) (Region, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    private static let parallelRegion = symbol("GOMP_parallel", as: Parallel.self)
    private static let threadNumber = symbol("omp_get_thread_num", as: GetThreads.self)
    private static let teamSize = symbol("omp_get_num_threads", as: GetThreads.self)

    /// Runs `body(thread, threads)` once on each thread of oneDNN's OpenMP team (libgomp's `GOMP_parallel`,
    /// what `#pragma omp parallel` compiles to). Element-wise work between primitives (an optimizer step fused
    /// into backward) then runs on the threads that are still spinning from the last primitive instead of
    /// competing with them for the cores. The region runs while no primitive does (`Engine.exclusively`), so `body`
    /// must not call oneDNN. Without libgomp: `body(0, 1)` on the calling thread.
    public static func parallel(_ body: (_ thread: Int, _ threads: Int) -> Void) {
        guard let parallelRegion, threadNumber != nil, teamSize != nil else { return body(0, 1) }
        Engine.exclusively {
            withoutActuallyEscaping(body) { body in
                var work = body
                withUnsafeMutablePointer(to: &work) { pointer in
                    parallelRegion({ context in
                        let body = context!.assumingMemoryBound(to: ((Int, Int) -> Void).self).pointee
                        body(Int(Threads.threadNumber!()), Int(Threads.teamSize!()))
                    }, pointer, 0, 0)
                }
            }
        }
    }

    /// Runs `body` over `0..<count` split into contiguous chunks, one per thread of the team (`parallel`); threads
    /// whose chunk would be empty do not call it. The chunks are disjoint, so `body` may write through the pointers it
    /// captured, each chunk its own part.
    public static func parallel(chunks count: Int, _ body: (Range<Int>) -> Void) {
        parallel { thread, threads in
            let size = (count + threads - 1) / threads
            let range = min(count, thread * size)..<min(count, (thread + 1) * size)
            if !range.isEmpty { body(range) }
        }
    }

    /// oneDNN's version, e.g. `v2.6.3`.
    public static var oneDNNVersion: String {
        guard let version = dnnl_version() else { return "unknown" }
        return "v\(version.pointee.major).\(version.pointee.minor).\(version.pointee.patch)"
    }
}

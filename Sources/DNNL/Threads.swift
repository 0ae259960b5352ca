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

    /// oneDNN's version, e.g. `v2.6.3`.
    public static var oneDNNVersion: String {
        guard let version = dnnl_version() else { return "unknown" }
        return "v\(version.pointee.major).\(version.pointee.minor).\(version.pointee.patch)"
    }
}

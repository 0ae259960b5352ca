import CDNNL

/// A oneDNN memory object: a descriptor plus a data buffer, either borrowed from Swift (a tensor's storage,
/// kept alive through `owner`) or allocated by oneDNN. Mirrors `dnnl::memory`.
public final class Memory {
    let handle: dnnl_memory_t
    /// The layout of the buffer.
    public let descriptor: MemoryDescriptor
    private var owner: AnyObject?

    /// Wraps an existing buffer of at least `descriptor.byteCount` bytes; `owner` is retained as long as
    /// this memory lives, so the buffer cannot be freed under it.
    public init(_ descriptor: MemoryDescriptor, pointer: UnsafeMutableRawPointer, owner: AnyObject?)
        throws(DNNLError)
    {
        handle = try Memory.create(descriptor, pointer)
        self.descriptor = descriptor
        self.owner = owner
    }

    /// A memory whose buffer oneDNN allocates (and frees with it).
    public init(_ descriptor: MemoryDescriptor) throws(DNNLError) {
        // DNNL_MEMORY_ALLOCATE is a macro Swift cannot import: ((void *)(size_t)-1).
        handle = try Memory.create(descriptor, UnsafeMutableRawPointer(bitPattern: -1))
        self.descriptor = descriptor
    }

    private static func create(_ descriptor: MemoryDescriptor, _ pointer: UnsafeMutableRawPointer?)
        throws(DNNLError) -> dnnl_memory_t
    {
        var md = descriptor.raw
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &md, try Engine.cpu().handle, pointer),
                  "dnnl_memory_create \(descriptor.dims)")
        return memory!
    }

    deinit { dnnl_memory_destroy(handle) }

    /// The start of the buffer.
    public var dataPointer: UnsafeMutableRawPointer {
        var pointer: UnsafeMutableRawPointer?
        dnnl_memory_get_data_handle(handle, &pointer)
        return pointer!
    }

    /// A memory over `pointer` for the duration of `body` only (no ownership): for bridging a Swift buffer that
    /// is valid just inside a `withUnsafe...` closure.
    public static func borrowing<R>(_ descriptor: MemoryDescriptor, _ pointer: UnsafeMutableRawPointer,
                                    _ body: (Memory) throws -> R) throws -> R {
        let memory = try Memory(descriptor, pointer: pointer, owner: nil)
        return try body(memory)
    }

    /// Points this memory at another buffer of the same size, retaining `owner` instead of the previous one.
    public func setDataPointer(_ pointer: UnsafeMutableRawPointer, owner: AnyObject?) throws(DNNLError) {
        try check(dnnl_memory_set_data_handle(handle, pointer), "dnnl_memory_set_data_handle")
        self.owner = owner
    }
}

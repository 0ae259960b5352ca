import CDNNL

/// Process-wide allocator settings for a program that allocates large, short-lived buffers.
public enum Allocator {
    /// Serves every allocation of 1 MiB or more with its own mapping, returned to the system when freed.
    /// glibc otherwise raises its mmap threshold after the first large frees and keeps later buffers in a heap
    /// that rarely shrinks, so a process's resident memory stays at its high-water mark.
    public static func returnLargeBuffersToSystem() {
        mallopt(M_MMAP_THRESHOLD, 1 << 20)
    }
}

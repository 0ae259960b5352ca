import DNNL

/// Runs `body` over `0..<count` split into contiguous chunks, one per thread of oneDNN's OpenMP team for large
/// counts (`Threads.parallel`), else on the calling thread. The chunks are disjoint, so `body` may write
/// through the pointers it captured.
func parallelChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
    guard count >= 1 << 16 else { return body(0..<count) }
    Threads.parallel(chunks: count, body)
}

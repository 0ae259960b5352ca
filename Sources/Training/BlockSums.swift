/// Partial sums of a loop over blocks run on several threads: `width` doubles per block, each block's written by the
/// thread that ran it. A total adds the blocks in order, so it does not depend on how they were spread over threads.
final class BlockSums {
    private let storage: UnsafeMutableBufferPointer<Double>
    private let width: Int

    init(blocks: Int, width: Int) {
        storage = .allocate(capacity: max(blocks * width, 1))
        storage.initialize(repeating: 0)
        self.width = width
    }

    deinit { storage.deallocate() }

    subscript(block: Int, column: Int) -> Double {
        get { storage[block * width + column] }
        set { storage[block * width + column] = newValue }
    }

    /// Column `column` summed over the blocks, in block order.
    func total(_ column: Int) -> Double {
        stride(from: column, to: storage.count, by: width).reduce(0) { $0 + storage[$1] }
    }
}

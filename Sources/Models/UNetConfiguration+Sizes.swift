extension UNetConfiguration {
    /// Pixels each 3x3 convolution pair removes from a side length: 0 with same padding, 4 with valid.
    public var shrinkPerBlock: Int { padding == .valid ? 4 : 0 }

    /// The spatial size of the logits for an input side length `inputSize`, or nil when the input is too small
    /// for every level to keep at least one pixel. Same padding with `.pad` merge returns `inputSize`; valid
    /// padding returns e.g. 388 for 572 at depth 4 (the paper).
    public func outputSize(forInputSize inputSize: Int) -> Int? {
        var size = inputSize
        var skips: [Int] = []
        for level in 0...depth {
            if level > 0 {
                guard size >= 2 else { return nil }
                size /= 2
            }
            size -= shrinkPerBlock
            guard size >= 1 else { return nil }
            if level < depth { skips.append(size) }
        }
        for level in (0..<depth).reversed() {
            // Pad mode brings the up-sampled map to the skip's size; crop mode the skip to the up-sampled size.
            size = (merge == .pad ? skips[level] : 2 * size) - shrinkPerBlock
            guard size >= 1 else { return nil }
        }
        return size
    }

    /// The smallest input side length the network accepts.
    public var minimumInputSize: Int {
        var size = 1
        while outputSize(forInputSize: size) == nil { size += 1 }
        return size
    }
}

/// Python's `a // 2` (floor division), which milesial's padding amounts use.
func floorHalf(_ a: Int) -> Int { a >= 0 ? a / 2 : -((-a + 1) / 2) }

import Foundation

extension UNetConfiguration {
    /// The number of trainable parameters (weights and biases, not the batch-norm statistics), counted from
    /// the channels as `UNet.init` lays them out, in floating point so that absurd widths cannot overflow.
    /// Checked before any weight is allocated.
    public var parameterCount: Double {
        let factor = upsampling == .bilinear ? 2.0 : 1.0
        func w(_ level: Int) -> Double { Double(baseWidth) * Double(1 << level) }
        /// A DoubleConv: two 3x3 convolutions, their biases or batch-norm affine parameters.
        func block(_ input: Double, _ output: Double, middle: Double? = nil) -> Double {
            let middle = middle ?? output
            let perChannel = (convolutionBias ? 1.0 : 0) + (batchNorm ? 2 : 0)
            return 9 * input * middle + 9 * middle * output + perChannel * (middle + output)
        }
        var total = block(Double(inputChannels), w(0))
        for level in 1...depth { total += block(w(level - 1), w(level) / (level == depth ? factor : 1)) }
        for level in 0..<depth {
            let (input, output) = (w(level + 1), level == 0 ? w(0) : w(level) / factor)
            total += upsampling == .bilinear
                ? block(input, output, middle: input / 2)
                : 4 * input * (input / 2) + input / 2 + block(input, output)
        }
        return total + w(0) * Double(classes) + Double(classes)
    }

    /// About how many bytes the feature maps of a batch take: every level's maps, in float32, counted a few
    /// times over (inference keeps about 3 maps a level alive, training about 8 and their gradients), and the
    /// logits. An estimate within a factor of two, for refusing what cannot fit before allocating it.
    public func activationBytesEstimate(batch: Int, height: Int, width: Int, training: Bool) -> Double {
        var total = 0.0
        for level in 0...depth {
            let pixels = Double(height) * Double(width) / Double(1 << (2 * level))
            total += Double(baseWidth) * Double(1 << level) * pixels
        }
        // The logits (and in training their gradient and the loss's maps) hold `classes` planes at full size.
        let logits = Double(classes) * Double(height) * Double(width) * (training ? 4 : 2)
        return (total * (training ? 16 : 6) + logits) * Double(batch) * 4
    }

    /// Refuses an image whose class scores (the sum of windows, the logits at the image's size, the
    /// probabilities: three float32 maps of `classes` planes) could not fit in this machine's memory.
    /// - Throws: `UNetError.invalidInput` with the sizes and the memory.
    public func checkOutputMemory(height: Int, width: Int) throws(UNetError) {
        try Self.checkOutputMemory(classes: classes, height: height, width: width)
    }

    /// `checkOutputMemory(height:width:)` for any network of `classes` classes.
    static func checkOutputMemory(classes: Int, height: Int, width: Int) throws(UNetError) {
        let needed = 3 * 4 * Double(classes) * Double(height) * Double(width)
        try Self.check(needed, "the \(classes) class scores of a \(width)x\(height) image need about %.0f GB")
    }

    /// Throws when `bytes` are more than twice the physical memory; `format` holds one `%.0f` for the gigabytes.
    static func check(_ bytes: Double, _ format: String) throws(UNetError) {
        let physical = Double(ProcessInfo.processInfo.physicalMemory)
        guard bytes <= 2 * physical else {
            throw .invalidInput(String(format: format, bytes / 1e9) + String(format: "; this machine has %.0f GB: lower the "
                + "batch size or the image size (--crop, --scale, --tile)", physical / 1e9))
        }
    }

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

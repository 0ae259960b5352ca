/// A bfloat16 value: the upper half of a float32's bits (oneDNN's `bf16`).
struct BFloat16: MapElement {
    var bits: UInt16

    /// Rounds to the nearest bfloat16, ties to even (as oneDNN and PyTorch convert); NaN stays NaN.
    @inline(__always) init(float value: Float) {
        let raw = value.bitPattern
        if value.isNaN {
            bits = UInt16(truncatingIfNeeded: raw >> 16) | 0x40
        } else {
            bits = UInt16(truncatingIfNeeded: (raw &+ 0x7FFF &+ ((raw >> 16) & 1)) >> 16)
        }
    }

    @inline(__always) var float: Float { Float(bitPattern: UInt32(bits) << 16) }
}

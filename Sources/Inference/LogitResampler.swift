import Tensors

/// Resizes logits back to an image's size as milesial's `predict.py` does: `F.interpolate(mode="bilinear")`
/// with `align_corners=False` (half-pixel centres, source coordinates clamped at 0, no antialiasing).
public enum LogitResampler {
    /// `(N, C, H, W)` → `(N, C, height, width)`; the input itself when the size is unchanged.
    public static func resize(_ x: Tensor, height: Int, width: Int) throws -> Tensor {
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard (h, w) != (height, width) else { return x }
        func taps(_ out: Int, _ size: Int) -> [(Int, Int, Float)] {
            let ratio = Float(size) / Float(out)
            return (0..<out).map { i in
                let source = max((Float(i) + 0.5) * ratio - 0.5, 0)
                let low = min(Int(source), size - 1)
                let high = min(low + 1, size - 1)
                return (low, high, source - Float(low))
            }
        }
        let (rows, columns) = (taps(height, h), taps(width, w))
        var out = [Float](repeating: 0, count: n * c * height * width)
        x.withUnsafeBufferPointer { input in
            for p in 0..<(n * c) {
                let source = input.baseAddress! + p * h * w
                for (y, (y0, y1, fy)) in rows.enumerated() {
                    let target = (p * height + y) * width
                    for (xx, (x0, x1, fx)) in columns.enumerated() {
                        let top = source[y0 * w + x0] * (1 - fx) + source[y0 * w + x1] * fx
                        let bottom = source[y1 * w + x0] * (1 - fx) + source[y1 * w + x1] * fx
                        out[target + xx] = top * (1 - fy) + bottom * fy
                    }
                }
            }
        }
        return try Tensor(shape: [n, c, height, width], scalars: out)
    }
}

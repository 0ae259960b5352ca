/// Index arithmetic of mirrored (reflect) borders, as `numpy.pad(mode="reflect")` and PyTorch's reflection
/// padding: the edge pixel is not repeated (`… 2 1 | 0 1 2 … n−1 | n−2 …`), and reflection repeats for
/// borders wider than the image.
enum Mirror {
    /// The source index of position `i` on an axis of `n` pixels.
    static func index(_ i: Int, _ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let period = 2 * (n - 1)
        var j = i % period
        if j < 0 { j += period }
        return j < n ? j : period - j
    }

    /// Copies the `height × width` window of the CHW `planes` (of `channels × rows × columns`) whose top-left is
    /// (`top`, `left`), mirroring outside, into `destination` (CHW).
    static func window(
        _ planes: UnsafeBufferPointer<Float>, channels: Int, rows: Int, columns: Int, top: Int, left: Int, height: Int,
        width: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        let sourceColumns = (0..<width).map { index(left + $0, columns) }
        for c in 0..<channels {
            for y in 0..<height {
                let sourceRow = c * rows * columns + index(top + y, rows) * columns
                let out = destination + (c * height + y) * width
                for x in 0..<width { out[x] = planes[sourceRow + sourceColumns[x]] }
            }
        }
    }
}

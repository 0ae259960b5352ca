/// Index arithmetic of mirrored (reflect) borders, as `numpy.pad(mode="reflect")` and PyTorch's reflection
/// padding: the edge pixel is not repeated (`… 2 1 | 0 1 2 … n−1 | n−2 …`), and reflection repeats for
/// borders wider than the image; or zeros outside (nnU-Net's padding).
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
    /// (`top`, `left`), mirroring outside (or, with `zeros`, zero outside), into `destination` (CHW).
    static func window(
        _ planes: UnsafeBufferPointer<Float>, channels: Int, rows: Int, columns: Int, top: Int, left: Int, height: Int,
        width: Int, zeros: Bool = false, into destination: UnsafeMutablePointer<Float>
    ) {
        func source(_ i: Int, _ n: Int) -> Int? { zeros ? ((0..<n).contains(i) ? i : nil) : index(i, n) }
        let sourceColumns = (0..<width).map { source(left + $0, columns) }
        for c in 0..<channels {
            for y in 0..<height {
                let out = destination + (c * height + y) * width
                guard let row = source(top + y, rows) else {
                    out.update(repeating: 0, count: width)
                    continue
                }
                let sourceRow = c * rows * columns + row * columns
                for x in 0..<width { out[x] = sourceColumns[x].map { planes[sourceRow + $0] } ?? 0 }
            }
        }
    }
}

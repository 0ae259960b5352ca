/// Where the windows of a sliding-window prediction go along one axis.
public enum TileGrid {
    /// Window origins covering `0..<length` with windows of `tile` pixels whose stride is at most
    /// `tile · (1 − overlap)` (nnU-Net's rule): the first window starts at 0, the last ends at `length`, the others
    /// are spread evenly between, each rounded half to even as nnU-Net rounds them, then down to a multiple of
    /// `alignment` (a U-Net is shift-equivariant only under shifts by `2^depth`). A length shorter than the window
    /// gives the one origin 0.
    /// - Precondition: `tile > 0`, `0 ≤ overlap < 1`, `alignment > 0`.
    public static func origins(length: Int, tile: Int, overlap: Double, alignment: Int = 1) -> [Int] {
        guard length > tile else { return [0] }
        let stride = max(Double(tile) * (1 - overlap), 1)
        let count = Int((Double(length - tile) / stride).rounded(.up)) + 1
        let last = length - tile
        let step = Double(last) / Double(count - 1)
        var origins = (0..<count).map { i in Int((step * Double(i)).rounded(.toNearestOrEven)) / alignment * alignment }
        origins[count - 1] = last
        return origins.reduce(into: []) { if $0.last != $1 { $0.append($1) } }
    }

    /// Origins for exact overlap-tile prediction with valid convolutions: windows of `tile` output pixels at a
    /// stride that is a multiple of `alignment` and at most `tile · (1 − overlap)`, from 0 until they cover `length`.
    /// Unlike `origins`, the last window may reach past `length` (its input is mirrored), so every stride stays
    /// aligned and the result is exactly a single pass over the mirrored image.
    public static func alignedOrigins(length: Int, tile: Int, overlap: Double, alignment: Int) -> [Int] {
        let stride = max(Int(Double(tile) * (1 - overlap)) / alignment * alignment, alignment)
        var origins = [0]
        while origins[origins.count - 1] + tile < length { origins.append(origins[origins.count - 1] + stride) }
        return origins
    }
}

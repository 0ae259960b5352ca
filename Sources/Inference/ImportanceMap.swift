import Foundation

/// How the windows of a sliding-window prediction are weighted where they overlap.
public enum Blending: String, Sendable, CaseIterable {
    /// Every pixel of a window counts the same (MONAI's `mode="constant"`).
    case constant
    /// A Gaussian centred on the window, σ = 1/8 of its size, normalised to a peak of 1 and floored at its smallest
    /// positive value, so that borders, where a network sees least context, count least (nnU-Net, MONAI's
    /// `mode="gaussian"`).
    case gaussian

    /// The `height × width` weights of one window, row-major.
    public func weights(height: Int, width: Int) -> [Float] {
        guard self == .gaussian else { return [Float](repeating: 1, count: height * width) }
        func axis(_ n: Int) -> [Double] {
            let sigma = Double(n) / 8
            let center = Double(n / 2)
            return (0..<n).map { exp(-(Double($0) - center) * (Double($0) - center) / (2 * sigma * sigma)) }
        }
        let (ys, xs) = (axis(height), axis(width))
        let peak = ys.max()! * xs.max()!
        var map = [Float](repeating: 0, count: height * width)
        for y in 0..<height { for x in 0..<width { map[y * width + x] = Float(ys[y] * xs[x] / peak) } }
        let floor = map.filter { $0 > 0 }.min() ?? 1
        return map.map { max($0, floor) }
    }
}

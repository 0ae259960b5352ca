/// Max or average pooling. Mirrors `torch.nn.MaxPool2d` and `torch.nn.AvgPool2d` (dilation 1): `(N, C, H, W)` →
/// `(N, C, (H + 2·padding − kernel) / stride + 1, …)`, the division rounded up with `ceilMode` (a window may then
/// start in the right padding but not past it, as PyTorch rules).
public struct PoolAttributes: Hashable, Sendable {
    public var kernel: [Int]
    public var stride: [Int]
    public var padding: [Int]
    public var ceilMode: Bool
    /// Average pooling: whether padded zeros count in the divisor (PyTorch's default `count_include_pad=True`).
    public var countIncludesPadding: Bool

    public init(kernel: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false, countIncludesPadding: Bool = true) {
        (self.kernel, self.stride, self.padding) = ([kernel, kernel], [stride ?? kernel, stride ?? kernel], [padding, padding])
        (self.ceilMode, self.countIncludesPadding) = (ceilMode, countIncludesPadding)
    }

    /// Windows of `height` × `width` side by side, the kernel its own stride (`nn.AvgPool2d((height, width))`).
    public static func windows(height: Int, width: Int) -> PoolAttributes {
        var attributes = PoolAttributes(kernel: 1)
        (attributes.kernel, attributes.stride) = ([height, width], [height, width])
        return attributes
    }

    /// One window over a whole `height` × `width` map (`nn.AdaptiveAvgPool2d(1)`).
    public static func global(height: Int, width: Int) -> PoolAttributes { windows(height: height, width: width) }

    /// Output length of one spatial axis of length `length`.
    public func outputLength(_ length: Int, axis: Int) -> Int? {
        let (k, s, p) = (kernel[axis], stride[axis], padding[axis])
        guard k >= 1, s >= 1, p >= 0, 2 * p <= k, length + 2 * p >= k else { return nil }
        var out = (length + 2 * p - k + (ceilMode ? s - 1 : 0)) / s + 1
        // PyTorch: the last window must start inside the input or the left padding.
        if ceilMode, (out - 1) * s >= length + p { out -= 1 }
        return out
    }

    /// The right/bottom padding oneDNN needs so that its floor division gives `outputLength` (ceil mode).
    public func trailingPadding(_ length: Int, axis: Int) -> Int {
        guard let out = outputLength(length, axis: axis) else { return padding[axis] }
        return max((out - 1) * stride[axis] + kernel[axis] - length - padding[axis], padding[axis])
    }
}

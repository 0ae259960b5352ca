/// A 2-D convolution. Mirrors `torch.nn.Conv2d` (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html):
/// weight `(C_out, C_in / groups, kH, kW)`, bias `(C_out)`; input `(N, C_in, H, W)` →
/// `(N, C_out, (H + top + bottom − dilation·(kH − 1) − 1) / stride + 1, …)`.
///
/// Passes add what PyTorch's module does not have: the slice of the weight's input channels this convolution
/// multiplies (a decoder's first convolution split over its concatenated inputs), accumulation into a partial
/// sum (the second input), a fused activation, an eval-mode batch norm folded in, and the weight's source
/// (a transposed convolution's weight rearranged into a 1x1 one, an up-sampled map's convolution read as phases).
public struct Conv2dAttributes: Hashable, Sendable {
    public var weight: String
    public var bias: String?
    public var outputChannels: Int
    /// `[kH, kW]`.
    public var kernel: [Int]
    /// `[sH, sW]`.
    public var stride: [Int]
    /// Zero padding: `[top, bottom, left, right]`.
    public var padding: [Int]
    /// `[dH, dW]`.
    public var dilation: [Int]
    public var groups: Int

    /// Input channels `range` of the weight (the rest belong to other convolutions summed into the same output);
    /// nil: all of them.
    public var weightInputChannels: Range<Int>?
    /// Adds into the partial sum (or, with all of the weight's input channels, the residual map) given as the second
    /// input (oneDNN's `sum` post-op), whose storage it reuses.
    public var accumulates = false
    /// Applied to the result (after a folded batch norm).
    public var activation: Activation?
    /// An eval-mode batch norm applied to the result, folded into the weight and bias.
    public var foldedNorm: BatchNormAttributes?
    /// Where the weight comes from.
    public var weightSource: WeightSource = .conv2d

    /// How the convolution's weight is read from the model.
    public enum WeightSource: Hashable, Sendable {
        /// A `Conv2d` weight `(C_out, C_in, kH, kW)`.
        case conv2d
        /// A `ConvTranspose2d(C_in, C_out, k, stride k)` weight `(C_in, C_out, k, k)` read as the 1x1 weight
        /// `W1[(k·p + q)·C_out + o, c] = W[c, o, p, q]`, whose output a depth-to-space reorder puts in place; the
        /// bias is repeated for each of the `k·k` positions.
        case transposedAsPointwise(block: Int, outputChannels: Int)
        /// A `ConvTranspose2d(C_in, C_out, 3, stride 2, padding 1, output_padding 1)` weight `(C_in, C_out, 3, 3)` read
        /// as the 2x2 weight `W2[(2·a + b)·C_out + o, c, dy, dx] = W[c, o, a + 1 − 2·dy, b + 1 − 2·dx]` (0 where a tap
        /// falls outside 0...2) of a convolution padded by 1 at the bottom and right: output pixel `(2m + a, 2n + b)`
        /// reads input pixels `(m + dy, n + dx)`, and a depth-to-space reorder puts each block in place; the bias is
        /// repeated for each of the 4 positions. Inference only.
        case transposedAsSubpixel(outputChannels: Int)
        /// The same transposed convolution's phase `(a, b)`, the output pixels `(2m + a, 2n + b)`: the `(1 + a)x(1 + b)`
        /// weight `Wp[o, c, dy, dx] = W[c, o, a + 1 − 2·dy, b + 1 − 2·dx]` of a convolution padded by `a` at the bottom
        /// and `b` at the right, the taps of `transposedAsSubpixel`'s rows `(2·a + b)·C_out...` that are not 0; an
        /// interleave puts the four phases in place. Inference only.
        case transposedAsPhase(row: Int, column: Int, outputChannels: Int)
        /// A `Conv2d` weight `(C_out, C_in, 3, 3)` of a stride-1 convolution padded by 1 that reads a nearest 2x
        /// up-sampling, read for the output pixels `(2m + a, 2n + b)` as a 2x2 weight over the map before the
        /// up-sampling: the taps that land on the same input pixel summed, `Wp[o, c, dy, dx] = Σ W[o, c, ty, tx]` over
        /// `ty` in `T(a, dy)` and `tx` in `T(b, dx)`, where `T(0, 0) = {0}`, `T(0, 1) = {1, 2}`, `T(1, 0) = {0, 1}`,
        /// `T(1, 1) = {2}`, of a convolution padded by `1 − a` at the top, `a` at the bottom, `1 − b` at the left and `b`
        /// at the right; an interleave puts the four phases in place. Inference only.
        case upsampledAsPhase(row: Int, column: Int)
        /// A `Conv2d` weight `(C_out, C_in, k, k)` of a stride-1 convolution padded by `(k − 1)/2` (odd `k`), read as
        /// the `(k + r − 1)`-square weight of a stride-`r` convolution computing the output's `r×r` blocks at once:
        /// `Wr[(r·a + b)·C_out + o, c, u, v] = W[o, c, u − a, v − b]` (0 where a tap falls outside the kernel), block
        /// `(i, j)`'s channel `(r·a + b)·C_out + o` being output pixel `(r·i + a, r·j + b)`, which a depth-to-space reorder
        /// puts in place; the bias is repeated for each of the `r²` positions. Inference only.
        case narrowAsPhases(block: Int, outputChannels: Int)
    }

    /// Whether the convolution can multiply a slice of its weight's input channels (`weightInputChannels`, as
    /// `Graph.splittingConcatenations()` makes): a `Conv2d` weight, and a transposed convolution's read as a 2x2 one
    /// (inference); not one read as 1x1, whose training gradient is rearranged for the whole weight.
    public var splitsOverInputChannels: Bool {
        switch weightSource {
        case .conv2d, .transposedAsSubpixel, .transposedAsPhase, .upsampledAsPhase: true
        case .transposedAsPointwise, .narrowAsPhases: false
        }
    }

    public init(weight: String, bias: String? = nil, outputChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1) {
        self.init(weight: weight, bias: bias, outputChannels: outputChannels, kernel: [kernel, kernel],
                  stride: [stride, stride], padding: [padding, padding, padding, padding], dilation: [dilation, dilation],
                  groups: groups)
    }

    public init(weight: String, bias: String?, outputChannels: Int, kernel: [Int], stride: [Int], padding: [Int],
                dilation: [Int], groups: Int) {
        (self.weight, self.bias, self.outputChannels, self.kernel) = (weight, bias, outputChannels, kernel)
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
    }

    /// The output shape for input `(N, C, H, W)`, or why there is none.
    func outputShape(_ input: [Int]) -> Result<[Int], ShapeError> {
        let channels = weightInputChannels?.count ?? input[1]
        guard input[1] == channels else {
            return .failure("takes \(channels) input channels, got \(input[1])")
        }
        guard groups >= 1, channels % groups == 0, outputChannels % groups == 0 else {
            return .failure("\(channels) input and \(outputChannels) output channels do not split into \(groups) groups")
        }
        var size: [Int] = []
        for axis in 0..<2 {
            let padded = input[2 + axis] + padding[2 * axis] + padding[2 * axis + 1]
            let span = dilation[axis] * (kernel[axis] - 1) + 1
            guard stride[axis] >= 1, padded >= span else {
                return .failure("a \(kernel[0])x\(kernel[1]) kernel does not fit \(input[2])x\(input[3]) with padding \(padding)")
            }
            size.append((padded - span) / stride[axis] + 1)
        }
        return .success([input[0], outputChannels] + size)
    }
}

/// A 2-D transposed convolution. Mirrors `torch.nn.ConvTranspose2d`
/// (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html): weight `(C_in, C_out / groups, kH, kW)`,
/// bias `(C_out)`; input `(N, C_in, H, W)` → `(N, C_out, (H − 1)·stride − 2·padding + dilation·(kH − 1) + output_padding + 1, …)`.
public struct ConvTranspose2dAttributes: Hashable, Sendable {
    public var weight: String
    public var bias: String?
    public var outputChannels: Int
    public var kernel: [Int]
    public var stride: [Int]
    /// `[pH, pW]`, removed from both sides.
    public var padding: [Int]
    public var outputPadding: [Int]
    public var dilation: [Int]
    public var groups: Int

    public init(weight: String, bias: String? = nil, outputChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        (self.weight, self.bias, self.outputChannels) = (weight, bias, outputChannels)
        (self.kernel, self.stride, self.padding) = ([kernel, kernel], [stride, stride], [padding, padding])
        (self.outputPadding, self.dilation, self.groups) = ([outputPadding, outputPadding], [dilation, dilation], groups)
    }

    /// Whether it is kernel 3, stride 2, padding 1 and output padding 1, without dilation or groups (MONAI's
    /// up-sampling: the output twice the input's size): a 2x2 convolution to `4·C_out` channels, one `C_out` for each
    /// output pixel's position in its 2x2 block (the taps that do not reach it zero), followed by a depth-to-space
    /// rearrangement computes it exactly.
    public var isSubpixel: Bool {
        kernel == [3, 3] && stride == [2, 2] && padding == [1, 1] && outputPadding == [1, 1] && dilation == [1, 1] && groups == 1
    }

    /// Whether it is `kernel == stride`, no padding, dilation or groups: a 1x1 convolution followed by a
    /// depth-to-space rearrangement computes it exactly.
    public var isDepthToSpace: Bool {
        kernel[0] == kernel[1] && stride == kernel && padding == [0, 0] && outputPadding == [0, 0]
            && dilation == [1, 1] && groups == 1
    }

    func outputShape(_ input: [Int]) -> Result<[Int], ShapeError> {
        guard groups >= 1, input[1] % groups == 0, outputChannels % groups == 0 else {
            return .failure("\(input[1]) input and \(outputChannels) output channels do not split into \(groups) groups")
        }
        var size: [Int] = []
        for axis in 0..<2 {
            guard stride[axis] >= 1, outputPadding[axis] < max(stride[axis], dilation[axis]) else {
                return .failure("output padding \(outputPadding) must be smaller than the stride or the dilation")
            }
            let length = (input[2 + axis] - 1) * stride[axis] - 2 * padding[axis] + dilation[axis] * (kernel[axis] - 1)
                + outputPadding[axis] + 1
            guard length >= 1 else { return .failure("padding \(padding) leaves no output for \(input[2])x\(input[3])") }
            size.append(length)
        }
        return .success([input[0], outputChannels] + size)
    }
}

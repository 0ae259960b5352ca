import Graph
import NN
import Tensors

/// dynamic-network-architectures' `BasicBlockD` (ResNet-D) as nnU-Net's residual encoders use it: `conv1`
/// (strided, with LeakyReLU), `conv2` (no nonlinearity), and a `skip` where the stride or the width changes: a
/// average pooling of kernel = stride (`skip.0`, no tensors) then a 1x1 convolution without bias and a norm
/// (`skip.1`, or `skip.0` without pooling); LeakyReLU(conv2 + skip). `(N, C_in, H, W)` → `(N, C_out, H / sH, W / sW)`.
public final class BasicBlockD: Module {
    public let conv1: ConvDropoutNormReLU
    public let conv2: ConvDropoutNormReLU
    public let projection: ConvDropoutNormReLU?
    /// `[height, width]`.
    public let stride: [Int]
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        [("conv1", conv1), ("conv2", conv2)] + (projection.map { [(stride != [1, 1] ? "skip.1" : "skip.0", $0)] } ?? [])
    }

    /// `kernel` and `stride` are `[height, width]`.
    public init(inputChannels: Int, outputChannels: Int, kernel: [Int], stride: [Int], bias: Bool, generator: inout SeededGenerator) {
        conv1 = ConvDropoutNormReLU(inputChannels: inputChannels, outputChannels: outputChannels, kernel: kernel, stride: stride, bias: bias,
                                    generator: &generator)
        conv2 = ConvDropoutNormReLU(inputChannels: outputChannels, outputChannels: outputChannels, kernel: kernel, stride: [1, 1], bias: bias,
                                    nonlinearity: false, generator: &generator)
        projection = inputChannels != outputChannels
            ? ConvDropoutNormReLU(inputChannels: inputChannels, outputChannels: outputChannels, kernel: [1, 1], stride: [1, 1], bias: false,
                                  nonlinearity: false, generator: &generator)
            : nil
        self.stride = stride
    }

    /// The block applied to `x`, its tensors under `key` (`encoder.stages.1.blocks.0`).
    public func apply(_ b: GraphBuilder, _ x: Graph.Value, key: String) throws -> Graph.Value {
        let y = try conv2.apply(b, try conv1.apply(b, x, key: key + ".conv1"), key: key + ".conv2")
        var skip = x
        if stride != [1, 1] { skip = try b.avgPool(skip, PoolAttributes.windows(height: stride[0], width: stride[1]), name: key + ".skip.0") }
        if let projection { skip = try projection.apply(b, skip, key: key + (stride != [1, 1] ? ".skip.1" : ".skip.0")) }
        return try b.leakyReLU(try b.add(y, skip, name: key + ".add"), slope: 0.01, name: key + ".nonlin2")
    }
}

import NN

extension UNet {
    /// Floating-point operations of one forward pass on one `height`×`width` image, counted as the benchmark
    /// reference counts them (`../shared/bench/pytorch_unet.py`): `2·MACs` of every `Conv2d`
    /// (`2·output elements·C_in·k²`) and `ConvTranspose2d` (`2·input elements·C_out·k²`); pooling, batch
    /// norm, activations and bilinear up-sampling are not counted. A training step counts 3× this.
    /// Zero for a model whose weights were moved into a compiled network (`retainModelWeights: false`).
    public func forwardFLOPs(height: Int, width: Int) -> Double {
        guard head.weight.value.rank == 4 else { return 0 }
        var (h, w) = (height, width)
        var total = 0.0
        func convolution(_ conv: Conv2d) {
            let (o, i, k) = (conv.weight.value.shape[0], conv.weight.value.shape[1], conv.weight.value.shape[2])
            h += 2 * conv.padding - k + 1
            w += 2 * conv.padding - k + 1
            total += 2 * Double(o * h * w) * Double(i * k * k)
        }
        var skips: [(Int, Int)] = []
        for (level, block) in encoders.enumerated() {
            if level > 0 { (h, w) = (h / 2, w / 2) }
            convolution(block.conv1)
            convolution(block.conv2)
            if level < configuration.depth { skips.append((h, w)) }
        }
        for (i, (upsampler, block)) in zip(upsamplers, decoders).enumerated() {
            if case .transposed(let conv) = upsampler {
                let (cin, cout, k) = (conv.weight.value.shape[0], conv.weight.value.shape[1], conv.weight.value.shape[2])
                total += 2 * Double(cin * h * w) * Double(cout * k * k)
            }
            (h, w) = (2 * h, 2 * w)
            if configuration.merge == .pad { (h, w) = skips[skips.count - 1 - i] }
            convolution(block.conv1)
            convolution(block.conv2)
        }
        convolution(head)
        return total
    }
}

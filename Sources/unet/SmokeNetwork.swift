import NN
import Tensors

/// The small encoder-decoder that `unet demo` trains: one level of a U-Net built from the library's layers.
///
///     x (N, 1, H, W) → conv3x3-BN-ReLU (8) ─────────────── skip ──────────────┐
///                       → max-pool → conv3x3-BN-ReLU (16) → up-conv 2x2 (8) ─ concat (16) → conv3x3-BN-ReLU (8)
///                                                                                          → conv1x1 → logits (N, 1, H, W)
final class SmokeNetwork: Module {
    let encoder: Conv2d, encoderNorm: BatchNorm2d
    let pool = MaxPool2d()
    let bottom: Conv2d, bottomNorm: BatchNorm2d
    let up: ConvTranspose2d
    let decoder: Conv2d, decoderNorm: BatchNorm2d
    let head: Conv2d
    var isTraining = true

    var namedChildren: [(String, any Module)] {
        [("enc.0", encoder), ("enc.1", encoderNorm), ("bottom.0", bottom), ("bottom.1", bottomNorm), ("up", up),
         ("dec.0", decoder), ("dec.1", decoderNorm), ("head", head)]
    }

    init(generator g: inout SeededGenerator) {
        encoder = Conv2d(inputChannels: 1, outputChannels: 8, kernelSize: 3, padding: 1, bias: false, generator: &g)
        encoderNorm = BatchNorm2d(numFeatures: 8)
        bottom = Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 3, padding: 1, bias: false, generator: &g)
        bottomNorm = BatchNorm2d(numFeatures: 16)
        up = ConvTranspose2d(inputChannels: 16, outputChannels: 8, kernelSize: 2, stride: 2, generator: &g)
        decoder = Conv2d(inputChannels: 16, outputChannels: 8, kernelSize: 3, padding: 1, bias: false, generator: &g)
        decoderNorm = BatchNorm2d(numFeatures: 8)
        head = Conv2d(inputChannels: 8, outputChannels: 1, kernelSize: 1, generator: &g)
    }

    /// conv → BN → ReLU, with its pullback.
    private func block(_ conv: Conv2d, _ norm: BatchNorm2d, _ x: Tensor) throws -> (Tensor, Pullback) {
        let (a, convBack) = try conv.forward(x)
        let (b, normBack) = try norm.forward(a)
        let (y, reluBack) = try Functional.relu(b)
        return (y, { dy in try convBack(try normBack(try reluBack(dy))) })
    }

    /// Logits `(N, 1, H, W)` for `(N, 1, H, W)` input with even H and W, and the pullback.
    func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        let (skip, encoderBack) = try block(encoder, encoderNorm, x)      // (N, 8, H, W)
        let (pooled, poolBack) = try pool.forward(skip)                   // (N, 8, H/2, W/2)
        let (deep, bottomBack) = try block(bottom, bottomNorm, pooled)    // (N, 16, H/2, W/2)
        let (upsampled, upBack) = try up.forward(deep)                    // (N, 8, H, W)
        let (merged, concatBack) = try Functional.concat([skip, upsampled])  // (N, 16, H, W)
        let (decoded, decoderBack) = try block(decoder, decoderNorm, merged)  // (N, 8, H, W)
        let (logits, headBack) = try head.forward(decoded)                // (N, 1, H, W)
        return (logits, { dLogits in
            let parts = try concatBack(try decoderBack(try headBack(dLogits)))
            let dSkip = try parts[0] + (try poolBack(try bottomBack(try upBack(parts[1]))))
            return try encoderBack(dSkip)
        })
    }
}

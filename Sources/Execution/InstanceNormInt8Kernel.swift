import CVectorMath
import DNNL
import Graph
import NN

/// `instance_norm` (with its fused activation) in an int8 network, where int8 convolutions of one range read its
/// output (`Lowering.int8Values`): the output is that range's u8 or s8; or where a bf16 edge, the convolution writing
/// the logits, reads it (`PrecisionRegions.bf16Edges`): the output is bf16. Each image's per-channel mean and biased
/// variance are summed from its float32 channels-last input (shifted by the image's first pixel, in float32 runs
/// and double totals), then one pass scales, shifts, activates and rounds into 8 bits or bf16. oneDNN's batch norm
/// writes only its input's type, so it would write float32 and a reorder would read it again. The input is
/// float32 or, where the lowering keeps it so (`Lowering.bf16Maps`), bf16. Inference only; both passes run on oneDNN's
/// threads.
final class InstanceNormInt8Kernel: NodeKernel {
    private let name: String
    private let batch: Int
    private let channels: Int
    private let pixels: Int
    private let epsilon: Float
    /// The activation's slope below zero: 1 for none, 0 for ReLU.
    private let slope: Float
    /// The 8-bit output's range; nil for a bf16 output.
    private let range: Quantization.InputRange?
    /// Whether the input is bf16 (else float32).
    private let bf16Input: Bool
    private let affine: (weight: Parameter, bias: Parameter)?
    /// The affine parameters, loaded once (ones and zeros when not affine).
    private var gamma: [Float]
    private var beta: [Float]

    init(_ node: Graph.Node, attributes a: InstanceNormAttributes, range: Quantization.InputRange?, lowering: Lowering) throws {
        let shape = lowering.graph.shape(node.output)
        (name, batch, channels, pixels, epsilon, self.range) = (node.name, shape[0], shape[1], shape[2] * shape[3], a.epsilon, range)
        bf16Input = lowering.dataType(node.inputs[0]) == .bf16
        switch a.activation {
        case nil: slope = 1
        case .relu: slope = 0
        case .leakyReLU(let s): slope = s
        case .silu, .relu6: throw CompilationError("\(node.name): a SiLU or ReLU6 is not fused into an instance norm")
        }
        affine = try InstanceNormKernel.checkedAffine(node, a, lowering: lowering)
        (gamma, beta) = (Array(repeating: 1, count: channels), Array(repeating: 0, count: channels))
        guard affine != nil else { return }
        lowering.loaders.append { [unowned self] in
            guard let affine = self.affine else { return }
            self.gamma = affine.weight.value.scalars
            self.beta = affine.bias.value.scalars
        }
    }

    /// The float lanes of the vectors the loops run on (`channels_last.h`).
    private static let lanes = Int32(CPUISA.channelBlock ?? 4)

    var cost: RecomputeCost { .never }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        let (x, y) = (inputs[0], output)
        let type = range.map { $0.signed ? "s8" : "u8" } ?? "bf16"
        return [Step("\(name): forward into \(type)", reads: [x], writes: [y]) { [unowned self] in
            let size = self.pixels * self.channels
            let (inputBytes, outputBytes) = (size * (self.bf16Input ? 2 : 4), size * (self.range == nil ? 2 : 1))
            for n in 0..<self.batch {
                let image = UnsafeRawPointer(x.memory.dataPointer + n * inputBytes)
                let (scale, shift) = self.coefficients(image)
                self.normalize(image, into: y.memory.dataPointer + n * outputBytes, scale: scale, shift: shift)
            }
        }]
    }

    /// Each channel's scale and shift: `(x - mean) / sqrt(variance + eps) * gamma + beta`, for 8 bits divided by the
    /// range's step (the activations commute with a positive factor). `image`: one image's input.
    private func coefficients(_ image: UnsafeRawPointer) -> (scale: [Float], shift: [Float]) {
        let (channels, pixels, bf16Input) = (self.channels, self.pixels, self.bf16Input)
        let origin: [Float] = bf16Input
            ? UnsafeBufferPointer(start: image.assumingMemoryBound(to: BFloat16.self), count: channels).map(\.float)
            : Array(UnsafeBufferPointer(start: image.assumingMemoryBound(to: Float.self), count: channels))
        let slots = max(1, Threads.count)
        var sums = [Double](repeating: 0, count: 2 * slots * channels)
        sums.withUnsafeMutableBufferPointer { sums in
            let totals = sums.baseAddress!
            let size = (pixels + slots - 1) / slots
            Threads.parallel(chunks: slots) { owned in
                for slot in owned {
                    let part = min(pixels, slot * size)..<min(pixels, (slot + 1) * size)
                    guard !part.isEmpty else { continue }
                    let (sum, squares) = (totals + 2 * slot * channels, totals + (2 * slot + 1) * channels)
                    if bf16Input {
                        unet_channel_moments_bf16(image.assumingMemoryBound(to: UInt16.self) + part.lowerBound * channels, part.count,
                                                  channels, origin, sum, squares, Self.lanes)
                    } else {
                        unet_channel_moments(image.assumingMemoryBound(to: Float.self) + part.lowerBound * channels, part.count,
                                             channels, origin, sum, squares, Self.lanes)
                    }
                }
            }
        }
        let step = range?.scale ?? 1
        var (scale, shift) = ([Float](repeating: 0, count: channels), [Float](repeating: 0, count: channels))
        for c in 0..<channels {
            var (sum, squares) = (0.0, 0.0)
            for slot in 0..<slots { (sum, squares) = (sum + sums[2 * slot * channels + c], squares + sums[(2 * slot + 1) * channels + c]) }
            let shifted = sum / Double(pixels)
            let variance = max(0, squares / Double(pixels) - shifted * shifted)
            let mean = Double(origin[c]) + shifted
            let factor = Double(gamma[c]) / (variance + Double(epsilon)).squareRoot()
            scale[c] = Float(factor / Double(step))
            shift[c] = Float((Double(beta[c]) - mean * factor) / Double(step))
        }
        return (scale, shift)
    }

    /// The pass into 8 bits or bf16, over contiguous runs of pixels, one per thread.
    private func normalize(_ image: UnsafeRawPointer, into output: UnsafeMutableRawPointer, scale: [Float], shift: [Float]) {
        let (channels, slope, signed, bf16Input) = (channels, slope, range?.signed, bf16Input)
        Threads.parallel(chunks: pixels) { part in
            let (start, count) = (part.lowerBound * channels, part.count)
            let (x, y) = (image + start * (bf16Input ? 2 : 4), output + start * (signed == nil ? 2 : 1))
            let (x32, x16) = (x.assumingMemoryBound(to: Float.self), x.assumingMemoryBound(to: UInt16.self))
            let (s8, u8, bf16) = (y.assumingMemoryBound(to: Int8.self), y.assumingMemoryBound(to: UInt8.self),
                                  y.assumingMemoryBound(to: UInt16.self))
            switch (bf16Input, signed) {
            case (false, true?): unet_quantize_s8(x32, s8, count, channels, scale, shift, slope, Self.lanes)
            case (false, false?): unet_quantize_u8(x32, u8, count, channels, scale, shift, slope, Self.lanes)
            case (false, nil): unet_round_bf16(x32, bf16, count, channels, scale, shift, slope, Self.lanes)
            case (true, true?): unet_quantize_s8_bf16(x16, s8, count, channels, scale, shift, slope, Self.lanes)
            case (true, false?): unet_quantize_u8_bf16(x16, u8, count, channels, scale, shift, slope, Self.lanes)
            case (true, nil): unet_round_bf16_bf16(x16, bf16, count, channels, scale, shift, slope, Self.lanes)
            }
        }
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { nil }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        throw CompilationError("\(name): an int8 instance norm runs in inference only")
    }
}

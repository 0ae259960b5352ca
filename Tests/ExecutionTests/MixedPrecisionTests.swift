import DNNL
import Execution
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// bf16 plans against the float32 reference. They run deeper levels in fp32 where oneDNN's fp32 Winograd is
/// faster, converting maps where the precision changes (the pooled map going down, the up-sampled map coming
/// up, and in training their gradients going the other way); a conversion that read or wrote the wrong
/// element type would give garbage, far outside bf16's rounding.
@Suite("bf16 plans with fp32 levels against the reference path", .enabled(if: CPUISA.supportsBF16, "needs oneDNN bf16 kernels (AVX-512)"))
struct MixedPrecisionTests {
    /// Networks whose level 1 is 256 channels wide on at least 1024 pixels, so it runs in fp32 (Winograd),
    /// and whose level 2 runs on fewer pixels, so it stays bf16.
    static let mixed: [(String, UNetConfiguration, [Int])] = [
        ("milesial, level 1 in fp32", .milesial(inputChannels: 3, classes: 2, baseWidth: 128, depth: 2), [1, 3, 64, 64]),
        ("milesial bilinear, level 1 in fp32", .milesial(inputChannels: 3, classes: 1, bilinear: true, baseWidth: 128, depth: 2), [1, 3, 64, 64]),
        ("tutorial valid + crop, level 1 in fp32",
         .tutorial(inputChannels: 1, classes: 2, baseWidth: 128, depth: 2, padding: .valid, merge: .crop), [1, 1, 92, 92]),
    ]
    static let configurations = CompiledUNetTests.configurations + mixed

    /// bf16 rounding of activations and weights moves these logits by 0.2–1.2% of their norm; the bound is 3%.
    @Test("bf16 inference: eval-mode logits near the float32 reference", arguments: configurations.indices)
    func bf16Inference(index: Int) throws {
        let (name, c, shape) = Self.configurations[index]
        let (logits, expected) = try CompiledUNetTests.inferenceLogits(c, shape: shape, precision: .bf16, seed: 13)
        let error = CompiledUNetTests.norm(try logits - expected)
        #expect(error < 0.03 * CompiledUNetTests.norm(expected), "\(name): error \(error)")
    }

    /// One training step with level 1 in fp32 (bounds of `CompiledUNetTests.bf16Training`): dropping the
    /// gradient's conversion at the pool turns the first level's gradients into NaN.
    @Test("bf16 training: logits and every gradient near the float32 reference", arguments: mixed.indices)
    func bf16Training(index: Int) throws {
        let (name, c, shape) = Self.mixed[index]
        try CompiledUNetTests.expectBF16TrainingNearReference(name, c, shape: shape)
    }

    /// MONAI's UNet: in inference its transposed convolutions (kernel 3, stride 2) run as bf16 2x2 convolutions (each
    /// split over the concatenation it reads) and depth to space; in training they stay transposed convolutions and run in fp32, as the batch norms of its 2-class
    /// maps do, where oneDNN 2.6's bf16 kernels are slower; their inputs are converted, and the logits stay within
    /// bf16's rounding of the fp32 network's.
    @Test("bf16 networks: MONAI UNet's transposed convolutions as bf16 2x2 convolutions in inference, in fp32 in training; narrow batch norms in fp32")
    func fp32Ops() throws {
        var g = SeededGenerator(seed: 15)
        let model = try MONAIUNet(MONAIUNetConfiguration(channels: [16, 32, 64], strides: [2, 2], residualUnits: 1), generator: &g)
        let shape = [1, 1, 32, 32]
        let x = Tensor.normal(shape: shape, using: &g)
        func isTransposed(_ node: Graph.Node) -> Bool { if case .convTranspose2d = node.op { true } else { false } }
        func isSubpixel(_ node: Graph.Node) -> Bool {
            if case .conv2d(let a) = node.op, case .transposedAsSubpixel = a.weightSource { true } else { false }
        }
        for training in [false, true] {
            model.train(training)
            let compiled = try CompiledUNet(model, inputShape: shape, precision: .bf16, training: training)
            let graph = compiled.network.graph
            let producers = Dictionary(graph.nodes.map { ($0.output, $0.op) }, uniquingKeysWith: { a, _ in a })
            let (transposed, subpixel) = (graph.nodes.filter(isTransposed), graph.nodes.filter(isSubpixel))
            // In inference each of the two is split over its concatenated input: two parts of one weight.
            let subpixelWeights = Set(subpixel.compactMap { node -> String? in if case .conv2d(let a) = node.op { a.weight } else { nil } })
            #expect((transposed.count, subpixel.count, subpixelWeights.count) == (training ? (2, 0, 0) : (0, 4, 2)), "training \(training)")
            for node in transposed { #expect(producers[node.inputs[0]] == .convert(to: .fp32), "\(node.name)") }
            for node in subpixel { #expect(compiled.network.valuePrecision(node.output) == .bf16, "\(node.name)") }
            #expect(graph.nodes.contains { $0.op == .convert(to: .bf16) }, "the rest runs in bf16")
            let y = try compiled.forward(x)
            let expected = try CompiledUNet(model, inputShape: shape, training: training).forward(x)
            #expect(CompiledUNetTests.norm(try y - expected) < 0.03 * CompiledUNetTests.norm(expected), "training \(training)")
        }
    }

    /// Training: the first level stays bf16 (the largest maps), a level of 256 channels on 1024 pixels or more runs
    /// fp32 where this machine's oneDNN has fp32 Winograd (AVX-512; for the backward passes too) and no AMX, a level on
    /// fewer pixels stays bf16. Inference, where a level computes only with 3x3 and 1x1 convolutions: any level of 128
    /// channels on 32x32 pixels or more runs fp32 Winograd, the first too; a transposed convolution's 1x1 convolution
    /// stays bf16 wherever it is. fp32 networks never mix.
    @Test("bf16 networks: which levels run in fp32", arguments: mixed.indices)
    func levelPrecisions(index: Int) throws {
        let (name, c, shape) = Self.mixed[index]
        var g = SeededGenerator(seed: 14)
        let model = try UNet(c, generator: &g)
        let winograd: Precision = CPUISA.hasAVX512 && !CPUISA.hasAMX ? .fp32 : .bf16
        let training = try CompiledUNet(model, inputShape: shape, precision: .bf16, training: true)
        #expect(training.levelPrecisions == [.bf16, winograd, .bf16], "\(name), training")
        let inference = try CompiledUNet(model, inputShape: shape, precision: .bf16, training: false)
        #expect(inference.levelPrecisions == [winograd, winograd, .bf16], "\(name), inference")
        let graph = inference.network.graph
        let producers = Dictionary(graph.nodes.map { ($0.output, $0) }, uniquingKeysWith: { a, _ in a })
        for node in graph.nodes {
            guard case .depthToSpace = node.op, let conv = producers[node.inputs[0]], case .conv2d = conv.op else { continue }
            #expect(inference.network.valuePrecision(conv.output) == .bf16, "\(name): \(conv.name)")
        }
        #expect(try CompiledUNet(model, inputShape: shape, training: false).levelPrecisions == [.fp32, .fp32, .fp32], "\(name) fp32")
        #expect(try CompiledUNet(model, inputShape: shape, training: true).levelPrecisions == [.fp32, .fp32, .fp32], "\(name) fp32 training")
    }

    /// In inference a level of 64 channels stays bf16 however large its maps: fp32 Winograd gains nothing there that
    /// its conversions and twice the memory do not cost (the classic U-Net's first level at base 64).
    @Test("bf16 inference: a 64-channel level stays bf16, a 128-channel one on 32x32 pixels runs fp32")
    func narrowLevels() throws {
        var g = SeededGenerator(seed: 18)
        let model = try UNet(.milesial(inputChannels: 3, classes: 2, baseWidth: 64, depth: 2), generator: &g)
        model.eval()
        let winograd: Precision = CPUISA.hasAVX512 && !CPUISA.hasAMX ? .fp32 : .bf16
        #expect(try CompiledUNet(model, inputShape: [1, 3, 64, 64], precision: .bf16, training: false).levelPrecisions
                == [.bf16, winograd, .bf16])
    }

    /// nnU-Net's levels begin with a stride-2 convolution and normalize between convolutions (instance norm), which
    /// would run slower in fp32 than in bf16 (its strided convolution at twice bf16's time): in inference they all stay
    /// bf16; in training the 256-channel level on 32x32 pixels runs fp32 Winograd.
    @Test("bf16 inference: levels with strided convolutions or normalizations stay bf16")
    func stridedLevels() throws {
        var g = SeededGenerator(seed: 16)
        let model = try PlainConvUNet(PlainConvUNetConfiguration(features: [64, 128, 256, 512], strides: [1, 2, 2, 2],
                                                                 inputChannels: 1, classes: 2), generator: &g)
        let shape = [1, 1, 128, 128]
        let winograd: Precision = CPUISA.hasAVX512 && !CPUISA.hasAMX ? .fp32 : .bf16
        #expect(try CompiledUNet(model, inputShape: shape, precision: .bf16, training: true).levelPrecisions == [.bf16, .bf16, winograd, .bf16])
        model.eval()
        #expect(try CompiledUNet(model, inputShape: shape, precision: .bf16, training: false).levelPrecisions == [.bf16, .bf16, .bf16, .bf16])
    }

    /// oneDNN 2.6's bf16 1x1 kernel books a float32 copy of its whole output per thread as scratchpad; for one image,
    /// inference (with the memory plan) runs it over parts of its output channels instead, each part's scratchpad
    /// within the output's own size, computing what the whole convolution does.
    @Test("bf16 inference: a 1x1 convolution over output-channel slices, within its output's size (native bf16)",
          .enabled(if: CPUISA.hasNativeBF16, "bf16 convolutions need a CPU with native bf16"))
    func outputChannelSlices() throws {
        let c = try SlicedConvolution(input: [1, 64, 64, 64], outputChannels: 128, kernel: 1, precision: .bf16, seed: 17)
        let (sliced, whole) = (SlicedConvolution.largestScratchpad(c.sliced), SlicedConvolution.largestScratchpad(c.whole))
        let outputBytes = 128 * 64 * 64 * 2
        #expect(whole > outputBytes && sliced <= outputBytes, "\(sliced) against \(whole) bytes")
        let y = try c.sliced.forward(c.input)
        expectClose(y, try c.whole.forward(c.input), rtol: 1e-6, atol: 1e-6, "slices against the whole")
        let expected = try c.reference.forward(c.input)
        #expect(CompiledUNetTests.norm(try y - expected) < 0.01 * CompiledUNetTests.norm(expected))
    }
}

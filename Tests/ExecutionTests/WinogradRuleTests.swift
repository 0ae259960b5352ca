import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// Which convolutions run oneDNN's Winograd (`Conv2dKernel.suitsWinograd`): in inference one of 32 channels into 16
/// does (Winograd takes about half of direct's time there), in training it stays direct, whose backward pass maps 16
/// channels to 32, where Winograd loses. Either way it computes what the reference engine (every pass off) does.
@Suite("Winograd rule")
struct WinogradRuleTests {
    @Test("a 3x3 convolution of 32 channels into 16 runs Winograd in inference (where the CPU has it), direct in training")
    func narrowOutput() throws {
        var g = SeededGenerator(seed: 21)
        let x = Tensor.normal(shape: [1, 32, 32, 32], using: &g)
        let b = GraphBuilder(inputShape: x.shape)
        let y = try b.relu(try b.conv2d(b.input, Conv2dAttributes(weight: "conv.weight", bias: "conv.bias", outputChannels: 16, kernel: 3,
                                                                  padding: 1), name: "conv"), name: "relu")
        let graph = b.graph(output: y)
        let parameters = [("conv.weight", Parameter(Tensor.normal(shape: [16, 32, 3, 3], using: &g).map { $0 * 0.1 })),
                          ("conv.bias", Parameter(Tensor.normal(shape: [16], using: &g)))]
        let reference = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: []).forward(x)
        for training in [false, true] {
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: training)
            let implementation = try #require(network.convolutionImplementations.values.first)
            #expect(implementation.contains("wino") == (!training && CPUISA.hasAVX512), "training \(training): \(implementation)")
            expectClose(try network.forward(x), reference, rtol: 1e-4, atol: 1e-4, "training \(training)")
        }
    }

    /// Inference keeps the weights of a Winograd convolution of at most 1024 output pixels transformed (oneDNN's
    /// inference variant; F(4x4, 3x3) holds 36 values for each 9 weights), within 128 MB of such weights; on more pixels,
    /// or past that limit, they are transformed at each call. Each computes what the reference engine does.
    @Test("Winograd weights kept transformed on small maps only, within the limit (AVX-512)",
          .enabled(if: CPUISA.hasAVX512, "oneDNN 2.6's Winograd kernels need AVX-512"))
    func pretransformedWeights() throws {
        var g = SeededGenerator(seed: 23)
        // (channels, size, whether each convolution keeps its weights transformed): four of 512 channels would keep 151 MB.
        for (channels, size, kept) in [(128, 32, [true]), (128, 64, [false]), (512, 32, [true, true, true, false])] {
            let x = Tensor.normal(shape: [1, channels, size, size], using: &g)
            let b = GraphBuilder(inputShape: x.shape)
            var y = b.input
            var parameters: [(String, Parameter)] = []
            for k in kept.indices {
                y = try b.conv2d(y, Conv2dAttributes(weight: "conv\(k).weight", bias: "conv\(k).bias", outputChannels: channels, kernel: 3,
                                                     padding: 1), name: "conv\(k)")
                parameters += [("conv\(k).weight", Parameter(Tensor.normal(shape: [channels, channels, 3, 3], using: &g).map { $0 * 0.02 })),
                               ("conv\(k).bias", Parameter(Tensor.normal(shape: [channels], using: &g)))]
            }
            let graph = b.graph(output: y)
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false)
            let label = "\(channels) channels on \(size)x\(size)"
            #expect(network.convolutionImplementations.values.allSatisfy { $0.contains("wino_4x3") }, "\(label)")
            let plain = channels * channels * 9 * MemoryLayout<Float>.size
            for (k, keeps) in kept.enumerated() {
                let weights = try #require(network.memoryPlan.rows.first { $0.name == "conv\(k) weights" }, "\(label)").bytes
                #expect(keeps ? weights >= 4 * plain : weights == plain, "\(label), convolution \(k): \(weights) bytes of weights, \(plain) plain")
            }
            let reference = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: []).forward(x)
            expectClose(try network.forward(x), reference, rtol: 1e-3, atol: 1e-3, label)
        }
    }

    /// Inference runs a Winograd convolution once per image where one image's scratchpad is at most half the batch's
    /// (128 channels on 64x64 pixels, batch 4: the input and output transforms grow with the batch), with the memory
    /// plan on; it computes what the whole-batch convolution (memory plan off) and the reference engine do.
    @Test("Winograd per image: a quarter-batch scratchpad and the same output (AVX-512)",
          .enabled(if: CPUISA.hasAVX512, "oneDNN 2.6's Winograd kernels need AVX-512"))
    func perImage() throws {
        let c = try SlicedConvolution(input: [4, 128, 64, 64], outputChannels: 128, kernel: 3, precision: .fp32, seed: 22)
        let (sliced, whole) = (SlicedConvolution.largestScratchpad(c.sliced), SlicedConvolution.largestScratchpad(c.whole))
        for network in [c.sliced, c.whole] { #expect(network.convolutionImplementations.values.allSatisfy { $0.contains("wino") }) }
        #expect(2 * sliced <= whole, "\(sliced) against \(whole) bytes")
        expectClose(try c.sliced.forward(c.input), try c.whole.forward(c.input), rtol: 1e-5, atol: 1e-5, "per image against whole")
        expectClose(try c.sliced.forward(c.input), try c.reference.forward(c.input), rtol: 1e-4, atol: 1e-4, "per image against the reference")
    }
}

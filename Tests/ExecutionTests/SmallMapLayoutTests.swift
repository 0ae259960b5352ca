import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// Float32 inference on AVX-512 runs the ops of maps under 512 pixels over the batch channels-last
/// (`LayoutChoice.isSmallMap`), where oneDNN's brgconv kernels beat its blocked direct and Winograd ones; larger maps,
/// and training, keep the channel blocks. A squeeze-and-excitation branch of one pixel per image follows the map it
/// gates. Each layout computes what the reference engine (every pass off) does.
@Suite("Layouts of small maps")
struct SmallMapLayoutTests {
    @Test("maps under 512 pixels run channels-last in float32 inference (AVX-512): direct convolutions, the gate beside them",
          .enabled(if: CPUISA.hasAVX512, "only AVX-512 has oneDNN's channels-last brgconv kernels"))
    func smallMapsRunChannelsLast() throws {
        var g = SeededGenerator(seed: 41)
        let conv3x3 = { (name: String) in Conv2dAttributes(weight: "\(name).weight", bias: "\(name).bias", outputChannels: 64, kernel: 3, padding: 1) }
        func graph(batch: Int) throws -> Graph {
            let b = GraphBuilder(inputShape: [batch, 64, 32, 32])
            let wide = try b.relu(try b.conv2d(b.input, conv3x3("c1"), name: "c1"), name: "r1")
            let pooled = try b.maxPool(wide, PoolAttributes(kernel: 2), name: "pool")
            let c2 = try b.relu(try b.conv2d(pooled, conv3x3("c2"), name: "c2"), name: "r2")
            let c3 = try b.conv2d(c2, conv3x3("c3"), name: "c3")
            let squeezed = try b.relu(try b.conv2d(try b.globalAvgPool(c3, name: "mean"), Conv2dAttributes(
                weight: "s1.weight", bias: "s1.bias", outputChannels: 16, kernel: 1), name: "s1"), name: "r3")
            let gate = try b.sigmoid(try b.conv2d(squeezed, Conv2dAttributes(weight: "s2.weight", bias: "s2.bias", outputChannels: 64,
                                                                             kernel: 1), name: "s2"), name: "gate")
            return b.graph(output: try b.multiply(c3, gate, name: "scaled"))
        }
        var parameters: [(String, Parameter)] = []
        for (name, shape) in [("c1", [64, 64, 3, 3]), ("c2", [64, 64, 3, 3]), ("c3", [64, 64, 3, 3]), ("s1", [16, 64, 1, 1]), ("s2", [64, 16, 1, 1])] {
            parameters += [("\(name).weight", Parameter(Tensor.normal(shape: shape, standardDeviation: 0.05, using: &g))),
                           ("\(name).bias", Parameter(Tensor.normal(shape: [shape[0]], standardDeviation: 0.1, using: &g)))]
        }
        // (batch, training, whether the 16x16 level runs channels-last): 256 pixels are small, 512 are not.
        for (batch, training, small) in [(1, false, true), (2, false, false), (1, true, false)] {
            let graph = try graph(batch: batch)
            let x = Tensor.normal(shape: [batch, 64, 32, 32], using: &g)
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: training)
            let layouts = network.memoryPlan.activationLayouts
            let label = "batch \(batch), training \(training): \(layouts)"
            let implementations = network.convolutionImplementations
            #expect(layouts["c1+r1"] == "aBcd16b", "\(label)")
            for name in ["c2+r2", "c3", "scaled"] { #expect((layouts[name] == "acdb") == small, "\(name), \(label)") }
            // The gate is made in the layout of the map it scales, so the multiply reads both in one (channels-last on one
            // pixel is NCHW's bytes, and the plan names it so).
            #expect((layouts["gate"] != "aBcd16b") == small, "gate, \(label)")
            for name in ["c2+r2", "c3"] {
                let implementation = try #require(implementations[name], "\(implementations)")
                #expect(!implementation.hasPrefix("ref") && implementation.contains("wino") == !small,
                        "\(name): \(implementation), \(label)")
            }
            let reference = try CompiledNetwork(graph: graph, parameters: parameters, training: training, passes: []).forward(x)
            expectClose(try network.forward(x), reference, rtol: 1e-4, atol: 1e-4, label)
        }
    }

    /// A 3x3 convolution of 256+ channels on 64 to 128 pixels keeps the channel blocks for oneDNN's F(2x2, 3x3) Winograd
    /// kernel, its weights transformed once (`Conv2dKernel.suitsSmallWinograd`); with 128 channels, or on 256 pixels, it
    /// runs channels-last and direct. Each computes what the reference engine does.
    @Test("256 channels on 8x8 run oneDNN's small Winograd kernel in the blocks; 128 channels, or batch 4, channels-last direct",
          .enabled(if: CPUISA.hasAVX512, "oneDNN 2.6's Winograd kernels need AVX-512"))
    func smallWinograd() throws {
        var g = SeededGenerator(seed: 42)
        // (channels, batch, whether the two convolutions run F(2x2, 3x3) Winograd)
        for (channels, batch, winograd) in [(256, 1, true), (256, 2, true), (128, 1, false), (256, 4, false)] {
            let b = GraphBuilder(inputShape: [batch, channels, 8, 8])
            let attributes = { (name: String) in
                Conv2dAttributes(weight: "\(name).weight", bias: "\(name).bias", outputChannels: channels, kernel: 3, padding: 1)
            }
            let c1 = try b.relu(try b.conv2d(b.input, attributes("c1"), name: "c1"), name: "r1")
            let graph = b.graph(output: try b.conv2d(c1, attributes("c2"), name: "c2"))
            let parameters = ["c1", "c2"].flatMap { name in
                [("\(name).weight", Parameter(Tensor.normal(shape: [channels, channels, 3, 3], standardDeviation: 0.02, using: &g))),
                 ("\(name).bias", Parameter(Tensor.normal(shape: [channels], standardDeviation: 0.1, using: &g)))]
            }
            let x = Tensor.normal(shape: [batch, channels, 8, 8], using: &g)
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false)
            let layouts = network.memoryPlan.activationLayouts
            let label = "\(channels) channels, batch \(batch): \(network.convolutionImplementations), \(layouts)"
            for name in ["c1+r1", "c2"] {
                let implementation = try #require(network.convolutionImplementations[name], "\(label)")
                #expect(implementation.contains("wino_2x3") == winograd && !implementation.hasPrefix("ref"), "\(name), \(label)")
                #expect((layouts[name] == "aBcd16b") == winograd, "\(name), \(label)")
            }
            let reference = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: []).forward(x)
            expectClose(try network.forward(x), reference, rtol: 1e-4, atol: 1e-4, label)
        }
    }
}

import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// Maps narrower than a channel block run channels-last for the convolutions, but batch norm and PReLU run NCHW
/// there (`LayoutChoice`: oneDNN 2.6's channels-last kernels for them are 5 to 30 times slower). MONAI's UNet ends in
/// such maps: a transposed convolution to the classes, batch norm and PReLU.
@Suite("Layouts of maps narrower than a channel block")
struct NarrowMapLayoutTests {
    @Test("batch norm and PReLU on 2-channel maps run NCHW between NHWC convolutions, with the gradients of NCHW everywhere",
          .enabled(if: CPUISA.channelBlock != nil, "this CPU runs every map channels-last"))
    func normalizationRunsPlain() throws {
        var g = SeededGenerator(seed: 31)
        let x = Tensor.normal(shape: [2, 16, 12, 10], using: &g)
        let b = GraphBuilder(inputShape: x.shape)
        let norm = BatchNormAttributes(prefix: "bn.")
        let narrow = try b.conv2d(b.input, Conv2dAttributes(weight: "c1.weight", outputChannels: 2, kernel: 3, padding: 1), name: "c1")
        let activated = try b.prelu(try b.batchNorm(narrow, norm, name: "bn"), weight: "act.weight", name: "act")
        let y = try b.conv2d(activated, Conv2dAttributes(weight: "c2.weight", outputChannels: 16, kernel: 3, padding: 1), name: "c2")
        let graph = b.graph(output: y)
        let parameters: [(String, Parameter)] = [
            ("c1.weight", Parameter(Tensor.normal(shape: [2, 16, 3, 3], standardDeviation: 0.1, using: &g))),
            (norm.weight, Parameter(Tensor.normal(shape: [2], using: &g).map { 1 + 0.1 * $0 })),
            (norm.bias, Parameter(Tensor.normal(shape: [2], using: &g).map { 0.1 * $0 })),
            (norm.runningMean, Parameter(Tensor(shape: [2]))), (norm.runningVar, Parameter(Tensor(shape: [2]) { _ in 1 })),
            (norm.numBatchesTracked, Parameter(Tensor(shape: [1]))),
            ("act.weight", Parameter(Tensor(shape: [2]) { 0.1 + 0.2 * Float($0) })),
            ("c2.weight", Parameter(Tensor.normal(shape: [16, 2, 3, 3], standardDeviation: 0.2, using: &g))),
        ]
        let (laidOutParameters, plainParameters) = (parameters.map { ($0.0, Parameter($0.1.value)) }, parameters.map { ($0.0, Parameter($0.1.value)) })
        let laidOut = try CompiledNetwork(graph: graph, parameters: laidOutParameters, training: true)
        let plain = try CompiledNetwork(graph: graph, parameters: plainParameters, training: true,
                                        passes: Set(Pass.allCases).subtracting([.layout]))
        let layouts = laidOut.memoryPlan.activationLayouts
        #expect(layouts["c1"] == "acdb" && layouts["bn"] == "abcd" && layouts["act"] == "abcd", "\(layouts)")
        expectClose(try laidOut.forward(x), try plain.forward(x), rtol: 1e-5, atol: 1e-5, "logits")
        let dy = Tensor.normal(shape: laidOut.outputShape, using: &g)
        try laidOut.backward(dy)
        try plain.backward(dy)
        for ((name, a), (_, b)) in zip(laidOutParameters, plainParameters) where a.requiresGrad {
            expectClose(a.grad, b.grad, rtol: 1e-4, atol: 1e-5, name)
        }
    }

    /// ResNeXt's 3x3 convolution of 32 groups of 4 channels: its groups split the channel blocks, where oneDNN 2.6
    /// has only its reference loops (15 times slower than PyTorch on smp's ResNeXt-50 Unet); channels-last it has a
    /// vector kernel.
    @Test("a grouped convolution whose groups split the channel blocks runs channels-last, not oneDNN's reference loops",
          .enabled(if: CPUISA.channelBlock != nil, "this CPU runs every map channels-last"))
    func groupsRunChannelsLast() throws {
        var g = SeededGenerator(seed: 32)
        // Maps of 640 pixels over the batch: on fewer, inference would run c1 channels-last too (`LayoutChoice.isSmallMap`).
        let x = Tensor.normal(shape: [2, 64, 16, 20], using: &g)
        let b = GraphBuilder(inputShape: x.shape)
        let wide = try b.conv2d(b.input, Conv2dAttributes(weight: "c1.weight", outputChannels: 128, kernel: 1), name: "c1")
        let grouped = try b.relu(try b.conv2d(wide, Conv2dAttributes(weight: "c2.weight", outputChannels: 128, kernel: 3, stride: 2,
                                                                      padding: 1, groups: 32), name: "c2"), name: "relu")
        let graph = b.graph(output: try b.conv2d(grouped, Conv2dAttributes(weight: "c3.weight", outputChannels: 64, kernel: 1), name: "c3"))
        let parameters: [(String, Parameter)] = [
            ("c1.weight", Parameter(Tensor.normal(shape: [128, 64, 1, 1], standardDeviation: 0.1, using: &g))),
            ("c2.weight", Parameter(Tensor.normal(shape: [128, 4, 3, 3], standardDeviation: 0.2, using: &g))),
            ("c3.weight", Parameter(Tensor.normal(shape: [64, 128, 1, 1], standardDeviation: 0.1, using: &g))),
        ]
        for training in [false, true] {
            let (laidOutParameters, plainParameters) = (parameters.map { ($0.0, Parameter($0.1.value)) }, parameters.map { ($0.0, Parameter($0.1.value)) })
            let laidOut = try CompiledNetwork(graph: graph, parameters: laidOutParameters, training: training)
            let plain = try CompiledNetwork(graph: graph, parameters: plainParameters, training: training,
                                            passes: Set(Pass.allCases).subtracting([.layout]))
            let layouts = laidOut.memoryPlan.activationLayouts
            let name = "c2+relu"  // the ReLU fused
            #expect(layouts[name] == "acdb" && layouts["c1"] != "acdb", "\(layouts)")
            let implementation = try #require(laidOut.convolutionImplementations[name], "\(laidOut.convolutionImplementations)")
            #expect(!implementation.hasPrefix("ref"), "\(implementation)")
            expectClose(try laidOut.forward(x), try plain.forward(x), rtol: 1e-4, atol: 1e-5, "logits, training \(training)")
            guard training else { continue }
            let dy = Tensor.normal(shape: laidOut.outputShape, using: &g)
            try laidOut.backward(dy)
            try plain.backward(dy)
            for ((name, a), (_, b)) in zip(laidOutParameters, plainParameters) { expectClose(a.grad, b.grad, rtol: 1e-4, atol: 1e-5, name) }
        }
    }

    /// A mobile block: 1x1 expansion, depthwise 3x3, 1x1 projection. On AVX-512 inference runs it channels-last
    /// throughout (no reorder around the depthwise convolution); training keeps the 1x1 convolutions blocked.
    @Test("an inference network with a depthwise convolution runs channels-last throughout on AVX-512, with the logits of NCHW; training keeps the others blocked",
          .enabled(if: CPUISA.hasAVX512, "channels-last throughout is for AVX-512"))
    func depthwiseNetworksRunChannelsLast() throws {
        var g = SeededGenerator(seed: 33)
        let x = Tensor.normal(shape: [2, 32, 10, 12], using: &g)
        let b = GraphBuilder(inputShape: x.shape)
        let expanded = try b.relu6(try b.conv2d(b.input, Conv2dAttributes(weight: "c1.weight", outputChannels: 64, kernel: 1), name: "c1"), name: "a1")
        let depthwise = try b.relu6(try b.conv2d(expanded, Conv2dAttributes(weight: "c2.weight", outputChannels: 64, kernel: 3, padding: 1,
                                                                               groups: 64), name: "c2"), name: "a2")
        let graph = b.graph(output: try b.conv2d(depthwise, Conv2dAttributes(weight: "c3.weight", outputChannels: 32, kernel: 1), name: "c3"))
        let parameters: [(String, Parameter)] = [
            ("c1.weight", Parameter(Tensor.normal(shape: [64, 32, 1, 1], standardDeviation: 0.2, using: &g))),
            ("c2.weight", Parameter(Tensor.normal(shape: [64, 1, 3, 3], standardDeviation: 0.3, using: &g))),
            ("c3.weight", Parameter(Tensor.normal(shape: [32, 64, 1, 1], standardDeviation: 0.2, using: &g))),
        ]
        let plain = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Set(Pass.allCases).subtracting([.layout]))
        for training in [false, true] {
            let network = try CompiledNetwork(graph: graph, parameters: parameters, training: training)
            let layouts = network.memoryPlan.activationLayouts
            #expect(layouts["c2+a2"] == "acdb", "\(layouts)")
            #expect((layouts["c1+a1"] == "acdb") == !training, "training \(training): \(layouts)")
            #expect(network.graph.nodes.contains { if case .convert = $0.op { true } else { false } } == training)
            #expect(!network.convolutionImplementations.values.contains { $0.hasPrefix("ref") }, "\(network.convolutionImplementations)")
            guard !training else { continue }
            expectClose(try network.forward(x), try plain.forward(x), rtol: 1e-4, atol: 1e-5, "logits")
        }
    }
}

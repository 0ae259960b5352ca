import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// The `upsampled-as-phases` pass against PyTorch (`scripts/make_fixtures.py`, group `upsampled_convolution`): a
/// nearest 2x up-sampling (of a ReLU) read by two 3x3 convolutions, one of them over its concatenation with another map and
/// followed by an eval-mode batch norm and a ReLU (smp's decoder block), the other whole with a bias.
@Suite("3x3 convolutions of a nearest 2x up-sampling as phase convolutions, against PyTorch")
struct UpsampledConvolutionTests {
    /// The fixture's graph and parameters.
    static func network() throws -> (Graph, [(String, Parameter)], Fixture) {
        let f = try Fixture("graph/upsampled_conv2d")
        let x = try f.tensor("x")
        let b = GraphBuilder(inputShape: x.shape)
        let up = try b.upsample(try b.relu(b.input, name: "h"), scale: 2, mode: .nearest, name: "up")
        let skip = try b.upsample(b.input, size: [14, 18], mode: .bilinear(alignCorners: false), name: "skip")
        let a = try b.conv2d(try b.concat([up, skip], name: "cat"), Conv2dAttributes(weight: "a.weight", outputChannels: 16, kernel: 3,
                                                                                      padding: 1), name: "a")
        let normed = try b.relu(try b.batchNorm(a, BatchNormAttributes(prefix: "bn."), name: "bn"), name: "relu")
        let c = try b.conv2d(up, Conv2dAttributes(weight: "c.weight", bias: "c.bias", outputChannels: 6, kernel: 3, padding: 1), name: "c")
        var parameters = try ["a.weight", "c.weight", "c.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"].map {
            ($0, Parameter(try f.tensor($0), requiresGrad: !$0.contains("running")))
        }
        parameters.append(("bn.num_batches_tracked", Parameter(Tensor(shape: []), requiresGrad: false, isInteger: true)))
        return (b.graph(output: try b.concat([normed, c], name: "out")), parameters, f)
    }

    /// The phase convolutions a compiled network runs.
    static func phases(_ network: CompiledNetwork) -> [Conv2dAttributes.WeightSource] {
        network.graph.nodes.compactMap { node in
            guard case .conv2d(let a) = node.op, case .upsampledAsPhase = a.weightSource else { return nil }
            return a.weightSource
        }
    }

    @Test("fp32 inference runs both convolutions as four phases each and matches PyTorch; passes off and training keep the up-sampling")
    func fp32() throws {
        let (graph, parameters, f) = try Self.network()
        let expected = try f.tensor("y")
        let on = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Set(Pass.allCases))
        #expect(Self.phases(on).count == 8)
        #expect(on.graph.nodes.filter { $0.op == .interleave(block: 2) }.count == 2)
        #expect(!on.graph.nodes.contains { $0.op == .upsample(UpsampleAttributes(mode: .nearest, size: [14, 18])) })
        expectClose(try on.forward(try f.tensor("x")), expected, rtol: 1e-4, atol: 1e-5, "passes on")
        var without = Set(Pass.allCases)
        without.remove(.upsampledAsPhases)
        for passes in [Set<Pass>(), without] {
            let off = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: passes)
            #expect(Self.phases(off).isEmpty)
            expectClose(try off.forward(try f.tensor("x")), expected, rtol: 1e-4, atol: 1e-5, "\(passes.count) passes")
        }
        let training = try CompiledNetwork(graph: graph, parameters: parameters, training: true, passes: Set(Pass.allCases))
        #expect(Self.phases(training).isEmpty)
    }

    @Test("bf16 inference runs the phases and stays within bf16's rounding of PyTorch")
    func bf16() throws {
        guard CPUISA.bf16Unsupported == nil else { return }
        let (graph, parameters, f) = try Self.network()
        let network = try CompiledNetwork(graph: graph, parameters: parameters, precision: .bf16, training: false, passes: Set(Pass.allCases))
        #expect(Self.phases(network).count == 8)
        expectCloseInNorm(try network.forward(try f.tensor("x")), try f.tensor("y"), relative: 1e-2, rtol: 0.05, "bf16")
    }

    @Test("an int8 network runs the phases of a convolution its table names with that convolution's range, near PyTorch; calibration observes the convolution")
    func int8() throws {
        let (graph, parameters, f) = try Self.network()
        let x = try f.tensor("x")
        let range = Quantization.InputRange(limit: x.scalars.max() ?? 1, signed: false)
        let table = Quantization(rule: "test", images: 1, inputs: ["c": range, "a+bn+relu[0..<4]": range])
        let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Set(Pass.allCases),
                                          quantization: table)
        #expect(Self.phases(network).count == 8)
        #expect(network.int8Convolutions.keys.sorted() == ["a+bn+relu[0..<4]", "c"].flatMap { name in ["00", "01", "10", "11"].map { "\(name).phase\($0)" } },
                "\(network.int8Convolutions)")
        expectCloseInNorm(try network.forward(x), try f.tensor("y"), relative: 3e-2, rtol: 0.1, "int8")
        var observed: Set<String> = []
        let calibration = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Set(Pass.allCases),
                                              observingConvolutionInputs: { name, _ in observed.insert(name) })
        _ = try calibration.forward(x)
        #expect(Self.phases(calibration).isEmpty && observed.isSuperset(of: ["c", "a+bn+relu[0..<4]"]), "\(observed)")
    }
}

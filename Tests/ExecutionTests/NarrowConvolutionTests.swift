import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// The `narrow-as-depth-to-space` pass against PyTorch (`scripts/make_fixtures.py`, group `narrow_convolution`):
/// segmentation heads on a 64x64 map, a 3x3 convolution to 2 channels with a bias, one to 1 channel with an eval-mode
/// batch norm and a ReLU, and a 5x5 one to 3 channels, concatenated.
@Suite("stride-1 convolutions to few channels as a wider strided convolution and a depth to space, against PyTorch")
struct NarrowConvolutionTests {
    /// The fixture's graph and parameters.
    static func network() throws -> (Graph, [(String, Parameter)], Fixture) {
        let f = try Fixture("graph/narrow_conv2d")
        let b = GraphBuilder(inputShape: try f.tensor("x").shape)
        let a = try b.conv2d(b.input, Conv2dAttributes(weight: "a.weight", bias: "a.bias", outputChannels: 2, kernel: 3, padding: 1), name: "a")
        let normed = try b.relu(try b.batchNorm(try b.conv2d(b.input, Conv2dAttributes(weight: "b.weight", outputChannels: 1, kernel: 3, padding: 1),
                                                             name: "b"), BatchNormAttributes(prefix: "bn."), name: "bn"), name: "relu")
        let c = try b.conv2d(b.input, Conv2dAttributes(weight: "c.weight", bias: "c.bias", outputChannels: 3, kernel: 5, padding: 2), name: "c")
        let keys = ["a.weight", "a.bias", "b.weight", "c.weight", "c.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
        var parameters = try keys.map { ($0, Parameter(try f.tensor($0), requiresGrad: !$0.contains("running"))) }
        parameters.append(("bn.num_batches_tracked", Parameter(Tensor(shape: []), requiresGrad: false, isInteger: true)))
        return (b.graph(output: try b.concat([a, normed, c], name: "out")), parameters, f)
    }

    /// The blocks of the convolutions a compiled network runs as their outputs' blocks, in graph order.
    static func blocks(_ network: CompiledNetwork) -> [Int] {
        network.graph.nodes.compactMap { node in
            guard case .conv2d(let a) = node.op, case .narrowAsPhases(let r, _) = a.weightSource else { return nil }
            return r
        }
    }

    @Test("fp32 inference runs the three heads as blocks of 2, 4 and 2 and matches PyTorch; passes off, the pass off and training keep the convolutions")
    func fp32() throws {
        let (graph, parameters, f) = try Self.network()
        let (x, expected) = (try f.tensor("x"), try f.tensor("y"))
        let on = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Set(Pass.allCases))
        #expect(Self.blocks(on) == [2, 4, 2])
        #expect(on.graph.nodes.filter { if case .depthToSpace = $0.op { true } else { false } }.count == 3)
        expectClose(try on.forward(x), expected, rtol: 1e-4, atol: 1e-5, "passes on")
        var without = Set(Pass.allCases)
        without.remove(.narrowAsDepthToSpace)
        for passes in [Set<Pass>(), without] {
            let off = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: passes)
            #expect(Self.blocks(off).isEmpty)
            expectClose(try off.forward(x), expected, rtol: 1e-4, atol: 1e-5, "\(passes.count) passes")
        }
        let training = try CompiledNetwork(graph: graph, parameters: parameters, training: true, passes: Set(Pass.allCases))
        #expect(Self.blocks(training).isEmpty)
    }

    @Test("bf16 inference runs the blocks and stays within bf16's rounding of PyTorch")
    func bf16() throws {
        guard CPUISA.bf16Unsupported == nil else { return }
        let (graph, parameters, f) = try Self.network()
        let network = try CompiledNetwork(graph: graph, parameters: parameters, precision: .bf16, training: false, passes: Set(Pass.allCases))
        #expect(Self.blocks(network) == [2, 4, 2])
        expectCloseInNorm(try network.forward(try f.tensor("x")), try f.tensor("y"), relative: 1e-2, rtol: 0.05, "bf16")
    }

    @Test("calibration keeps the convolutions, which it observes under their names")
    func calibration() throws {
        let (graph, parameters, f) = try Self.network()
        // A convolution of the image is never observed: put one in front so that the heads are.
        let b = GraphBuilder(inputShape: try f.tensor("x").shape)
        let stem = try b.relu(try b.conv2d(b.input, Conv2dAttributes(weight: "stem", outputChannels: 4, kernel: 1), name: "stem"), name: "stem.relu")
        let convolutions = graph.nodes.compactMap { node in if case .conv2d(let a) = node.op { (node.name, a) } else { nil } }
        let heads = try convolutions.map { name, a in try b.conv2d(stem, a, name: name) }
        let joined = b.graph(output: try b.concat(heads, name: "out"))
        var observed: Set<String> = []
        let stemWeight = Tensor(shape: [4, 4, 1, 1]) { $0 % 5 == 0 ? 1 : 0 }
        let network = try CompiledNetwork(graph: joined, parameters: parameters + [("stem", Parameter(stemWeight))], training: false,
                                          observingConvolutionInputs: { name, _ in observed.insert(name) })
        _ = try network.forward(try f.tensor("x"))
        #expect(Self.blocks(network).isEmpty && observed == ["a", "b", "c"], "\(observed)")
    }
}

import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// The `fuse-gated-residuals` pass against PyTorch (`scripts/make_fixtures.py`, group `gated_residual`): the end of a
/// squeeze-and-excitation residual block, `ReLU(h · sigmoid(fc2(ReLU(fc1(pool(h))))) + x)` with `h` an eval-mode
/// batch-normed 3x3 convolution of `x`.
@Suite("a squeeze-and-excitation block's gate, residual addition and ReLU as one op, against PyTorch")
struct GatedResidualTests {
    /// The fixture's graph and parameters.
    static func network() throws -> (Graph, [(String, Parameter)], Fixture) {
        let f = try Fixture("graph/gated_residual")
        let b = GraphBuilder(inputShape: try f.tensor("x").shape)
        let h = try b.batchNorm(try b.conv2d(b.input, Conv2dAttributes(weight: "conv.weight", outputChannels: 32, kernel: 3, padding: 1),
                                             name: "conv"), BatchNormAttributes(prefix: "bn."), name: "bn")
        let squeezed = try b.relu(try b.conv2d(try b.globalAvgPool(h, name: "pool"),
                                               Conv2dAttributes(weight: "fc1.weight", bias: "fc1.bias", outputChannels: 8, kernel: 1),
                                               name: "fc1"), name: "fc1.relu")
        let gate = try b.sigmoid(try b.conv2d(squeezed, Conv2dAttributes(weight: "fc2.weight", bias: "fc2.bias", outputChannels: 32,
                                                                         kernel: 1), name: "fc2"), name: "gate")
        let sum = try b.add(try b.multiply(h, gate, name: "se"), b.input, name: "sum")
        let keys = ["conv.weight", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]
        var parameters = try keys.map { ($0, Parameter(try f.tensor($0), requiresGrad: !$0.contains("running"))) }
        parameters.append(("bn.num_batches_tracked", Parameter(Tensor(shape: []), requiresGrad: false, isInteger: true)))
        return (b.graph(output: try b.relu(sum, name: "relu")), parameters, f)
    }

    /// The gated residuals a compiled network runs.
    static func fused(_ network: CompiledNetwork) -> [Op] {
        network.graph.nodes.map(\.op).filter { if case .gatedResidual = $0 { true } else { false } }
    }

    @Test("fp32 inference runs one gated residual with its ReLU and matches PyTorch; passes off, the pass off and training keep the three ops")
    func fp32() throws {
        let (graph, parameters, f) = try Self.network()
        let (x, expected) = (try f.tensor("x"), try f.tensor("y"))
        let on = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Set(Pass.allCases))
        #expect(Self.fused(on) == [.gatedResidual(activation: .relu)])
        #expect(!on.graph.nodes.contains { $0.op == .multiply || $0.op == .add })
        expectClose(try on.forward(x), expected, rtol: 1e-4, atol: 1e-5, "passes on")
        var without = Set(Pass.allCases)
        without.remove(.fuseGatedResiduals)
        for passes in [Set<Pass>(), without] {
            let off = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: passes)
            #expect(Self.fused(off).isEmpty)
            expectClose(try off.forward(x), expected, rtol: 1e-4, atol: 1e-5, "\(passes.count) passes")
        }
        let training = try CompiledNetwork(graph: graph, parameters: parameters, training: true, passes: Set(Pass.allCases))
        #expect(Self.fused(training).isEmpty)
    }

    @Test("bf16 inference runs the gated residual in bf16 and stays within bf16's rounding of PyTorch")
    func bf16() throws {
        guard CPUISA.bf16Unsupported == nil else { return }
        let (graph, parameters, f) = try Self.network()
        let network = try CompiledNetwork(graph: graph, parameters: parameters, precision: .bf16, training: false, passes: Set(Pass.allCases))
        #expect(Self.fused(network) == [.gatedResidual(activation: .relu)])
        expectCloseInNorm(try network.forward(try f.tensor("x")), try f.tensor("y"), relative: 1e-2, rtol: 0.05, "bf16")
    }
}

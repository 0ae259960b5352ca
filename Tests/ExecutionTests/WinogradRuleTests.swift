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
        let x = Tensor.normal(shape: [1, 32, 16, 16], using: &g)
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
}

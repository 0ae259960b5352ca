import Execution
import Graph
import NN
import Tensors

/// One convolution, compiled for inference with the memory plan (which may slice it: `Conv2dKernel`) and without it,
/// and as the reference (every pass off), on a random input and random weights. It reads a ReLU of the network's
/// input, not the input itself, whose layout the convolution would pick (the image's convolution is never sliced).
struct SlicedConvolution {
    let input: Tensor
    let sliced: CompiledNetwork
    let whole: CompiledNetwork
    let reference: CompiledNetwork

    init(input shape: [Int], outputChannels: Int, kernel: Int, precision: Precision, seed: UInt64) throws {
        var g = SeededGenerator(seed: seed)
        input = Tensor.normal(shape: shape, using: &g)
        let b = GraphBuilder(inputShape: shape)
        let y = try b.conv2d(try b.relu(b.input, name: "input.relu"),
                             Conv2dAttributes(weight: "conv.weight", bias: "conv.bias", outputChannels: outputChannels,
                                              kernel: kernel, padding: kernel / 2), name: "conv")
        let graph = b.graph(output: try b.relu(y, name: "relu"))
        let fanIn = Float(shape[1] * kernel * kernel)
        let parameters = [
            ("conv.weight", Parameter(Tensor.normal(shape: [outputChannels, shape[1], kernel, kernel], using: &g).map { $0 / fanIn.squareRoot() })),
            ("conv.bias", Parameter(Tensor.normal(shape: [outputChannels], using: &g))),
        ]
        sliced = try CompiledNetwork(graph: graph, parameters: parameters, precision: precision, training: false)
        whole = try CompiledNetwork(graph: graph, parameters: parameters, precision: precision, training: false,
                                    passes: Set(Pass.allCases).subtracting([.planMemory]))
        reference = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: [])
    }

    /// The largest scratchpad in `network`'s memory plan, in bytes.
    static func largestScratchpad(_ network: CompiledNetwork) -> Int {
        network.memoryPlan.rows.filter { $0.kind == "scratchpad" }.map(\.bytes).max() ?? 0
    }
}

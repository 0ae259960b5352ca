import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// A ResNet stage is a chain: each residual block's output (`relu(bn(conv(h)) + h)`) is made from the block before's.
/// Training makes cheap values (normalizations, additions, activations) again for backward instead of keeping them,
/// but only where that takes a few steps (`Schedule`): a block output that would need the whole chain below it made
/// again is kept, so the steps grow with the chain's length, not with its square, and the gradients stay those of a
/// network that keeps everything.
@Suite("Making values again along a chain of residual blocks")
struct RecomputeChainTests {
    @Test("a chain of 8 residual blocks: each addition runs at most 3 times a step, and the gradients are those of keeping everything")
    func residualChain() throws {
        let blocks = 8
        var g = SeededGenerator(seed: 23)
        let x = Tensor.normal(shape: [2, 16, 8, 8], using: &g)
        let b = GraphBuilder(inputShape: x.shape)
        var h = b.input
        var parameters: [(String, Parameter)] = []
        for k in 0..<blocks {
            let conv = try b.conv2d(h, Conv2dAttributes(weight: "b\(k).conv.weight", outputChannels: 16, kernel: 3, padding: 1),
                                    name: "b\(k).conv")
            let norm = BatchNormAttributes(prefix: "b\(k).bn.")
            h = try b.relu(try b.add(try b.batchNorm(conv, norm, name: "b\(k).bn"), h, name: "b\(k).add"), name: "b\(k).relu")
            parameters += [(norm.weight, Parameter(Tensor.normal(shape: [16], using: &g).map { 1 + 0.1 * $0 })),
                           (norm.bias, Parameter(Tensor.normal(shape: [16], using: &g).map { 0.1 * $0 })),
                           (norm.runningMean, Parameter(Tensor(shape: [16]))), (norm.runningVar, Parameter(Tensor(shape: [16]) { _ in 1 })),
                           (norm.numBatchesTracked, Parameter(Tensor(shape: [1]))),
                           ("b\(k).conv.weight", Parameter(Tensor.normal(shape: [16, 16, 3, 3], using: &g).map { $0 / 12 }))]
        }
        let graph = b.graph(output: h)
        let (recomputingParameters, keepingParameters) = (parameters.map { ($0.0, Parameter($0.1.value)) },
                                                          parameters.map { ($0.0, Parameter($0.1.value)) })
        let recomputing = try CompiledNetwork(graph: graph, parameters: recomputingParameters, training: true)
        let keeping = try CompiledNetwork(graph: graph, parameters: keepingParameters, training: true,
                                          passes: Set(Pass.allCases).subtracting([.recompute]))
        let additions = Dictionary(grouping: recomputing.stepNames.filter { $0.hasSuffix(".add: forward") }, by: { $0 })
        #expect(additions.count == blocks && additions.values.allSatisfy { $0.count <= 3 }, "\(additions.mapValues(\.count))")
        let dy = Tensor.normal(shape: recomputing.outputShape, using: &g)
        #expect(try recomputing.forward(x) == keeping.forward(x))
        try recomputing.backward(dy)
        try keeping.backward(dy)
        for ((name, a), (_, b)) in zip(recomputingParameters, keepingParameters) where name.hasSuffix("weight") {
            expectClose(a.grad, b.grad, rtol: 1e-5, atol: 1e-6, name)
        }
    }
}

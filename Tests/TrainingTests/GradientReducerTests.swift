import Distributed
import NN
import Tensors
import TestSupport
import Testing
import Training

@Suite("GradientReducer (one process: buckets and bookkeeping; the averaging over ranks is tested under mpirun)")
struct GradientReducerTests {
    /// Three parameters of 6, 4 and 10 elements with known gradients.
    static func parameters() throws -> (parameters: [Parameter], gradients: [Tensor]) {
        var g = SeededGenerator(seed: 3)
        let shapes = [[3, 2], [4], [5, 2]]
        let parameters = shapes.map { Parameter(Tensor.normal(shape: $0, using: &g)) }
        let gradients = shapes.map { Tensor.normal(shape: $0, using: &g) }
        return (parameters, gradients)
    }

    @Test("buckets hold the parameters in reverse order, closing at the capacity")
    func buckets() throws {
        let (parameters, _) = try Self.parameters()
        let reducer = GradientReducer(optimizer: SGD(parameters: parameters, learningRate: 0.1), group: ProcessGroup(), bucketElements: 12)
        #expect(reducer.bucketSizes == [14, 6])  // [10 + 4] reaches 12 and closes; [6] is the rest
        let whole = GradientReducer(optimizer: SGD(parameters: parameters, learningRate: 0.1), group: ProcessGroup())
        #expect(whole.bucketSizes == [20])
    }

    @Test("a step from gradients handed over in pieces, in any order, equals the optimizer's step from .grad; a parameter never handed over counts as zero")
    func step() throws {
        let (parameters, gradients) = try Self.parameters()
        let reference = parameters.map { Parameter($0.value) }
        let referenceOptimizer = SGD(parameters: reference, learningRate: 0.1, momentum: 0.9)
        let reducer = GradientReducer(optimizer: SGD(parameters: parameters, learningRate: 0.1, momentum: 0.9), group: ProcessGroup(),
                                      bucketElements: 5)
        for round in 0..<2 {
            for (p, g) in zip(reference, gradients) { p.grad = g }
            reference[1].grad = Tensor(shape: [4])  // the second parameter gets no gradient
            referenceOptimizer.update()
            try reducer.step { deliver in
                // The last parameter in two pieces, back to front, then the first one whole; the second never.
                try gradients[2].withUnsafeBufferPointer { g in
                    try deliver(parameters[2], 4..<10, UnsafeBufferPointer(rebasing: g[4..<10]))
                    try deliver(parameters[2], 0..<4, UnsafeBufferPointer(rebasing: g[0..<4]))
                }
                try gradients[0].withUnsafeBufferPointer { try deliver(parameters[0], 0..<6, $0) }
            }
            for (a, b) in zip(parameters, reference) { expectClose(a.value, b.value, rtol: 0, atol: 0, "round \(round)") }
        }
    }

    @Test("averageGradients sets one process's .grad to the gradients handed over, zeros for those never handed over, and updates nothing")
    func average() throws {
        let (parameters, gradients) = try Self.parameters()
        let values = parameters.map(\.value)
        parameters[1].grad = gradients[1]  // a stale gradient: replaced by zeros
        try GradientReducer(optimizer: SGD(parameters: parameters, learningRate: 0.1), group: ProcessGroup(), bucketElements: 8)
            .averageGradients { deliver in
                for i in [2, 0] { try gradients[i].withUnsafeBufferPointer { try deliver(parameters[i], 0..<$0.count, $0) } }
            }
        for i in [0, 2] { expectClose(parameters[i].grad, gradients[i], rtol: 0, atol: 0) }
        expectClose(parameters[1].grad, Tensor(shape: [4]), rtol: 0, atol: 0)
        for (p, v) in zip(parameters, values) { expectClose(p.value, v, rtol: 0, atol: 0) }
    }
}

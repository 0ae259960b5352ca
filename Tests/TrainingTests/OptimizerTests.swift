import NN
import Tensors
import TestSupport
import Testing
import Training

@Suite("Optimizers against PyTorch")
struct OptimizerTests {
    func make(_ name: String, _ parameters: [Parameter]) -> any Optimizer {
        switch name {
        case "adam": Adam(parameters: parameters, learningRate: 1e-2, weightDecay: 0.01)
        case "adamw": Adam(parameters: parameters, learningRate: 1e-2, weightDecay: 0.01, decoupled: true)
        case "sgd_momentum": SGD(parameters: parameters, learningRate: 1e-2, momentum: 0.9, weightDecay: 0.01)
        case "sgd_nesterov": SGD(parameters: parameters, learningRate: 1e-2, momentum: 0.9, nesterov: true)
        case "sgd_plain": SGD(parameters: parameters, learningRate: 1e-2)
        default: RMSprop(parameters: parameters, learningRate: 1e-3, weightDecay: 1e-8, momentum: 0.9)
        }
    }

    @Test("five steps reproduce PyTorch's parameter trajectory",
          arguments: ["adam", "adamw", "sgd_momentum", "sgd_nesterov", "sgd_plain", "rmsprop"])
    func trajectory(name: String) throws {
        let f = try Fixture("optimizers/" + name)
        let parameters = [Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))]
        let optimizer = make(name, parameters)
        for step in 1...5 {
            for (i, p) in parameters.enumerated() { p.grad = try f.tensor("g\(i)_\(step)") }
            optimizer.update()
            for (i, p) in parameters.enumerated() {
                expectClose(p.value, try f.tensor("p\(i)_\(step)"), rtol: 1e-5, atol: 1e-6, "\(name) step \(step) p\(i)")
            }
        }
    }

    @Test("state round trip: a restored optimizer continues exactly", arguments: ["adam", "sgd_momentum", "rmsprop"])
    func stateRoundTrip(name: String) throws {
        let f = try Fixture("optimizers/" + name)
        let (a, b) = ([Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))],
                      [Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))])
        let (first, second) = (make(name, a), make(name, b))
        for step in 1...2 {
            for (i, p) in a.enumerated() { p.grad = try f.tensor("g\(i)_\(step)") }
            first.update()
        }
        for (i, p) in b.enumerated() { p.value = a[i].value }
        try second.restore(first.state)
        for step in 3...5 {
            for i in 0..<2 {
                a[i].grad = try f.tensor("g\(i)_\(step)")
                b[i].grad = a[i].grad
            }
            first.update()
            second.update()
        }
        #expect(a.map(\.value) == b.map(\.value))
    }

    @Test("gradient clipping scales to the maximum norm, as clip_grad_norm_")
    func clipping() throws {
        let p = Parameter(Tensor(shape: [2]))
        p.grad = try Tensor(shape: [2], scalars: [3, 4])
        #expect(clipGradientNorm([p], maximum: 1) == 5)
        expectClose(p.grad, try Tensor(shape: [2], scalars: [0.6, 0.8]), rtol: 1e-5, atol: 1e-6)
        #expect(clipGradientNorm([p], maximum: 10) < 1.01)
        expectClose(p.grad, try Tensor(shape: [2], scalars: [0.6, 0.8]), rtol: 1e-5, atol: 1e-6)
    }

    @Test("a large parameter updated in parallel chunks equals the same values updated serially")
    func parallel() throws {
        var g = SeededGenerator(seed: 2)
        let count = 300_001  // above the parallel threshold; each piece below it is updated serially
        let values = Tensor.normal(shape: [count], using: &g)
        let gradient = Tensor.normal(shape: [count], using: &g)
        let big = Parameter(values)
        big.grad = gradient
        let pieces = stride(from: 0, to: count, by: 50_000).map { start -> Parameter in
            let range = start..<min(count, start + 50_000)
            let piece = Parameter(try! Tensor(shape: [range.count], scalars: Array(values.scalars[range])))
            piece.grad = try! Tensor(shape: [range.count], scalars: Array(gradient.scalars[range]))
            return piece
        }
        for optimizer in [Adam(parameters: [big]), Adam(parameters: pieces)] {
            optimizer.update()
            optimizer.update()
        }
        #expect(big.value.scalars == pieces.flatMap(\.value.scalars))
    }
}

import Foundation
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

    @Test("a frozen parameter (no gradient for its first two steps in PyTorch) is left alone, then counts its own Adam steps",
          arguments: ["adamw", "sgd_momentum"])
    func frozen(name: String) throws {
        let f = try Fixture("optimizers/\(name)_frozen")
        let parameters = [Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))]
        var optimizer = make(name, parameters)
        for step in 1...5 {
            if step == 3 {
                // A restart between frozen and unfrozen steps continues exactly (per-parameter steps in the state).
                let restored = make(name, parameters)
                try restored.restore(optimizer.state)
                optimizer = restored
            }
            optimizer.frozen = step <= 2 ? [1] : []
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
        // Many elements (blocks of eight lanes and a tail) over two parameters: the norm of all, each gradient scaled.
        var g = SeededGenerator(seed: 5)
        let (a, b) = (Parameter(Tensor(shape: [100_003])), Parameter(Tensor(shape: [7])))
        (a.grad, b.grad) = (Tensor.normal(shape: [100_003], using: &g), Tensor.normal(shape: [7], using: &g))
        let gradients = a.grad.scalars + b.grad.scalars
        let norm = gradients.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let clipped = clipGradientNorm([a, b], maximum: 2)
        #expect(abs(Double(clipped) - norm) <= 1e-6 * norm, "\(clipped) against \(norm)")
        let scale = 2 / (clipped + 1e-6)
        #expect(a.grad.scalars + b.grad.scalars == gradients.map { scale * $0 })
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
        let optimizers: [[any Optimizer]] = [[Adam(parameters: [big]), Adam(parameters: pieces)],
                                             [RMSprop(parameters: [big], momentum: 0.9), RMSprop(parameters: pieces, momentum: 0.9)],
                                             [SGD(parameters: [big], learningRate: 1e-2, momentum: 0.9, nesterov: true),
                                              SGD(parameters: pieces, learningRate: 1e-2, momentum: 0.9, nesterov: true)]]
        for pair in optimizers {
            for optimizer in pair {
                optimizer.update()
                optimizer.update()
            }
            #expect(big.value.scalars == pieces.flatMap(\.value.scalars))
        }
    }

    /// A parameter's values and three gradients, of 100,003 elements: parallel chunks, eight-lane vectors and a scalar tail.
    func largeCase(seed: UInt64) -> (start: Tensor, gradients: [Tensor]) {
        var g = SeededGenerator(seed: seed)
        let start = Tensor.normal(shape: [100_003], using: &g)
        return (start, (0..<3).map { _ in Tensor.normal(shape: [100_003], using: &g) })
    }

    @Test("RMSprop's vectorized update equals PyTorch's formula evaluated one element at a time",
          arguments: [(Float(0), Float(0)), (Float(1e-8), Float(0.999)), (Float(0.01), Float(0.9))])
    func rmspropFormula(weightDecay: Float, momentum: Float) throws {
        let (start, gradients) = largeCase(seed: 4)
        let count = start.count
        let p = Parameter(start)
        let rmsprop = RMSprop(parameters: [p], learningRate: 1e-3, weightDecay: weightDecay, momentum: momentum)
        var (value, s, b) = (start.scalars, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
        let (alpha, eps, lr): (Float, Float, Float) = (0.99, 1e-8, 1e-3)
        for gradient in gradients {
            p.grad = gradient
            rmsprop.update()
            for i in 0..<count {
                let grad = gradient.scalars[i] + weightDecay * value[i]
                s[i] = alpha * s[i] + (1 - alpha) * grad * grad
                let average = s[i].squareRoot() + eps
                if momentum > 0 {
                    b[i] = momentum * b[i] + grad / average
                    value[i] -= lr * b[i]
                } else {
                    value[i] -= lr * grad / average
                }
            }
        }
        #expect(p.value.scalars == value)
        #expect(rmsprop.squareAverages[0].scalars == s && rmsprop.buffers[0].scalars == b)
    }

    @Test("Adam's vectorized update equals PyTorch's formula evaluated one element at a time",
          arguments: [(Float(0), false), (Float(0.01), false), (Float(0.01), true)])
    func adamFormula(weightDecay: Float, decoupled: Bool) throws {
        let (start, gradients) = largeCase(seed: 3)
        let count = start.count
        let p = Parameter(start)
        let adam = Adam(parameters: [p], learningRate: 1e-2, weightDecay: weightDecay, decoupled: decoupled)
        var (value, m, v) = (start.scalars, [Float](repeating: 0, count: count), [Float](repeating: 0, count: count))
        let (b1, b2, eps, lr): (Float, Float, Float, Float) = (0.9, 0.999, 1e-8, 1e-2)
        for (index, gradient) in gradients.enumerated() {
            p.grad = gradient
            adam.update()
            let t = Float(index + 1)
            let (stepSize, correction2) = (lr / (1 - pow(b1, t)), (1 - pow(b2, t)).squareRoot())
            for i in 0..<count {
                var grad = gradient.scalars[i]
                if decoupled { value[i] *= 1 - lr * weightDecay } else if weightDecay != 0 { grad += weightDecay * value[i] }
                m[i] = b1 * m[i] + (1 - b1) * grad
                v[i] = b2 * v[i] + (1 - b2) * grad * grad
                value[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2 + eps)
            }
        }
        #expect(p.value.scalars == value)
        #expect(adam.firstMoments[0].scalars == m && adam.secondMoments[0].scalars == v)
    }

    @Test("a step fed gradients piece by piece, in any order, equals update() from .grad",
          arguments: ["adam", "adamw", "sgd_momentum", "sgd_nesterov", "sgd_plain", "rmsprop"])
    func stepByParameter(name: String) throws {
        let f = try Fixture("optimizers/" + name)
        let (a, b) = ([Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))],
                      [Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))])
        let (whole, fed) = (make(name, a), make(name, b))
        for step in 1...3 {
            let gradients = [try f.tensor("g0_\(step)"), try f.tensor("g1_\(step)")]
            for (p, gradient) in zip(a, gradients) { p.grad = gradient }
            whole.update()
            var handed: [Int] = []
            try fed.step { deliver in
                for i in [1, 0] {
                    // The second half first, then the first.
                    try gradients[i].withUnsafeBufferPointer { g in
                        let half = g.count / 2
                        try deliver(b[i], half..<g.count, UnsafeBufferPointer(rebasing: g[half...]))
                        try deliver(b[i], 0..<half, UnsafeBufferPointer(rebasing: g[..<half]))
                    }
                    handed.append(i)
                }
            }
            #expect(handed == [1, 0])
            #expect(gradients.allSatisfy { $0.count >= 2 }, "every parameter comes in two pieces")
            #expect(a.map(\.value) == b.map(\.value), "\(name) step \(step)")
            #expect(b.allSatisfy { $0.grad.scalars.allSatisfy { $0 == 0 } }, "a fed step stores no gradient")
        }
    }

    @Test("a step updates a parameter it was never handed with a zero gradient, as update() does")
    func stepWithoutGradient() throws {
        let (a, b) = (Parameter(try Tensor(shape: [2], scalars: [1, 2])), Parameter(try Tensor(shape: [2], scalars: [1, 2])))
        let (whole, fed) = (Adam(parameters: [a], learningRate: 0.1), Adam(parameters: [b], learningRate: 0.1))
        let gradient = try Tensor(shape: [2], scalars: [0.5, -0.5])
        a.grad = gradient
        whole.update()
        try fed.step { deliver in try gradient.withUnsafeBufferPointer { try deliver(b, 0..<2, $0) } }
        a.zeroGrad()
        whole.update()
        let before = b.value
        try fed.step { _ in }
        #expect(b.value != before, "the first step's momentum still moves the parameter")
        #expect(a.value == b.value)
    }
}

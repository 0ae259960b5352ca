import NN
import Tensors
import TestSupport
import Testing
import Training

@Suite("Adam and AdamW against PyTorch")
struct AdamTests {
    @Test("five steps reproduce PyTorch's parameter trajectory", arguments: ["adam", "adamw"])
    func trajectory(name: String) throws {
        let f = try Fixture("optimizers/" + name)
        let parameters = [Parameter(try f.tensor("p0_0")), Parameter(try f.tensor("p1_0"))]
        let optimizer = Adam(parameters: parameters, learningRate: 1e-2, weightDecay: 0.01, decoupled: name == "adamw")
        for step in 1...5 {
            for (i, p) in parameters.enumerated() { p.grad = try f.tensor("g\(i)_\(step)") }
            optimizer.update()
            for (i, p) in parameters.enumerated() {
                expectClose(p.value, try f.tensor("p\(i)_\(step)"), rtol: 1e-5, atol: 1e-6, "\(name) step \(step) p\(i)")
            }
        }
        #expect(optimizer.step == 5)
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

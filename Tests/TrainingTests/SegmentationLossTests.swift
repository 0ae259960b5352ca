import Tensors
import TestSupport
import Testing
import Training

@Suite("Segmentation losses against PyTorch")
struct SegmentationLossTests {
    func check(_ classes: Int, _ name: String,
               _ loss: (Tensor, [Int32]) throws -> (loss: Float, gradient: Tensor)) throws {
        let f = try Fixture("losses/segmentation_c\(classes)")
        let targets = (try f.tensor("target")).scalars.map { Int32($0) }
        let (value, gradient) = try loss(try f.tensor("logits"), targets)
        let expected = (try f.tensor(name))[flat: 0]
        #expect(abs(value - expected) <= 1e-5 + 1e-4 * abs(expected), "\(name): \(value) vs \(expected)")
        expectClose(gradient, try f.tensor("d" + name), rtol: Tolerance.backward.rtol, atol: 1e-6, "d\(name)")
    }

    @Test("multi-class: cross-entropy, soft Dice, Dice + CE")
    func multiClass() throws {
        try check(3, "ce") { try SegmentationLoss.crossEntropy(logits: $0, targets: $1) }
        try check(3, "dice") { try SegmentationLoss.softDice(logits: $0, targets: $1) }
        try check(3, "dice_ce") { try SegmentationLoss.diceCrossEntropy(logits: $0, targets: $1) }
    }

    @Test("one class: binary cross-entropy with logits, soft Dice, Dice + BCE")
    func binary() throws {
        try check(1, "ce") { try SegmentationLoss.binaryCrossEntropy(logits: $0, targets: $1) }
        try check(1, "dice") { try SegmentationLoss.softDice(logits: $0, targets: $1) }
        try check(1, "dice_ce") { try SegmentationLoss.diceCrossEntropy(logits: $0, targets: $1) }
    }

    @Test("gradients match finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 3)
        let logits = Tensor.normal(shape: [2, 3, 3, 4], using: &g)
        let targets = (0..<24).map { Int32($0 % 3) }
        // A scalar loss as a "function" of the logits: checkGradient differentiates sum(loss · dy).
        try checkGradient(of: { z in
            let (loss, gradient) = try SegmentationLoss.diceCrossEntropy(logits: z, targets: targets)
            return (Tensor(shape: [1], repeating: loss), { dy in dy[flat: 0] * gradient })
        }, at: logits, epsilon: 1e-2, rtol: 2e-2, atol: 1e-4)
    }

    @Test("targets outside the classes and mismatched sizes are errors")
    func errors() {
        let logits = Tensor(shape: [1, 2, 2, 2])
        #expect(throws: TensorError.self) { try SegmentationLoss.crossEntropy(logits: logits, targets: [0, 1, 2, 0]) }
        #expect(throws: TensorError.self) { try SegmentationLoss.crossEntropy(logits: logits, targets: [0, 1]) }
        #expect(throws: TensorError.self) { try SegmentationLoss.binaryCrossEntropy(logits: logits, targets: [0, 1, 0, 1]) }
    }
}

import Tensors
import TestSupport
import Testing
import Training

@Suite("Losses with ignored pixels, class weights, focal")
struct LossFunctionTests {
    func check(_ classes: Int, _ name: String, _ loss: LossFunction, fixture suffix: String = "") throws {
        let f = try Fixture("losses/ignore_c\(classes)\(suffix)")
        let targets = (try f.tensor("target")).scalars.map { Int32($0) }
        let (value, gradient) = try loss(logits: try f.tensor("logits"), targets: targets)
        let expected = (try f.tensor(name))[flat: 0]
        #expect(abs(value - expected) <= 1e-5 + 1e-4 * abs(expected), "\(name): \(value) vs \(expected)")
        expectClose(gradient, try f.tensor("d" + name), rtol: Tolerance.backward.rtol, atol: 1e-6, "d\(name)")
    }

    /// Dice + CE (`loss`) against the sum of the fixture's two terms, losses and gradients.
    func checkSum(_ classes: Int, _ ce: String, _ dice: String, _ loss: LossFunction, fixture suffix: String = "") throws {
        let f = try Fixture("losses/ignore_c\(classes)\(suffix)")
        let targets = (try f.tensor("target")).scalars.map { Int32($0) }
        let (value, gradient) = try loss(logits: try f.tensor("logits"), targets: targets)
        let expected = (try f.tensor(ce))[flat: 0] + (try f.tensor(dice))[flat: 0]
        #expect(abs(value - expected) <= 1e-5 + 1e-4 * abs(expected), "\(ce) + \(dice): \(value) vs \(expected)")
        expectClose(gradient, try f.tensor("d" + ce) + f.tensor("d" + dice), rtol: Tolerance.backward.rtol, atol: 1e-6, "d\(ce) + d\(dice)")
    }

    @Test("multi-class: CE with ignore index, weighted CE, Dice with and without background, focal")
    func multiClass() throws {
        let weights = (try Fixture("losses/ignore_c3").tensor("class_weights")).scalars
        try check(3, "ce", LossFunction(kind: .ce))
        try check(3, "ce_weighted", LossFunction(kind: .ce, classWeights: weights))
        try check(3, "dice", LossFunction(kind: .dice))
        try check(3, "dice_no_background", LossFunction(kind: .dice, diceIncludesBackground: false))
        try check(3, "focal", LossFunction(kind: .focal, focalGamma: 2))
        // What train's loss line says: the background is left out of a Dice term of two or more classes only.
        let noBackground = LossFunction(diceIncludesBackground: false)
        #expect(noBackground.leavesDiceBackground(classes: 3) && !noBackground.leavesDiceBackground(classes: 1))
        #expect(!LossFunction().leavesDiceBackground(classes: 3))
        #expect(!LossFunction(kind: .ce, diceIncludesBackground: false).leavesDiceBackground(classes: 3))
    }

    @Test("one class: BCE, Dice and focal over counted pixels")
    func binary() throws {
        try check(1, "ce", LossFunction(kind: .ce))
        try check(1, "dice", LossFunction(kind: .dice))
        try check(1, "focal", LossFunction(kind: .focal, focalGamma: 2))
    }

    @Test("an image of more pixels than a block of the parallel loops (two blocks): every loss as PyTorch computes it, Dice + CE as its terms' sum")
    func blocks() throws {
        let weights = (try Fixture("losses/ignore_c3_blocks").tensor("class_weights")).scalars
        for (name, loss) in [("ce", LossFunction(kind: .ce)), ("ce_weighted", LossFunction(kind: .ce, classWeights: weights)),
                             ("dice", LossFunction(kind: .dice)), ("dice_no_background", LossFunction(kind: .dice, diceIncludesBackground: false))] {
            try check(3, name, loss, fixture: "_blocks")
        }
        // Dice + CE from one softmax (one sigmoid for one class), Dice's gradient added into CE's.
        try checkSum(3, "ce", "dice", LossFunction(), fixture: "_blocks")
        try checkSum(3, "ce_weighted", "dice_no_background", LossFunction(classWeights: weights, diceIncludesBackground: false),
                     fixture: "_blocks")
        try checkSum(1, "ce", "dice", LossFunction(), fixture: "_blocks")
        try check(1, "ce", LossFunction(kind: .ce), fixture: "_blocks")
        try check(1, "dice", LossFunction(kind: .dice), fixture: "_blocks")
    }

    @Test("focal gradients match finite differences", arguments: [1, 3])
    func focalFiniteDifferences(classes: Int) throws {
        var g = SeededGenerator(seed: 4)
        let logits = Tensor.normal(shape: [2, classes, 3, 3], using: &g)
        let targets = (0..<18).map { Int32($0 % 4 == 3 ? -1 : $0 % max(classes, 2)) }
        try checkGradient(of: { z in
            let (loss, gradient) = try SegmentationLoss.focal(logits: z, targets: targets)
            return (Tensor(shape: [1], repeating: loss), { dy in dy[flat: 0] * gradient })
        }, at: logits, epsilon: 1e-2, rtol: 2e-2, atol: 1e-4)
    }

    @Test("a batch with every pixel ignored gives zero loss and gradient, not NaN")
    func allIgnored() throws {
        let logits = Tensor(shape: [1, 3, 2, 2], repeating: 1)
        for kind in LossFunction.Kind.allCases {
            let (loss, gradient) = try LossFunction(kind: kind)(logits: logits, targets: [-1, -1, -1, -1])
            #expect(loss.isFinite && gradient.scalars.allSatisfy(\.isFinite), "\(kind)")
        }
    }
}

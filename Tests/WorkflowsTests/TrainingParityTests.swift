import Checkpoints
import Execution
import Models
import Tensors
import TestSupport
import Testing
import Training

/// A small U-Net trained 3 Adam steps on a fixed batch through the compiled network, against PyTorch.
@Suite("Training parity with PyTorch")
struct TrainingParityTests {
    @Test("loss sequence, final parameters and BN running statistics after 3 Adam steps")
    func threeSteps() throws {
        let f = try Fixture("training/adam_3_steps")
        let model = try ModelFile.load(path: Fixture.path("models/milesial_b2_c2.pth")).model
        let x = try f.tensor("x")
        let targets = (try f.tensor("target")).scalars.map { Int32($0) }
        let compiled = try CompiledUNet(model, inputShape: x.shape, training: true)
        let optimizer = Adam(parameters: model.trainableParameters, learningRate: 1e-3)
        let loss = LossFunction()
        var losses: [Float] = []
        for _ in 0..<3 {
            let logits = try compiled.forward(x)
            let (value, gradient) = try loss(logits: logits, targets: targets)
            losses.append(value)
            try compiled.backward(gradient)
            optimizer.update()
        }
        expectClose(try Tensor(shape: [3], scalars: losses), try f.tensor("losses"), rtol: 1e-3, atol: 1e-5, "losses")
        for (key, parameter) in model.namedParameters() {
            expectClose(parameter.value, try f.tensor("final." + key), rtol: 1e-3, atol: 1e-4, key)
        }
    }
}

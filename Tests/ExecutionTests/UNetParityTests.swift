import Checkpoints
import Execution
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// The PyTorch models of scripts/unet_zoo.py, loaded from their torch.save files, run by the engine with every pass
/// off (the reference) and with every pass on, against PyTorch's outputs, gradients and running statistics.
@Suite("UNet parity with PyTorch, passes off and on")
struct UNetParityTests {
    static let names = ["milesial_b2_c2", "milesial_bilinear_b2_c1", "labml_b2", "tutorial_valid_crop", "tutorial_same_pad",
                        "tutorial_same_crop"]
    static let passSets: [(String, Set<Pass>)] = [("passes off", []), ("passes on", Set(Pass.allCases))]

    static func model(_ name: String) throws -> (UNet, Fixture) {
        let f = try Fixture("models/" + name)
        var g = SeededGenerator(seed: 0)
        let model = try UNet(try f.unetConfiguration(), generator: &g)
        try model.load(try Checkpoint.read(path: Fixture.path("models/\(name).pth")).stateDict())
        return (model, f)
    }

    @Test("eval-mode logits match PyTorch", arguments: names)
    func evalLogits(name: String) throws {
        for (label, passes) in Self.passSets {
            let (model, f) = try Self.model(name)
            let x = try f.tensor("x")
            let network = try CompiledUNet(model, inputShape: x.shape, training: false, passes: passes)
            expectClose(try network.forward(x), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
        }
    }

    @Test("train-mode logits (batch statistics), every gradient and the running statistics match PyTorch", arguments: names)
    func training(name: String) throws {
        for (label, passes) in Self.passSets {
            let (model, f) = try Self.model(name)
            let x = try f.tensor("x")
            let network = try CompiledUNet(model, inputShape: x.shape, training: true, passes: passes)
            expectClose(try network.forward(x), try f.tensor("logits_train"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
            guard f.has("dy") else { continue }
            try network.backward(try f.tensor("dy"))
            var checked = 0
            for (key, parameter) in model.namedParameters() {
                if parameter.requiresGrad {
                    expectClose(parameter.grad, try f.tensor("grad." + key), rtol: 1e-3, atol: 1e-4, "\(name), \(label): grad \(key)")
                } else {
                    expectClose(parameter.value, try f.tensor("after." + key), rtol: 1e-4, atol: 1e-5, "\(name), \(label): after \(key)")
                }
                checked += 1
            }
            #expect(checked == model.stateDict().count && checked > 20)
        }
    }
}

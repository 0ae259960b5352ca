import Checkpoints
import Models
import NN
import Tensors
import TestSupport
import Testing

/// The PyTorch models of scripts/unet_zoo.py, loaded from their torch.save files, against PyTorch's outputs.
@Suite("UNet parity with PyTorch")
struct UNetParityTests {
    /// Builds the configuration a fixture's metadata describes.
    static func configuration(_ f: Fixture) throws -> UNetConfiguration {
        let layout = try #require(UNetConfiguration.Layout(rawValue: try f.string("layout")))
        let (input, classes, base) = (try f.int("in_channels"), try f.int("classes"), try f.int("base"))
        switch layout {
        case .milesial:
            return .milesial(inputChannels: input, classes: classes, bilinear: try f.int("bilinear") == 1, baseWidth: base)
        case .labml:
            return .labml(inputChannels: input, classes: classes, baseWidth: base)
        case .tutorial:
            return .tutorial(inputChannels: input, classes: classes, baseWidth: base,
                             padding: try #require(.init(rawValue: try f.string("padding"))),
                             merge: try #require(.init(rawValue: try f.string("merge"))))
        }
    }

    static func model(_ name: String) throws -> (UNet, Fixture) {
        let f = try Fixture("models/" + name)
        var g = SeededGenerator(seed: 0)
        let model = try UNet(try configuration(f), generator: &g)
        try model.load(try Checkpoint.read(path: Fixture.path("models/\(name).pth")).stateDict())
        return (model, f)
    }

    @Test("eval-mode logits match PyTorch",
          arguments: ["milesial_b2_c2", "milesial_bilinear_b2_c1", "labml_b2", "tutorial_valid_crop",
                      "tutorial_same_pad", "tutorial_same_crop"])
    func evalLogits(name: String) throws {
        let (model, f) = try Self.model(name)
        model.eval()
        let x = try f.tensor("x")
        expectClose(try model(x), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, "callAsFunction")
        expectClose(try model.forward(x).0, try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, "forward")
    }

    @Test("train-mode logits (batch statistics) match PyTorch",
          arguments: ["milesial_b2_c2", "milesial_bilinear_b2_c1", "labml_b2", "tutorial_valid_crop",
                      "tutorial_same_pad", "tutorial_same_crop"])
    func trainLogits(name: String) throws {
        let (model, f) = try Self.model(name)
        model.train()
        expectClose(try model.forward(try f.tensor("x")).0, try f.tensor("logits_train"), rtol: 1e-3, atol: 1e-4)
    }

    @Test("gradients of sum(logits * dy) for every parameter, and BN running stats, match PyTorch",
          arguments: ["milesial_b2_c2", "milesial_bilinear_b2_c1", "labml_b2"])
    func gradients(name: String) throws {
        let (model, f) = try Self.model(name)
        model.train()
        model.zeroGrad()
        let (_, pullback) = try model.forward(try f.tensor("x"))
        _ = try pullback(try f.tensor("dy"))
        var checked = 0
        for (key, parameter) in model.namedParameters() {
            if parameter.requiresGrad {
                expectClose(parameter.grad, try f.tensor("grad." + key), rtol: 1e-3, atol: 1e-4, "grad \(key)")
            } else {
                expectClose(parameter.value, try f.tensor("after." + key), rtol: 1e-4, atol: 1e-5, "after \(key)")
            }
            checked += 1
        }
        #expect(checked == model.stateDict().count && checked > 20)
    }
}

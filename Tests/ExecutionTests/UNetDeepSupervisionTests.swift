import Execution
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing
import Training

/// Deep supervision added to the classic U-Net (scripts/make_fixtures.py, group classic_deep_supervision: milesial's
/// U-Net with a 1x1 head on up1, up2 and up3, the masks resized and the outputs weighted as nnU-Net's trainer does):
/// every output, the weighted loss, and every gradient of the network and of the heads, with the engine's passes off
/// and on.
@Suite("Classic U-Net deep supervision against PyTorch with added heads")
struct UNetDeepSupervisionTests {
    static let names = ["classic_ds_transposed", "classic_ds_bilinear"]

    static func model(_ name: String) throws -> (UNet, UNetDeepSupervisionHeads, Fixture) {
        let f = try Fixture("models/" + name)
        var g = SeededGenerator(seed: 0)
        let model = try UNet(try f.unetConfiguration(), generator: &g)
        let heads = try UNetDeepSupervisionHeads(for: model, generator: &g)
        for (prefix, module) in [("param.", model as any Module), ("head.", heads)] {
            for (key, parameter) in module.namedParameters() {
                let value = try f.tensor(prefix + key)
                try #require(value.shape == parameter.value.shape, "\(name): \(prefix)\(key)")
                parameter.value = value
            }
        }
        return (model, heads, f)
    }

    @Test("every output, the weighted loss and every gradient of the network and its added heads match PyTorch", arguments: names)
    func training(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, heads, f) = try Self.model(name)
            let x = try f.tensor("x")
            let network = try CompiledUNet(model, inputShape: x.shape, training: true, deepSupervision: true, addedHeads: heads,
                                           passes: passes)
            let outputs = [try network.forward(x)] + network.auxiliaryOutputs
            #expect(outputs.count == 4, "\(name): outc and a head on up3, up2, up1")
            for (i, output) in outputs.enumerated() {
                expectClose(output, try f.tensor("logits.\(i)"), rtol: 1e-3, atol: 1e-4, "\(name), \(label): output \(i)")
            }
            let targets = try f.tensor("target.0").scalars.map { Int32($0) }
            let (loss, gradients) = try DeepSupervisionLoss(loss: LossFunction())(outputs: outputs, targets: targets)
            let expected = try f.tensor("loss")[flat: 0]
            #expect(abs(loss - expected) <= 1e-4 * abs(expected), "\(name), \(label): loss \(loss) vs \(expected)")
            try network.backward(gradients[0], auxiliaryGradients: Array(gradients.dropFirst()))
            var checked = 0
            for (key, parameter) in model.namedParameters() where parameter.requiresGrad {
                expectCloseInNorm(parameter.grad, try f.tensor("grad." + key), "\(name), \(label): grad \(key)")
                checked += 1
            }
            #expect(checked == model.trainableParameters.count)
            // up1's head weighs 0: PyTorch leaves it without a gradient, and here it is zero.
            for (key, parameter) in heads.namedParameters() {
                if f.has("grad.head." + key) {
                    expectCloseInNorm(parameter.grad, try f.tensor("grad.head." + key), "\(name), \(label): grad head \(key)")
                } else {
                    #expect(key.hasPrefix("0.") && MONAIParityTests.largest(parameter.grad) == 0, "\(name), \(label): head \(key)")
                }
            }
            #expect(MONAIParityTests.largest(try f.tensor("grad.head.2.weight")) > 0, "\(name): up3's head is scored")
        }
    }

    @Test("the heads stay out of the model: its keys, its inference graph and its full-resolution logits are as without them")
    func headsStayOut() throws {
        let (model, heads, f) = try Self.model("classic_ds_transposed")
        let x = try f.tensor("x")
        let keys = model.namedParameters().map(\.0)
        let supervised = try CompiledUNet(model, inputShape: x.shape, training: true, deepSupervision: true, addedHeads: heads)
        let supervisedLogits = try supervised.forward(x)
        #expect(model.namedParameters().map(\.0) == keys && !keys.contains { $0.hasPrefix("deep_supervision") })
        #expect(try model.graph(inputShape: x.shape).auxiliaryOutputs.isEmpty)
        let (plainModel, _, _) = try Self.model("classic_ds_transposed")
        let plain = try CompiledUNet(plainModel, inputShape: x.shape, training: true)
        #expect(try plain.forward(x) == supervisedLogits)
        #expect(heads.namedParameters().map(\.0) == ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"])
    }

    @Test("valid padding and depths below 3 are refused with the reason")
    func refused() throws {
        var g = SeededGenerator(seed: 0)
        for configuration in [UNetConfiguration.tutorial(inputChannels: 1, classes: 2, baseWidth: 4, padding: .valid, merge: .crop),
                              .milesial(inputChannels: 1, classes: 2, baseWidth: 4, depth: 2)] {
            let model = try UNet(configuration, generator: &g)
            #expect(UNetDeepSupervisionHeads.problem(configuration) != nil)
            #expect(throws: UNetError.self) { try UNetDeepSupervisionHeads(for: model, generator: &g) }
        }
        #expect(UNetDeepSupervisionHeads.problem(.milesial(inputChannels: 1, classes: 2, baseWidth: 4, depth: 3)) == nil)
    }
}

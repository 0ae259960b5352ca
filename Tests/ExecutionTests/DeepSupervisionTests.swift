import Execution
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing
import Training

/// nnU-Net's training with deep supervision (scripts/make_fixtures.py, group deep_supervision: dynamic-network-architectures
/// 0.4.4 networks built with `deep_supervision=True`, the masks resized as nnU-Net resizes them, nnU-Net's loss weights):
/// every head's train-mode logits, the resized masks, the weighted loss and every parameter's gradient, with the
/// engine's passes off and on.
@Suite("nnU-Net deep supervision against dynamic-network-architectures and nnU-Net's loss weighting")
struct DeepSupervisionTests {
    static let names = ["nnunet_ds_plain_s4", "nnunet_ds_resenc_s4"]

    static func targets(_ f: Fixture, _ i: Int) throws -> [Int32] { try f.tensor("target.\(i)").scalars.map { Int32($0) } }

    @Test("nnU-Net's weights: 1/2^i from the full resolution, the lowest resolution 0, normalized")
    func weights() throws {
        #expect(DeepSupervisionLoss.weights(count: 1) == [1])
        #expect(DeepSupervisionLoss.weights(count: 2) == [1, 0])
        for name in Self.names {
            let f = try Fixture("models/" + name)
            let expected = try f.tensor("weights").scalars
            let weights = DeepSupervisionLoss.weights(count: expected.count)
            #expect(zip(weights, expected).allSatisfy { abs($0 - $1) <= 1e-7 }, "\(weights) vs \(expected)")
        }
        let five = DeepSupervisionLoss.weights(count: 5)
        #expect(abs(five.reduce(0, +) - 1) <= 1e-6 && five[4] == 0 && abs(five[0] / five[3] - 8) <= 1e-5)
    }

    @Test("the masks resized to every head's size as nnU-Net's DownsampleSegForDSTransform resizes them", arguments: names)
    func resizedTargets(name: String) throws {
        let f = try Fixture("models/" + name)
        let full = try f.tensor("logits.0").shape
        var i = 1
        while f.has("target.\(i)") {
            let shape = try f.tensor("logits.\(i)").shape
            let resized = DeepSupervisionLoss.resize(try Self.targets(f, 0), batch: full[0], from: (full[2], full[3]), to: (shape[2], shape[3]))
            #expect(resized == (try Self.targets(f, i)), "\(name): head \(i)")
            i += 1
        }
        #expect(i >= 3, "\(name): the fixture has every head")
    }

    @Test("every head's train-mode logits, the weighted loss and every gradient match the package", arguments: names)
    func training(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, f) = try PlainConvUNetParityTests.model(name)
            let x = try f.tensor("x")
            let graph = try #require(try model.deepSupervisionGraph(inputShape: x.shape))
            let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: true, passes: passes)
            let outputs = [try network.forward(x)] + network.auxiliaryOutputs
            #expect(outputs.count == model.architecture.deepSupervisionHeads + 1)
            for (i, output) in outputs.enumerated() {
                expectClose(output, try f.tensor("logits.\(i)"), rtol: 1e-3, atol: 1e-4, "\(name), \(label): head \(i)")
            }
            let (loss, gradients) = try DeepSupervisionLoss(loss: LossFunction())(outputs: outputs, targets: try Self.targets(f, 0))
            let expected = try f.tensor("loss")[flat: 0]
            #expect(abs(loss - expected) <= 1e-4 * abs(expected), "\(name), \(label): loss \(loss) vs \(expected)")
            #expect(MONAIParityTests.largest(gradients.last!) == 0, "the lowest resolution weighs 0")
            try network.backward(gradients[0], auxiliaryGradients: Array(gradients.dropFirst()))
            // The lowest-resolution head weighs 0: nnU-Net does not score it, and PyTorch leaves it without a gradient.
            let checked = try PlainConvUNetParityTests.checkGradients(model, f, "\(name), \(label)", unscored: "decoder.seg_layers.0.")
            #expect(checked == model.namedParameters().count - 2)
            // Without the lower heads' terms the gradients differ: the check above sees deep supervision.
            let middle = "decoder.seg_layers.\(outputs.count - 2).weight"
            #expect(MONAIParityTests.largest(try f.tensor("grad." + middle)) > 0, "\(name): a supervised lower head gets a gradient")
        }
    }

    @Test("the gradients of the further outputs must match their shapes")
    func gradientShapes() throws {
        let (model, f) = try PlainConvUNetParityTests.model("nnunet_ds_plain_s4")
        let x = try f.tensor("x")
        let network = try CompiledNetwork(graph: try #require(try model.deepSupervisionGraph(inputShape: x.shape)),
                                          parameters: model.namedParameters(), training: true)
        let logits = try network.forward(x)
        #expect(throws: CompilationError.self) { try network.backward(logits) }
        #expect(try model.graph(inputShape: x.shape).auxiliaryOutputs.isEmpty, "inference reads the full-resolution head alone")
    }
}

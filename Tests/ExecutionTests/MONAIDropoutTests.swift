import Execution
import Foundation
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// MONAI's `dropout` in `UNet` and `BasicUNet`: each dropout node where monai 1.6.1 holds an `nn.Dropout`
/// (models/monai_dropout.json, from scripts/make_fixtures.py), at its rate; none in an inference network, whose output
/// is the same network's without dropout.
@Suite("MONAI UNet and BasicUNet dropout")
struct MONAIDropoutTests {
    /// The fixture's networks as this project configures them.
    static let cases: [(String, Architecture, [Int])] = [
        ("unet_res2_dropout", .monaiUNet(MONAIUNetConfiguration(channels: [8, 16, 32], strides: [2, 2], residualUnits: 2, norm: .batch,
                                                                inputChannels: 1, classes: 2)), [2, 1, 16, 20]),
        ("unet_res0_dropout", .monaiUNet(MONAIUNetConfiguration(channels: [8, 16, 32, 64], strides: [2, 2, 2], residualUnits: 0,
                                                                norm: .instance, inputChannels: 3, classes: 3)), [2, 3, 16, 24]),
        ("basicunet_dropout", .basicUNet(BasicUNetConfiguration(features: [4, 4, 8, 8, 16, 4], inputChannels: 1, classes: 2)),
         [2, 1, 37, 45]),
    ]

    /// `name`'s `[module name, rate]` pairs, in MONAI's module order.
    static func dropouts(_ name: String) throws -> [(String, Float)] {
        let data = try #require(FileManager.default.contents(atPath: Fixture.path("models/monai_dropout.json")))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let rows = try #require(all[name]?["dropout"] as? [[Any]], "monai_dropout.json lacks \(name)")
        return try rows.map { (try #require($0[0] as? String), Float(try #require($0[1] as? Double))) }
    }

    @Test("a dropout node wherever MONAI has an nn.Dropout, at its rate, and nowhere else", arguments: cases.map(\.0))
    func placement(name: String) throws {
        let (_, plain, shape) = try #require(Self.cases.first { $0.0 == name })
        let expected = try Self.dropouts(name)
        let architecture = try plain.with(dropout: try #require(expected.first).1)
        var g = SeededGenerator(seed: 1)
        let graph = try architecture.makeModel(generator: &g).graph(inputShape: shape)
        let ours: [(String, Float)] = graph.nodes.compactMap { node in
            if case .dropout(let rate, let perSample) = node.op, !perSample { (node.name, rate) } else { nil }
        }
        #expect(ours.map(\.0) == expected.map(\.0))
        #expect(ours.map(\.1) == expected.map(\.1))
    }

    @Test("training draws masks; the inference network is the network without dropout", arguments: cases.map(\.0))
    func inference(name: String) throws {
        let (_, plain, shape) = try #require(Self.cases.first { $0.0 == name })
        var g = SeededGenerator(seed: 1)
        let reference = try plain.makeModel(generator: &g)
        let dropped = try plain.with(dropout: try #require(try Self.dropouts(name).first).1).makeModel(generator: &g)
        try dropped.load(reference.stateDict(), strict: true)
        for model in [reference, dropped] { model.eval() }
        let x = Tensor(shape: shape) { Float(($0 * 7919) % 97) / 97 - 0.5 }
        let expected = try CompiledUNet(reference, inputShape: shape, training: false).forward(x)
        #expect(try CompiledUNet(dropped, inputShape: shape, training: false).forward(x).scalars == expected.scalars)
        let training = try CompiledUNet(dropped, inputShape: shape, training: true, randomSeed: 3)
        let (first, second) = (try training.forward(x), try training.forward(x))
        #expect(first.scalars != second.scalars, "two training forwards drew the same masks")
    }

    @Test("a rate outside [0, 1), or dropout for another family, is refused")
    func refusals() {
        #expect(throws: UNetError.self) { try Architecture.monaiUNet(MONAIUNetConfiguration()).with(dropout: 1) }
        #expect(throws: UNetError.self) { try Architecture.unet(UNetConfiguration()).with(dropout: 0.1) }
    }
}

import Execution
import Foundation
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// Stochastic depth of smp's EfficientNet encoders: a drop-path node on each block's residual branch where smp 0.6.0
/// drops it in training, at its rate (models/smp_drop_path.json, from scripts/make_fixtures.py: efficientnet-pytorch's
/// drop connect, timm's `DropPath`); none without a rate, and none for an encoder without stochastic depth.
@Suite("smp Unet EfficientNet stochastic depth")
struct SMPUNetDropPathTests {
    static let encoders = ["efficientnet-b0", "efficientnet-b3", "timm-efficientnet-b0", "timm-tf_efficientnet_lite2"]

    /// `encoder`'s `[node name, rate]` pairs, in smp's block order.
    static func expected(_ encoder: String) throws -> [(String, Double)] {
        let data = try #require(FileManager.default.contents(atPath: Fixture.path("models/smp_drop_path.json")))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [[Any]]])
        let rows = try #require(all[encoder], "smp_drop_path.json lacks \(encoder)")
        return try rows.map { (try #require($0[0] as? String), try #require($0[1] as? Double)) }
    }

    /// The drop-path nodes of `architecture`'s graph: names and rates.
    static func dropPaths(_ architecture: Architecture) throws -> [(String, Float)] {
        var g = SeededGenerator(seed: 1)
        let graph = try architecture.makeModel(generator: &g).graph(inputShape: [1, 3, 64, 64])
        return graph.nodes.compactMap { node in
            if case .dropout(let rate, true) = node.op { (node.name, rate) } else { nil }
        }
    }

    @Test("a drop-path node on each block smp drops, at smp's rate", arguments: encoders)
    func placement(encoder: String) throws {
        let plain = Architecture.smpUNet(SMPUNetConfiguration(encoder: try #require(SMPEncoder(rawValue: encoder)), classes: 2))
        #expect(try Self.dropPaths(plain).isEmpty)
        let ours = try Self.dropPaths(try plain.with(dropPath: 0.2))
        let theirs = try Self.expected(encoder)
        #expect(ours.map(\.0) == theirs.map(\.0))
        for ((name, rate), (_, expected)) in zip(ours, theirs) {
            #expect(abs(Double(rate) - expected) < 1e-6, "\(name): \(rate), smp's \(expected)")
        }
    }

    @Test("an encoder without stochastic depth refuses a rate; a model file records the rate, one written before has none")
    func configuration() throws {
        let resnet = Architecture.smpUNet(SMPUNetConfiguration(encoder: .resnet(.resnet34), classes: 2))
        #expect(throws: UNetError.self) { try resnet.with(dropPath: 0.2) }
        #expect(try resnet.with(dropPath: 0) != resnet)
        var c = SMPUNetConfiguration(encoder: .timmEfficientNet(.lite0), classes: 2)
        c.dropPath = 0.2
        let decoded = try JSONDecoder().decode(SMPUNetConfiguration.self, from: try JSONEncoder().encode(c))
        #expect(decoded == c)
        c.dropPath = nil
        let before = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(c)) as? [String: Any]
        #expect(before?["dropPath"] == nil)
        #expect(try JSONDecoder().decode(SMPUNetConfiguration.self, from: try JSONEncoder().encode(c)).dropPath == nil)
        c.dropPath = 1
        #expect(throws: UNetError.self) { try c.validate() }
    }
}

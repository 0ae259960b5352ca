import Foundation
import Models
import NN
import Tensors
import TestSupport
import Testing

/// nnU-Net's typical 2-D network (7 stages, 32-512 features; keys dumped by scripts/make_fixtures.py into
/// models/nnunet_layout.json): our keys are the package's without the aliases, which `PlainConvUNet.aliases` gives.
@Suite("nnU-Net PlainConvUNet layout and detection")
struct PlainConvUNetLayoutTests {
    @Test("every key and shape of the package's state dict: ours in its order, the rest its aliases; detected from them")
    func layout() throws {
        let data = try #require(FileManager.default.contents(atPath: Fixture.path("models/nnunet_layout.json")))
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let theirs = try #require(object["keys"] as? [[Any]]).compactMap { entry in (entry[0] as? String).map { ($0, (entry[1] as? [Int]) ?? []) } }
        let expected = PlainConvUNetConfiguration.nnUNetDefault(inputChannels: 1, classes: 4)
        var g = SeededGenerator(seed: 0)
        let model = try PlainConvUNet(expected, generator: &g)
        let ours = model.namedParameters().map { "\($0.0) \($0.1.value.shape)" }
        let aliasKeys = Set(NNUNetAliases.aliases(of: model.namedParameters().map(\.0)).map(\.alias))
        #expect(ours == theirs.filter { !aliasKeys.contains($0.0) }.map { "\($0.0) \($0.1)" })
        #expect(theirs.count == ours.count + aliasKeys.count && theirs.count == 344)
        let trainable = model.trainableParameters.reduce(0) { $0 + $1.value.count }
        #expect(Double(trainable) == expected.parameterCount)
        let shapes = Dictionary(theirs.filter { !aliasKeys.contains($0.0) }, uniquingKeysWith: { a, _ in a })
        #expect(try PlainConvUNetConfiguration.detect(shapes: shapes) == expected)
    }
}

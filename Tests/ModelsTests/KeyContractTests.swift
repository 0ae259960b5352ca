import Checkpoints
import Foundation
import Models
import Tensors
import TestSupport
import Testing

@Suite("State-dict key contract")
struct KeyContractTests {
    /// `key [d0, d1, ...]` lines as PyTorch's `state_dict()` lists them.
    func expectedKeys(_ file: String) throws -> [String] {
        try String(contentsOfFile: Fixture.path("models/" + file), encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test("full-width milesial UNet(3, 2) keys, order and shapes are PyTorch's exactly", arguments: [false, true])
    func fullWidthMilesial(bilinear: Bool) throws {
        var g = SeededGenerator(seed: 1)
        let model = try UNet(.milesial(inputChannels: 3, classes: 2, bilinear: bilinear), generator: &g)
        let lines = model.stateDict().entries.map { "\($0.key) \($0.tensor.shape)" }
        #expect(lines == (try expectedKeys("milesial_n3_c2\(bilinear ? "_bilinear" : "")_keys.txt")))
    }

    @Test("the model lists keys in the order torch.save wrote them, for every layout",
          arguments: ["milesial_b2_c2", "milesial_bilinear_b2_c1", "labml_b2", "tutorial_valid_crop"])
    func order(name: String) throws {
        let checkpoint = try Checkpoint.read(path: Fixture.path("models/\(name).pth"))
        let loaded = try ModelFile.load(path: Fixture.path("models/\(name).pth"))
        #expect(loaded.model.stateDict().keys == checkpoint.tensors.map(\.key))
    }
}

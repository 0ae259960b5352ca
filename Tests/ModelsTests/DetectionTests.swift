import Checkpoints
import Execution
import Models
import Tensors
import TestSupport
import Testing

@Suite("Layout detection")
struct DetectionTests {
    @Test("milesial, labml and tutorial checkpoints load with no architecture flags",
          arguments: ["milesial_b2_c2", "milesial_bilinear_b2_c1", "labml_b2", "tutorial_same_pad"])
    func detected(name: String) throws {
        let f = try Fixture("models/" + name)
        let c = try #require(try ModelFile.load(path: Fixture.path("models/\(name).pth")).model.architecture.unetConfiguration)
        #expect(c == (try f.unetConfiguration()))
        let expected = [try f.int("in_channels"), try f.int("classes"), try f.int("base"), try f.int("depth"),
                        try f.int("bilinear"), try f.int("batch_norm"), try f.int("bias")]
        let found = [c.inputChannels, c.classes, c.baseWidth, c.depth, c.upsampling == .bilinear ? 1 : 0,
                     c.batchNorm ? 1 : 0, c.convolutionBias ? 1 : 0]
        #expect(found == expected)
    }

    @Test("a tutorial checkpoint's padding and merge come from flags; its logits then match PyTorch")
    func tutorialOverrides() throws {
        let f = try Fixture("models/tutorial_valid_crop")
        let loaded = try ModelFile.load(path: Fixture.path("models/tutorial_valid_crop.pth"),
                                        options: ModelLoadOptions(overrides: .init(padding: .valid, merge: .crop)))
        let c = try #require(loaded.model.architecture.unetConfiguration)
        #expect(c.padding == .valid && c.merge == .crop)
        let x = try f.tensor("x")
        expectClose(try CompiledUNet(loaded.model, inputShape: x.shape, training: false).forward(x), try f.tensor("logits_eval"),
                    rtol: 1e-3, atol: 1e-4)
    }

    @Test("wrapped and legacy checkpoints load the same model",
          arguments: ["wrapped_state_dict.pth", "wrapped_model.pth", "wrapped_network_weights.pth",
                      "milesial_legacy.pth", "milesial_training_checkpoint.pth", "milesial_half.pth"])
    func variants(name: String) throws {
        let f = try Fixture("models/milesial_b2_c2")
        let loaded = try ModelFile.load(path: Fixture.path("models/" + name))
        let tolerance: Float = name.contains("half") ? 3e-2 : 1e-3
        let x = try f.tensor("x")
        expectClose(try CompiledUNet(loaded.model, inputShape: x.shape, training: false).forward(x), try f.tensor("logits_eval"),
                    rtol: tolerance, atol: tolerance / 10)
        if name.contains("training") { #expect(loaded.metadata.maskValues == [[0], [255]]) }
    }

    @Test("a classic U-Net under unknown key names loads with no flags: its structure inferred from the shapes, the assumptions said")
    func inferredFromShapes() throws {
        #expect(UNetConfiguration.detect(shapes: ["encoder.0.conv1.weight": [2, 3, 3, 3]]) == nil)
        let loaded = try ModelFile.load(path: Fixture.path("models/custom_depth3.pth"))
        let c = try #require(loaded.model.architecture.unetConfiguration)
        #expect([c.inputChannels, c.classes, c.baseWidth, c.depth] == [3, 2, 2, 3] && c.batchNorm && c.upsampling == .transposed)
        #expect(loaded.report.contains { $0.contains("--concat upsampled-first") })
        let f = try Fixture("models/custom_depth3")
        let x = try f.tensor("x")
        expectClose(try CompiledUNet(loaded.model, inputShape: x.shape, training: false).forward(x), try f.tensor("logits_eval"),
                    rtol: 1e-3, atol: 1e-4)
    }

    @Test("shapes that are no classic U-Net are not guessed: the error names the flags")
    func unknown() throws {
        #expect(UNetConfiguration.inferred(from: [("features.0.weight", [8, 3, 3, 3]), ("fc.weight", [10, 8])]) == nil)
        // A U-Net's tensors with one decoder convolution missing: no configuration matches them all.
        let tensors = try Checkpoint.read(path: Fixture.path("models/custom_depth3.pth")).tensors
        let shapes = tensors.map { ($0.key, $0.tensor.shape) }
        #expect(UNetConfiguration.inferred(from: shapes) != nil)
        let broken = shapes.enumerated().filter { $0.offset != shapes.count - 6 }.map(\.element)
        #expect(UNetConfiguration.inferred(from: broken) == nil)
    }
}

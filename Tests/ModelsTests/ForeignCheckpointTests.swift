import Execution
import Models
import Tensors
import TestSupport
import Testing

/// A U-Net of another depth and naming (scripts/unet_zoo.py `CustomUNet`, depth 3) loaded by structural
/// matching or a key-mapping file, then checked against PyTorch's logits.
@Suite("Foreign U-Net checkpoints")
struct ForeignCheckpointTests {
    let architecture = UNetConfiguration.milesial(inputChannels: 3, classes: 2, baseWidth: 2, depth: 3)

    func checkLogits(_ loaded: LoadedModel) throws {
        let f = try Fixture("models/custom_depth3")
        let x = try f.tensor("x")
        expectClose(try CompiledUNet(loaded.model, inputShape: x.shape, training: false).forward(x), try f.tensor("logits_eval"),
                    rtol: 1e-3, atol: 1e-4, "eval")
        expectClose(try CompiledUNet(loaded.model, inputShape: x.shape, training: true).forward(x), try f.tensor("logits_train"),
                    rtol: 1e-3, atol: 1e-4, "train")
    }

    @Test("architecture flags + matching by role and shape reproduce PyTorch's logits, and report each match")
    func structural() throws {
        let loaded = try ModelFile.load(path: Fixture.path("models/custom_depth3.pth"),
                                        options: ModelLoadOptions(architecture: architecture, matchByShape: true))
        #expect(loaded.report.contains("matched encoder.0.conv1.weight [2, 3, 3, 3] -> inc.double_conv.0.weight"))
        #expect(loaded.report.contains("matched upconvs.0.bias [8] -> up1.up.bias"))
        #expect(loaded.report.contains("matched head.bias [2] -> outc.conv.bias"))
        try checkLogits(loaded)
    }

    @Test("a key-mapping file reproduces PyTorch's logits")
    func mapping() throws {
        let mapping = try KeyMapping(path: Fixture.path("models/custom_depth3.map"))
        let loaded = try ModelFile.load(path: Fixture.path("models/custom_depth3.pth"),
                                        options: ModelLoadOptions(keyMapping: mapping))
        #expect(try #require(loaded.model.architecture.unetConfiguration) == architecture)
        #expect(loaded.report.contains("renamed bottleneck.conv2.weight -> down3.maxpool_conv.1.double_conv.3.weight"))
        try checkLogits(loaded)
    }

    @Test("an architecture that does not fit is refused, listing the groups that differ")
    func ambiguous() throws {
        var wrong = architecture
        wrong.depth = 4
        let error = #expect(throws: UNetError.self) {
            try ModelFile.load(path: Fixture.path("models/custom_depth3.pth"),
                               options: ModelLoadOptions(architecture: wrong, matchByShape: true))
        }
        #expect(try #require(error).description.contains("'weight' [32, 16, 2, 2]: checkpoint has 0, architecture needs 1"))
    }

    @Test("mapping rules that merge two keys, or do not parse, are refused")
    func badMappings() throws {
        #expect(throws: UNetError.self) { try KeyMapping(text: "no arrow here", source: "m.map") }
        #expect(throws: UNetError.self) { try KeyMapping(text: "([ => x", source: "m.map") }
        // Rules that grow a key without bound, backtrack without end, or are too long stop with the rule named.
        let growing = try KeyMapping(text: ". => 0123456789\n. => 0123456789\n. => 0123456789", source: "m.map")
        let grown = #expect(throws: UNetError.self) { try growing.rename(["inc.double_conv.0.weight"]) }
        #expect(try #require(grown).description.contains("rule 2 ('.') makes a key longer than 1000 characters"))
        let backtracking = try KeyMapping(text: "(a*)*b => x", source: "m.map")
        let slow = #expect(throws: UNetError.self) { try backtracking.rename([String(repeating: "a", count: 40)], within: 0.2) }
        #expect(try #require(slow).description.contains("takes too long to match"))
        #expect(throws: UNetError.self) { try KeyMapping(text: String(repeating: "a", count: 300) + " => b", source: "m.map") }
        let collapse = try KeyMapping(text: "\\.bn[12]\\. => .bn.", source: "m.map")
        let error = #expect(throws: UNetError.self) { try collapse.rename(["a.bn1.weight", "a.bn2.weight"]) }
        #expect(try #require(error).description.contains("a.bn.weight"))
    }
}

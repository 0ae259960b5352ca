import Foundation
import Models
import NN
import Tensors
import TestSupport
import Testing

/// The state dicts of `MONAIUNet` and `BasicUNet` against full-size models of monai 1.6.1 (keys, order and shapes
/// dumped by scripts/make_fixtures.py into models/monai_layouts.json), and detection from those keys and shapes alone.
@Suite("MONAI UNet and BasicUNet layout and detection")
struct MONAILayoutTests {
    /// The expected configuration of each dumped model (its options in monai_layouts.json, as this project names them).
    static let cases: [(String, Architecture)] = [
        ("unet_tutorial", .monaiUNet(MONAIUNetConfiguration(channels: [16, 32, 64, 128, 256], strides: [2, 2, 2, 2], residualUnits: 2,
                                                           norm: .batch, inputChannels: 1, classes: 2))),
        ("unet_default", .monaiUNet(MONAIUNetConfiguration(channels: [16, 32, 64, 128, 256], strides: [2, 2, 2, 2], residualUnits: 0,
                                                          norm: .instance, inputChannels: 3, classes: 4))),
        ("basicunet_default", .basicUNet(BasicUNetConfiguration())),
    ]

    /// `name` → its `[key, shape]` pairs, in MONAI's order.
    static func layout(_ name: String) throws -> [(String, [Int])] {
        let data = try #require(FileManager.default.contents(atPath: Fixture.path("models/monai_layouts.json")))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let keys = try #require(all[name]?["keys"] as? [[Any]], "monai_layouts.json lacks \(name)")
        return keys.compactMap { entry in (entry[0] as? String).map { ($0, (entry[1] as? [Int]) ?? []) } }
    }

    @Test("every key and shape of MONAI's state dict, in MONAI's order", arguments: cases.map(\.0))
    func stateDict(name: String) throws {
        let architecture = try #require(Self.cases.first { $0.0 == name }?.1)
        var g = SeededGenerator(seed: 0)
        let ours = try architecture.makeModel(generator: &g).namedParameters().map { "\($0.0) \($0.1.value.shape)" }
        let theirs = try Self.layout(name).map { "\($0.0) \($0.1)" }
        #expect(ours.count == theirs.count)
        for (a, b) in zip(ours, theirs) where a != b {
            Issue.record("first difference: ours \(a), MONAI's \(b)")
            break
        }
        let trainable = try architecture.makeModel(generator: &g).trainableParameters.reduce(0) { $0 + $1.value.count }
        #expect(Double(trainable) == architecture.parameterCount, "\(name): counted \(architecture.parameterCount), built \(trainable)")
    }

    @Test("detected from keys and shapes alone", arguments: cases.map(\.0))
    func detection(name: String) throws {
        let architecture = try #require(Self.cases.first { $0.0 == name }?.1)
        let shapes = Dictionary(try Self.layout(name), uniquingKeysWith: { a, _ in a })
        switch architecture {
        case .monaiUNet(let expected):
            #expect(try MONAIUNetConfiguration.detect(shapes: shapes)?.0 == expected)
            #expect(try BasicUNetConfiguration.detect(shapes: shapes) == nil)
        case .basicUNet(let expected):
            #expect(try BasicUNetConfiguration.detect(shapes: shapes) == expected)
            #expect(try MONAIUNetConfiguration.detect(shapes: shapes) == nil)
        default: Issue.record("unexpected case")
        }
        #expect(try SMPUNetConfiguration.detect(shapes: shapes) == nil)
        #expect(UNetConfiguration.detect(shapes: shapes) == nil)
    }

    @Test("strides a checkpoint does not record: taken as 2, or as given (--strides) where they agree with the residual units")
    func givenStrides() throws {
        func shapes(_ c: MONAIUNetConfiguration) throws -> [String: [Int]] {
            var g = SeededGenerator(seed: 0)
            return Dictionary(uniqueKeysWithValues: try Architecture.monaiUNet(c).makeModel(generator: &g).namedParameters()
                .map { ($0.0, $0.1.value.shape) })
        }
        let residual = MONAIUNetConfiguration(channels: [4, 8, 16], strides: [3, 1], residualUnits: 1, norm: .batch)
        let read = try #require(try MONAIUNetConfiguration.detect(shapes: try shapes(residual)))
        #expect(read.0.strides == [2, 1] && read.assumedStrides)
        let given = try #require(try MONAIUNetConfiguration.detect(shapes: try shapes(residual), strides: [3, 1]))
        #expect(given.0 == residual && !given.assumedStrides)
        for wrong in [[3], [3, 2], [1, 1]] {
            let error = #expect(throws: UNetError.self) { try MONAIUNetConfiguration.detect(shapes: try shapes(residual), strides: wrong) }
            #expect(error.map { "\($0)" }?.contains("--strides") == true, "\(wrong)")
        }
        let plain = MONAIUNetConfiguration(channels: [4, 8, 16], strides: [1, 3], residualUnits: 0, norm: .instance)
        #expect(try MONAIUNetConfiguration.detect(shapes: try shapes(plain))?.0.strides == [2, 2])
        #expect(try MONAIUNetConfiguration.detect(shapes: try shapes(plain), strides: [1, 3])?.0 == plain)
        let all1 = MONAIUNetConfiguration(channels: [4, 8], strides: [1], residualUnits: 2, norm: .batch)
        #expect(try MONAIUNetConfiguration.detect(shapes: try shapes(all1))?.assumedStrides == false)
        // A flag for strides contradicts a network without them, and an nnU-Net network's own.
        let overrides = ArchitectureOverrides(strides: [1, 2])
        #expect(overrides.contradictions(withForeign: .basicUNet(BasicUNetConfiguration())).count == 1)
        let nnunet = PlainConvUNetConfiguration(features: [4, 8], strides: [1, 2], inputChannels: 1, classes: 2)
        #expect(overrides.contradictions(withForeign: .plainConvUNet(nnunet)).isEmpty)
        #expect(ArchitectureOverrides(strides: [1, 3]).contradictions(withForeign: .plainConvUNet(nnunet)) == ["strides 1,3 (the file has 1,2)"])
        #expect(overrides.contradictions(with: .milesial()) == ["strides (a classic U-Net has none)"])
    }

    /// Instance norm without affine parameters and no norm (`norm=None`) leave the same keys: `--norm` tells them
    /// apart, and must agree with keys that show a norm.
    @Test("--norm completes a MONAI network without norm parameters and must agree with the keys of one with them")
    func givenNorm() throws {
        func shapes(_ a: Architecture) throws -> [String: [Int]] {
            var g = SeededGenerator(seed: 0)
            return Dictionary(uniqueKeysWithValues: try a.makeModel(generator: &g).namedParameters().map { ($0.0, $0.1.value.shape) })
        }
        let unet = MONAIUNetConfiguration(channels: [4, 8, 16], strides: [2, 2], residualUnits: 1, norm: .none)
        #expect(try MONAIUNetConfiguration.detect(shapes: try shapes(.monaiUNet(unet)))?.0.norm == .instance)
        #expect(try MONAIUNetConfiguration.detect(shapes: try shapes(.monaiUNet(unet)), norm: MONAINorm.none)?.0 == unet)
        let basic = BasicUNetConfiguration(features: [4, 4, 8, 8, 16, 4], norm: .none)
        #expect(try BasicUNetConfiguration.detect(shapes: try shapes(.basicUNet(basic)))?.norm == .instance)
        #expect(try BasicUNetConfiguration.detect(shapes: try shapes(.basicUNet(basic)), norm: MONAINorm.none) == basic)
        #expect(try BasicUNetConfiguration.detect(shapes: try shapes(.basicUNet(basic)), norm: .instance)?.norm == .instance)
        // No norm has no parameters, and every parameter it would have is absent from the count.
        var g = SeededGenerator(seed: 0)
        for a in [Architecture.monaiUNet(unet), .basicUNet(basic)] {
            let built = try a.makeModel(generator: &g)
            #expect(!built.namedParameters().contains { $0.0.contains(".adn.N.") })
            #expect(Double(built.trainableParameters.reduce(0) { $0 + $1.value.count }) == a.parameterCount)
        }
        // A norm with parameters cannot be given for a file without them, nor one the keys contradict.
        for norm in [MONAINorm.batch, .instanceAffine] {
            let error = #expect(throws: UNetError.self) { try MONAIUNetConfiguration.detect(shapes: try shapes(.monaiUNet(unet)), norm: norm) }
            #expect(error.map { "\($0)" }?.contains("--norm \(norm.rawValue): the file has no model.0.conv.unit0.adn.N.* keys") == true)
        }
        let batch = BasicUNetConfiguration(features: [4, 4, 8, 8, 16, 4], norm: .batch)
        let contradicted = #expect(throws: UNetError.self) {
            try BasicUNetConfiguration.detect(shapes: try shapes(.basicUNet(batch)), norm: MONAINorm.none)
        }
        #expect(contradicted.map { "\($0)" }?.contains("--norm none: the file's conv_0.conv_0.adn.N.* keys show batch norm") == true)
        // A flag for the norm contradicts a native file's other norm, and every network without one.
        let overrides = ArchitectureOverrides(norm: MONAINorm.none)
        #expect(overrides.contradictions(withForeign: .basicUNet(basic)).isEmpty)
        #expect(overrides.contradictions(withForeign: .basicUNet(batch)) == ["norm none (the file has batch)"])
        #expect(overrides.contradictions(withForeign: .smpUNet(SMPUNetConfiguration())).count == 1)
        #expect(overrides.contradictions(with: .milesial()) == ["norm (a classic U-Net's is --batch-norm)"])
    }

    /// Only PReLU leaves a parameter: another activation is given (`--act`), and must agree with the weights.
    @Test("the activation: PReLU from its weight, another given; a MONAI UNet without PReLU weights and no --act is refused naming the flag")
    func givenActivation() throws {
        var unet = Dictionary(try Self.layout("unet_tutorial"), uniquingKeysWith: { a, _ in a })
        #expect(try MONAIUNetConfiguration.detect(shapes: unet)?.0.activation == .prelu)
        let prelu = #expect(throws: UNetError.self) { try MONAIUNetConfiguration.detect(shapes: unet, activation: .relu) }
        #expect(prelu.map { "\($0)" }?.contains("--act relu: the file's model.0.conv.unit0.adn.A.weight shows PReLU") == true,
                "\(String(describing: prelu))")
        unet = unet.filter { !$0.key.contains(".adn.A.") }
        let missing = #expect(throws: UNetError.self) { try MONAIUNetConfiguration.detect(shapes: unet) }
        #expect(missing.map { "\($0)" }?.contains("give --act relu|leakyrelu[:slope]") == true, "\(String(describing: missing))")
        #expect(try MONAIUNetConfiguration.detect(shapes: unet, activation: .leakyReLU(0.2))?.0.activation == .leakyReLU(0.2))
        #expect(throws: UNetError.self) { try MONAIUNetConfiguration.detect(shapes: unet, activation: .prelu) }
        let basic = Dictionary(try Self.layout("basicunet_default"), uniquingKeysWith: { a, _ in a })
        #expect(try BasicUNetConfiguration.detect(shapes: basic)?.activation == .leakyReLU(0.1))
        #expect(try BasicUNetConfiguration.detect(shapes: basic, activation: .relu)?.activation == .relu)
        #expect(MONAIActivation("leakyrelu:0.2") == .leakyReLU(0.2) && MONAIActivation("leakyrelu") == .leakyReLU(0.01)
            && MONAIActivation("ReLU") == .relu && MONAIActivation("gelu") == nil && MONAIActivation("leakyrelu:2") == nil)
        let overrides = ArchitectureOverrides(activation: .relu)
        #expect(overrides.contradictions(withForeign: .basicUNet(BasicUNetConfiguration())) == ["activation relu (the file has leakyrelu:0.1)"])
        #expect(overrides.contradictions(withForeign: .basicUNet(BasicUNetConfiguration(activation: .relu))).isEmpty)
    }

    @Test("networks this project does not build are refused in one line naming what")
    func refused() throws {
        var shapes = Dictionary(try Self.layout("basicunet_default"), uniquingKeysWith: { a, _ in a })
        shapes["conv_0.conv_0.conv.weight"] = [32, 1, 3, 3, 3]
        let threeD = #expect(throws: UNetError.self) { try BasicUNetConfiguration.detect(shapes: shapes) }
        #expect(threeD.map { "\($0)" }?.contains("3-D MONAI BasicUNet") == true)
        let unet = Dictionary(try Self.layout("unet_tutorial"), uniquingKeysWith: { a, _ in a })
        let perChannel = unet.merging(["model.0.conv.unit0.adn.A.weight": [16]]) { _, new in new }
        let activation = #expect(throws: UNetError.self) { try MONAIUNetConfiguration.detect(shapes: perChannel) }
        #expect(activation.map { "\($0)" }?.contains("a per-channel PReLU") == true)
    }

    @Test("old names map to the current ones; other keys are left alone")
    func legacyKeys() {
        #expect(MONAILegacyKeys.modern("model.0.conv.unit0.act.weight") == "model.0.conv.unit0.adn.A.weight")
        #expect(MONAILegacyKeys.modern("model.0.conv.unit0.norm.running_var") == "model.0.conv.unit0.adn.N.running_var")
        #expect(MONAILegacyKeys.modern("encoder.stages.0.0.convs.0.norm.weight") == "encoder.stages.0.0.convs.0.adn.N.weight")
        #expect(!MONAILegacyKeys.areLegacy(["encoder.stages.0.0.convs.0.norm.weight"]))
        #expect(MONAILegacyKeys.areLegacy(["model.0.conv.unit0.norm.weight"]))
        #expect(MONAILegacyKeys.modern("model.0.conv.unit0.adn.N.weight") == "model.0.conv.unit0.adn.N.weight")
    }
}

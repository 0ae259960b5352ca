import Foundation
import Models
import NN
import Tensors
import TestSupport
import Testing

/// The state dict of `SMPUNet` against full-size models of segmentation_models_pytorch 0.6.0 (keys, order and
/// shapes dumped by scripts/make_fixtures.py into models/smp_layouts.json and, for SE, EfficientNet and MobileNetV2
/// encoders, models/smp_senet_layouts.json, models/smp_efficientnet_layouts.json,
/// models/smp_timm_efficientnet_layouts.json and models/smp_mobilenet_layouts.json).
@Suite("smp Unet layout")
struct SMPUNetLayoutTests {
    struct Layout: Decodable {
        struct Config: Decodable {
            let encoder_name: String
            let encoder_depth: Int?
            let decoder_channels: [Int]?
            let in_channels: Int
            let classes: Int
            let decoder_attention_type: String?
        }
        let config: Config
        let keys: [[Value]]

        /// Key → shape, as a state dict holds them.
        var shapes: [String: [Int]] {
            var shapes: [String: [Int]] = [:]
            for entry in keys {
                guard case .key(let key) = entry[0], case .shape(let shape) = entry[1] else { continue }
                shapes[key] = shape
            }
            return shapes
        }
    }
    enum Value: Decodable {
        case key(String), shape([Int])
        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let key = try? container.decode(String.self) { self = .key(key) } else { self = .shape(try container.decode([Int].self)) }
        }
    }

    static let names = ["resnet34_default", "resnet18_d4_in1_c5", "resnet50_default", "resnet34_scse", "resnet101_default", "resnet152_d4",
                        "resnext50_32x4d_default", "resnext101_32x8d_in1", "efficientnet-b0_default", "efficientnet-b3_in1",
                        "efficientnet-b4_d4", "efficientnet-b7_scse", "mobilenet_v2_default", "mobilenet_v2_d4_in1_scse",
                        "timm-efficientnet-b0_default", "timm-efficientnet-b3_in1", "timm-efficientnet-b8_d4",
                        "timm-tf_efficientnet_lite0_default", "timm-tf_efficientnet_lite4_scse", "se_resnext50_32x4d_default",
                        "se_resnet50_d4_in1", "se_resnet101_scse", "se_resnet152_default", "se_resnext101_32x4d_default"]

    static let layouts: [String: Layout] = {
        var layouts: [String: Layout] = [:]
        for file in ["models/smp_layouts.json", "models/smp_efficientnet_layouts.json", "models/smp_mobilenet_layouts.json",
                     "models/smp_timm_efficientnet_layouts.json", "models/smp_senet_layouts.json"] {
            let data = FileManager.default.contents(atPath: Fixture.path(file)) ?? Data()
            layouts.merge((try? JSONDecoder().decode([String: Layout].self, from: data)) ?? [:]) { first, _ in first }
        }
        return layouts
    }()

    /// The one-line message detection refuses `shapes` with; nil, and the test failed, where it takes them.
    static func refusal(_ shapes: [String: [Int]], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
        #expect(throws: UNetError.self, sourceLocation: sourceLocation) { try SMPUNetConfiguration.detect(shapes: shapes) }.map { "\($0)" }
    }

    @Test("every key and shape of smp's state dict, in smp's order", arguments: Self.names)
    func stateDict(name: String) throws {
        let layout = try #require(Self.layouts[name], "models/smp_layouts.json lacks \(name)")
        let c = layout.config
        var configuration = SMPUNetConfiguration(encoder: try #require(SMPEncoder(rawValue: c.encoder_name)),
                                                 inputChannels: c.in_channels, classes: c.classes)
        if let depth = c.encoder_depth { configuration.encoderDepth = depth }
        if let channels = c.decoder_channels { configuration.decoderChannels = channels }
        configuration.decoderAttention = c.decoder_attention_type.flatMap(SMPUNetConfiguration.DecoderAttention.init(rawValue:))
        #expect(configuration.decoderAttention?.rawValue == c.decoder_attention_type)
        var g = SeededGenerator(seed: 0)
        let ours = try SMPUNet(configuration, generator: &g).namedParameters().map { "\($0.0) \($0.1.value.shape)" }
        let theirs = layout.keys.map { entry -> String in
            guard case .key(let key) = entry[0], case .shape(let shape) = entry[1] else { return "?" }
            return "\(key) \(shape)"
        }
        #expect(ours.count == theirs.count)
        let firstDifference = zip(ours, theirs).first { $0 != $1 }
        #expect(firstDifference == nil, "first difference (ours, smp's): \(String(describing: firstDifference))")
    }

    @Test("the configuration is detected from keys and shapes alone", arguments: Self.names)
    func detection(name: String) throws {
        let layout = try #require(Self.layouts[name])
        var shapes = layout.shapes
        let c = layout.config
        let detected = try #require(try SMPUNetConfiguration.detect(shapes: shapes))
        #expect(detected.encoder.rawValue == c.encoder_name)
        #expect(detected.encoderDepth == (c.encoder_depth ?? 5))
        #expect(detected.decoderChannels == (c.decoder_channels ?? [256, 128, 64, 32, 16]))
        #expect(detected.inputChannels == c.in_channels && detected.classes == c.classes)
        #expect(detected.decoderAttention?.rawValue == c.decoder_attention_type)
        // A center block is named, not mistaken for a plain Unet; other models' keys are not an smp Unet.
        shapes["decoder.center.0.0.weight"] = [512, 512, 3, 3]
        #expect(throws: UNetError.self) { try SMPUNetConfiguration.detect(shapes: shapes) }
        #expect(try SMPUNetConfiguration.detect(shapes: ["inc.double_conv.0.weight": [64, 3, 3, 3]]) == nil)
    }

    @Test("decoder blocks without batch norm (smp's decoder_use_norm=False, layer norm) are refused in one line naming what")
    func decoderNorm() throws {
        let layout = try #require(Self.layouts["resnet34_default"])
        // decoder_use_norm=False: each decoder convolution keeps its bias and has no norm (module index 1 is the ReLU).
        var none = layout.shapes.filter { !$0.key.hasPrefix("decoder.blocks.") || !($0.key.contains(".conv1.1.") || $0.key.contains(".conv2.1.")) }
        #expect(none.count == layout.shapes.count - 5 * 2 * 5)
        for block in 0..<5 { for conv in ["conv1", "conv2"] { none["decoder.blocks.\(block).\(conv).0.bias"] = [1] } }
        let error = Self.refusal(none)
        #expect(error?.contains("no norm (decoder_use_norm=False)") == true, "\(String(describing: error))")
        // Layer norm: an affine pair and no running statistics.
        let layer = layout.shapes.filter { !($0.key.hasPrefix("decoder.blocks.") && ($0.key.hasSuffix("running_mean")
            || $0.key.hasSuffix("running_var") || $0.key.hasSuffix("num_batches_tracked"))) }
        let other = Self.refusal(layer)
        #expect(other?.contains("a norm other than batch norm") == true)
    }

    /// The encoder is the one whose blocks, groups and widths the keys hold; blocks no encoder smp names has are
    /// refused saying what they are.
    @Test("encoders are told apart by their blocks (ResNet-50, -101, ResNeXt); other block counts or groups are refused in one line")
    func encoderBlocks() throws {
        let resnext = try #require(Self.layouts["resnext50_32x4d_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: resnext)?.encoder == .resnet(.resnext50_32x4d))
        var sixteenGroups = resnext
        sixteenGroups["encoder.layer1.0.conv2.weight"] = [128, 8, 3, 3]
        let groups = Self.refusal(sixteenGroups)
        #expect(groups?.contains("bottleneck blocks (3, 4, 6, 3 per layer, 16 groups of width 8), which no encoder") == true,
                "\(String(describing: groups))")
        var longer = try #require(Self.layouts["resnet101_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: longer)?.encoder == .resnet(.resnet101))
        longer["encoder.layer3.23.conv1.weight"] = [256, 1024, 1, 1]
        let blocks = Self.refusal(longer)
        #expect(blocks?.contains("bottleneck blocks (3, 4, 24, 3 per layer)") == true, "\(String(describing: blocks))")
    }

    /// An EfficientNet is the variant whose stem, blocks and head the keys hold; other blocks, and encoders smp has but
    /// this project does not build (Mix Transformer, `encoder.patch_embed1.proj.weight`), are refused in one line.
    @Test("EfficientNets are told apart by their blocks; other blocks and other smp encoders are refused in one line naming them")
    func efficientNetBlocks() throws {
        let b0 = try #require(Self.layouts["efficientnet-b0_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: b0)?.encoder == .efficientNet(.b0))
        var wider = b0
        wider["encoder._blocks.3._depthwise_conv.weight"] = [144, 1, 3, 3]
        let blocks = Self.refusal(wider)
        #expect(blocks?.contains("(a 32-channel stem, 16 blocks) is none of efficientnet-b0 to -b7") == true,
                "\(String(describing: blocks))")
        var transformer = b0.filter { !$0.key.hasPrefix("encoder.") }
        transformer["encoder.patch_embed1.proj.weight"] = [32, 3, 7, 7]
        let other = Self.refusal(transformer)
        #expect(other?.contains("encoder ('encoder.patch_embed1.proj.weight', ...) is not one this version builds") == true,
                "\(String(describing: other))")
    }

    /// torchvision's MobileNetV2 is detected from `encoder.features.0.0.weight`; a MobileNet of another width
    /// multiplier (its blocks wider) is refused naming the first block that differs.
    @Test("MobileNetV2 is detected from its features; another width of it is refused in one line naming the key")
    func mobileNetBlocks() throws {
        let mobileNet = try #require(Self.layouts["mobilenet_v2_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: mobileNet)?.encoder == .mobileNetV2)
        var wider = mobileNet
        wider["encoder.features.4.conv.1.0.weight"] = [192, 1, 3, 3]
        let refused = Self.refusal(wider)
        #expect(refused?.contains("encoder.features.4.conv.1.0.weight [192, 1, 3, 3], where torchvision's mobilenet_v2 "
            + "(width 1.0) has [144, 1, ...]") == true, "\(String(describing: refused))")
    }

    /// timm's EfficientNets are told from efficientnet-pytorch's by their keys (`encoder.conv_stem.weight`), and from
    /// each other by their stages and whether they have squeeze-and-excitation (Lite has none).
    @Test("timm EfficientNets are told apart by their stages and squeeze-and-excitation; other stages are refused in one line")
    func timmEfficientNetBlocks() throws {
        let b0 = try #require(Self.layouts["timm-efficientnet-b0_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: b0)?.encoder == .timmEfficientNet(.b0))
        let lite0 = try #require(Self.layouts["timm-tf_efficientnet_lite0_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: lite0)?.encoder == .timmEfficientNet(.lite0))
        var longer = b0
        longer["encoder.blocks.2.2.conv_dw.weight"] = [240, 1, 5, 5]
        let refused = Self.refusal(longer)
        #expect(refused?.contains("(a 32-channel stem, 1-2-3-3-3-4-1 blocks per stage, squeeze-and-excitation) is none of "
            + "timm-efficientnet-b0") == true, "\(String(describing: refused))")
    }

    /// An SE network is told by its grouped or plain 3x3 convolutions and its block counts; senet154's stem (three 3x3
    /// convolutions), which this version does not build, is refused in one line.
    @Test("SE-ResNets and SE-ResNeXts are told apart by their blocks; senet154's stem is refused in one line")
    func seNetBlocks() throws {
        let shapes = try #require(Self.layouts["se_resnext50_32x4d_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: shapes)?.encoder == .seNet(.seResNeXt50))
        let deeper = try #require(Self.layouts["se_resnet152_default"]).shapes
        #expect(try SMPUNetConfiguration.detect(shapes: deeper)?.encoder == .seNet(.seResNet152))
        var senet154 = shapes
        senet154["encoder.layer0.conv1.weight"] = [64, 3, 3, 3]
        let refused = Self.refusal(senet154)
        #expect(refused?.contains("senet154's three 3x3 convolutions are not built") == true, "\(String(describing: refused))")
        var longer = shapes
        longer["encoder.layer3.6.conv1.weight"] = [512, 1024, 1, 1]
        let blocks = Self.refusal(longer)
        #expect(blocks?.contains("has 3, 4, 7, 3 blocks per layer") == true, "\(String(describing: blocks))")
        // The max-pool after the stem has no padding: 5 pixels (3 after the stem) are the least it takes.
        var g = SeededGenerator(seed: 0)
        let configuration = SMPUNetConfiguration(encoder: .seNet(.seResNet50), encoderDepth: 2, decoderChannels: [16, 8])
        #expect(Architecture.smpUNet(configuration).minimumInputSize == 5)
        let model = try SMPUNet(configuration, generator: &g)
        let graph = try model.graph(inputShape: [1, 3, 5, 5])
        #expect(graph.shape(graph.output) == [1, 1, 5, 5])
        #expect(throws: (any Error).self) { try model.graph(inputShape: [1, 3, 4, 4]) }
    }

    @Test("the parameter count is computed without building the network", arguments: Self.names)
    func parameterCount(name: String) throws {
        let layout = try #require(Self.layouts[name])
        let shapes = layout.shapes
        let configuration = try #require(try SMPUNetConfiguration.detect(shapes: shapes))
        var g = SeededGenerator(seed: 0)
        let model = try SMPUNet(configuration, generator: &g)
        #expect(configuration.parameterCount == Double(model.trainableParameters.reduce(0) { $0 + $1.value.count }))
    }

    @Test("options out of range are refused naming the option")
    func validation() {
        var g = SeededGenerator(seed: 0)
        #expect(throws: UNetError.self) { try SMPUNet(SMPUNetConfiguration(encoderDepth: 6), generator: &g) }
        // smp's EfficientNet encoders refuse a depth of 1 (their stem alone).
        let shallow = #expect(throws: UNetError.self) {
            try SMPUNet(SMPUNetConfiguration(encoder: .efficientNet(.b0), encoderDepth: 1, decoderChannels: [16]), generator: &g)
        }
        #expect(shallow.map { "\($0)" }?.contains("EfficientNet encoders take 2 to 5 stages") == true)
        #expect(throws: UNetError.self) { try SMPUNet(SMPUNetConfiguration(encoderDepth: 3), generator: &g) }  // 5 decoder widths
        #expect(throws: UNetError.self) { try SMPUNet(SMPUNetConfiguration(decoderChannels: [256, 128, 64, 32, 0]), generator: &g) }
        // scse divides each block's channels by 16: a block of 8 would have none (smp's own model fails at its forward).
        #expect(throws: UNetError.self) {
            try SMPUNet(SMPUNetConfiguration(decoderChannels: [256, 128, 64, 32, 8], decoderAttention: .scse), generator: &g)
        }
    }
}

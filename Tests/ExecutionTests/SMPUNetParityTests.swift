import Checkpoints
import Execution
import Foundation
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// segmentation_models_pytorch's `Unet` (ResNet-18, -34 and -50 encoders, ResNeXt-50 32x4d's grouped convolutions,
/// EfficientNet-B0 and -B2 (depthwise convolutions, SiLU, squeeze-and-excitation, TensorFlow's "same" padding), MobileNetV2
/// at depths 3 and 4 (inverted residuals, ReLU6), timm's EfficientNet-B0 and EfficientNet-Lite2 (ReLU6, no SE), SE-ResNeXt-50 and SE-ResNet-50 (squeeze-and-excitation in each
/// bottleneck, a ceil-mode max-pool without padding),
/// bilinear decoder up-sampling, and scse decoder attention, whose gates weigh maps in the blocked layout with passes on, written by
/// scripts/make_fixtures.py with the package itself) run by the engine with every pass off and every pass on, against
/// smp's logits, gradients and running statistics at an odd input size (37x45: every stride-2 stage rounds up, every
/// up-sampling has a size to reach). Weight gradients are compared as tensors (`expectCloseInNorm`): they agree with
/// smp's to about 1e-6, but a few small elements of sums over every pixel land past an elementwise tolerance.
@Suite("smp Unet parity with segmentation_models_pytorch, passes off and on")
struct SMPUNetParityTests {
    static let names = ["smp_resnet18_d3", "smp_resnet34_d2_c1", "smp_resnet50_d2", "smp_resnet18_d3_scse", "smp_resnext50_d2",
                        "smp_resnet34_d2_bilinear", "smp_effb0_d3", "smp_effb2_d3_c1", "smp_mnv2_d3", "smp_mnv2_d4_c1",
                        "smp_timm_effb0_d3", "smp_timm_lite2_d3_c1", "smp_seresnext50_d2", "smp_seresnet50_d2_c1"]

    /// The fixture's network with its parameters: every tensor the graph reads comes from the fixture.
    static func model(_ name: String) throws -> (SMPUNet, Graph, Fixture) {
        let f = try Fixture("models/" + name)
        let configuration = SMPUNetConfiguration(
            encoder: try #require(SMPEncoder(rawValue: try f.string("encoder"))), encoderDepth: try f.int("depth"),
            decoderChannels: try f.string("decoder_channels").split(separator: ",").map { Int($0)! },
            inputChannels: try f.int("in_channels"), classes: try f.int("classes"),
            decoderAttention: f.hasOption("attention") ? SMPUNetConfiguration.DecoderAttention(rawValue: try f.string("attention")) : nil,
            decoderInterpolation: f.hasOption("interpolation")
                ? try #require(SMPUNetConfiguration.DecoderInterpolation(rawValue: try f.string("interpolation"))) : .nearest)
        var g = SeededGenerator(seed: 0)
        let model = try SMPUNet(configuration, generator: &g)
        let graph = try model.graph(inputShape: try f.tensor("x").shape)
        var loaded = Set<String>()
        for (key, parameter) in model.namedParameters() where f.has("param." + key) {
            let value = try f.tensor("param." + key)
            try #require(value.shape == parameter.value.shape, "\(name): \(key)")
            parameter.value = value
            loaded.insert(key)
        }
        let unread = graph.parameterKeys.filter { !loaded.contains($0) }
        try #require(unread.isEmpty, "\(name): the graph reads tensors the fixture lacks: \(unread.prefix(3))")
        return (model, graph, f)
    }

    @Test("eval-mode logits match smp", arguments: names)
    func evalLogits(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, graph, f) = try Self.model(name)
            let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: false, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
        }
    }

    @Test("train-mode logits, every gradient and the running statistics match smp", arguments: names)
    func training(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, graph, f) = try Self.model(name)
            let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: true, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_train"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
            try network.backward(try f.tensor("dy"))
            let read = Set(graph.parameterKeys)
            var checked = 0
            for (key, parameter) in model.namedParameters() where read.contains(key) {
                if parameter.requiresGrad {
                    let expected = try f.tensor("grad." + key)
                    if expected.scalars.allSatisfy({ abs($0) < 1e-3 }) {
                        // Zero but for rounding: a bias whose shift the next train-mode batch norm cancels (an EfficientNet
                        // block's projection before the next block's expansion).
                        #expect(parameter.grad.scalars.allSatisfy { abs($0) < 1e-3 }, "\(name), \(label): grad \(key) is not about 0")
                        checked += 1
                        continue
                    }
                    expectCloseInNorm(parameter.grad, expected, "\(name), \(label): grad \(key)")
                } else {
                    expectClose(parameter.value, try f.tensor("after." + key), rtol: 1e-4, atol: 1e-5, "\(name), \(label): after \(key)")
                }
                checked += 1
            }
            #expect(checked == read.count && checked > 50)
        }
    }

    /// The decoder's interpolation leaves no trace in the weights: a bilinear one loads as nearest with a note naming
    /// `--decoder-interpolation`, and as smp built it with the flag.
    @Test("a .pth of it loads (detected, its assumptions noted; --decoder-interpolation bilinear for a bilinear decoder) and predicts smp's logits",
          arguments: names)
    func loadedWithoutFlags(name: String) throws {
        let (model, _, f) = try Self.model(name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smp-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.pth").path
        try TorchCheckpoint.write(ModelFile.storedTensors(of: model), to: path)
        let guessed = try ModelFile.load(path: path)
        #expect(guessed.report.contains { $0.hasPrefix("detected smp Unet") })
        // What the weights cannot show, said where the model loads: the interpolation and the preprocessing (naming the flags).
        #expect(guessed.assumptions.count == 2 && guessed.assumptions[0].contains("give --decoder-interpolation bilinear")
                && guessed.assumptions[1].contains("give --mean"), "\(guessed.assumptions)")
        var options = ModelLoadOptions()
        if model.configuration.decoderInterpolation != .nearest {
            #expect(guessed.model.architecture != model.architecture)
            options.overrides.decoderInterpolation = model.configuration.decoderInterpolation
        }
        let loaded = try ModelFile.load(path: path, options: options)
        #expect(loaded.model.architecture == model.architecture)
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, name)
    }

    /// smp's `aux_params` adds `classification_head.3.{weight,bias}` (a linear layer after pooling the deepest
    /// feature), which the masks do not depend on: the file loads without it, saying so.
    @Test("a .pth with smp's classification head (aux_params) loads without the head, says so, and predicts smp's masks")
    func classificationHead() throws {
        let (model, _, f) = try Self.model("smp_resnet18_d3")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smp-aux-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.pth").path
        var g = SeededGenerator(seed: 6)
        let head: [(key: String, tensor: StoredTensor)] = [
            ("classification_head.3.weight", StoredTensor(Tensor.normal(shape: [4, 128], using: &g))),
            ("classification_head.3.bias", StoredTensor(Tensor.normal(shape: [4], using: &g))),
        ]
        try TorchCheckpoint.write(ModelFile.storedTensors(of: model) + head, to: path)
        let loaded = try ModelFile.load(path: path)
        #expect(loaded.model.architecture == model.architecture)
        #expect(loaded.report.contains { $0.hasPrefix("smp's classification head (aux_params: 2 classification_head.* tensors) is not built") },
                "\(loaded.report)")
        #expect(!loaded.tensors.contains { $0.key.hasPrefix("classification_head.") })
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4)
    }

    @Test("at a size divisible by 32 (whole-factor up-sampling, oneDNN's resampling in the blocked layout) passes on equal passes off")
    func wholeFactors() throws {
        let (model, _, _) = try Self.model("smp_resnet18_d3")
        var g = SeededGenerator(seed: 5)
        let x = Tensor.normal(shape: [2, 3, 64, 96], using: &g)
        let graph = try model.graph(inputShape: x.shape)
        #expect(graph.nodes.filter { if case .upsample = $0.op { true } else { false } }.count == 3)
        for training in [false, true] {
            var logits: [Tensor] = [], gradients: [[Tensor]] = []
            for passes in [Set<Pass>(), Set(Pass.allCases)] {
                let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: training, passes: passes)
                let y = try network.forward(x)
                logits.append(y)
                if training {
                    try network.backward(Tensor(shape: y.shape) { Float($0 % 13) * 0.01 - 0.06 })
                    gradients.append(model.trainableParameters.map(\.grad))
                }
            }
            expectClose(logits[1], logits[0], rtol: 1e-3, atol: 1e-4, "logits, training \(training)")
            if training {
                for (i, (on, off)) in zip(gradients[1], gradients[0]).enumerated() { expectCloseInNorm(on, off, "gradient \(i)") }
            }
        }
    }

    @Test("a save_pretrained folder (config.json + model.safetensors) loads and predicts smp's logits; a config.json that contradicts the weights is refused")
    func pretrainedFolder() throws {
        let (model, _, f) = try Self.model("smp_resnet18_d3")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("smp-folder-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try String(contentsOfFile: Fixture.path("models/smp_resnet18_d3_config.json"), encoding: .utf8)
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafeTensorsFile(tensors: ModelFile.storedTensors(of: model), metadata: ["format": "pt"])
            .write(to: folder.appendingPathComponent("model.safetensors").path)
        let loaded = try ModelFile.load(path: folder.path)
        #expect(loaded.model.architecture == model.architecture)
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4)

        try config.replacingOccurrences(of: "\"classes\": 2", with: "\"classes\": 3")
            .write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let error = #expect(throws: UNetError.self) { try ModelFile.load(path: folder.path) }
        #expect(error.map { "\($0)" }?.contains("config.json says classes 3") == true, "\(String(describing: error))")
        try config.replacingOccurrences(of: "\"decoder_attention_type\": null", with: "\"decoder_attention_type\": \"scse\"")
            .write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let attention = #expect(throws: UNetError.self) { try ModelFile.load(path: folder.path) }
        #expect(attention.map { "\($0)" }?.contains("decoder_attention_type 'scse'") == true, "\(String(describing: attention))")
    }

    /// config.json records what the weights cannot: a bilinear decoder loads as such, and a flag that contradicts it
    /// is refused.
    @Test("a save_pretrained folder whose config.json says decoder_interpolation \"bilinear\" predicts smp's logits")
    func pretrainedBilinear() throws {
        let (model, _, f) = try Self.model("smp_resnet34_d2_bilinear")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("smp-bilinear-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let config = try String(contentsOfFile: Fixture.path("models/smp_resnet18_d3_config.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"nearest\"", with: "\"bilinear\"").replacingOccurrences(of: "\"resnet18\"", with: "\"resnet34\"")
            .replacingOccurrences(of: "\"encoder_depth\": 3", with: "\"encoder_depth\": 2")
            .replacingOccurrences(of: "32,\n    16,\n    8", with: "16,\n    8")
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        try SafeTensorsFile(tensors: ModelFile.storedTensors(of: model), metadata: ["format": "pt"])
            .write(to: folder.appendingPathComponent("model.safetensors").path)
        let loaded = try ModelFile.load(path: folder.path)
        #expect(loaded.model.architecture == model.architecture, "\(loaded.model.architecture)")
        #expect(!loaded.assumptions.contains { $0.contains("decoder_interpolation") }, "\(loaded.assumptions)")
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4)
        var nearest = ModelLoadOptions()
        nearest.overrides.decoderInterpolation = .nearest
        let error = #expect(throws: UNetError.self) { try ModelFile.load(path: folder.path, options: nearest) }
        #expect(error.map { "\($0)" }?.contains("--decoder-interpolation nearest, but") == true, "\(String(describing: error))")
    }
}

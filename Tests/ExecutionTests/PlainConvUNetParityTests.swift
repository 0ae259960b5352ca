import Checkpoints
import Execution
import Foundation
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// nnU-Net's 2-D `PlainConvUNet` and `ResidualEncoderUNet` (built by scripts/make_fixtures.py with
/// dynamic-network-architectures 0.4.4 as nnU-Net's planners configure them; one plain network with three convolutions
/// in a stage and one in a decoder stage, one residual encoder with strided and projecting blocks, and one of each whose
/// strides differ between the axes, as nnU-Net plans a patch whose sides differ in powers of two, and one of each whose
/// kernels do) run by the engine
/// with every pass off and every pass on, against the package's logits and gradients (without deep supervision: the
/// full-resolution head).
@Suite("nnU-Net PlainConvUNet and ResidualEncoderUNet parity with dynamic-network-architectures, passes off and on")
struct PlainConvUNetParityTests {
    static let names = ["nnunet_plain_s4", "nnunet_plain_s3_c1", "nnunet_resenc_s3", "nnunet_plain_aniso", "nnunet_resenc_aniso",
                        "nnunet_plain_kernels", "nnunet_resenc_kernels"]

    static func architecture(_ f: Fixture) throws -> Architecture {
        func list(_ key: String) throws -> [Int] { try f.string(key).split(separator: ",").map { Int($0)! } }
        let widthStrides = f.hasOption("width_strides") ? try list("width_strides") : nil
        let (kernels, widthKernels) = f.hasOption("kernels") ? (try list("kernels"), try list("width_kernels")) : (nil, nil)
        if f.hasOption("blocks") {
            return .residualEncoderUNet(ResidualEncoderUNetConfiguration(
                features: try list("features"), strides: try list("strides"), widthStrides: widthStrides, kernelSizes: kernels,
                widthKernelSizes: widthKernels, blocksPerStage: try list("blocks"), inputChannels: try f.int("in_channels"),
                classes: try f.int("classes")))
        }
        return .plainConvUNet(PlainConvUNetConfiguration(
            features: try list("features"), strides: try list("strides"), widthStrides: widthStrides, kernelSizes: kernels,
            widthKernelSizes: widthKernels, convsPerStage: try list("convs"),
            convsPerStageDecoder: try list("decoder_convs"), inputChannels: try f.int("in_channels"), classes: try f.int("classes")))
    }

    static func model(_ name: String) throws -> (any SegmentationModel, Fixture) {
        let f = try Fixture("models/" + name)
        var g = SeededGenerator(seed: 0)
        let model = try architecture(f).makeModel(generator: &g)
        let trainable = model.trainableParameters.reduce(0) { $0 + $1.value.count }
        #expect(Double(trainable) == model.architecture.parameterCount, "\(name): counted before allocating vs built")
        for (key, parameter) in model.namedParameters() {
            let value = try f.tensor("param." + key)
            try #require(value.shape == parameter.value.shape, "\(name): \(key)")
            parameter.value = value
        }
        return (model, f)
    }

    /// Compares every parameter's gradient with the fixture's (`grad.<key>`); a key without one must be a head PyTorch
    /// left without a gradient (its key starting with `unscored`), whose gradient here is zero. Returns how many were compared.
    static func checkGradients(_ model: any SegmentationModel, _ f: Fixture, _ label: String, unscored: String) throws -> Int {
        var checked = 0
        for (key, parameter) in model.namedParameters() {
            guard f.has("grad." + key) else {
                #expect(key.hasPrefix(unscored) && MONAIParityTests.largest(parameter.grad) == 0, "\(label): \(key)")
                continue
            }
            if let scale = try MONAIParityTests.vanishingScale(f, key) {
                // A convolution's bias before instance norm: its gradient is zero up to rounding.
                #expect(MONAIParityTests.largest(parameter.grad) <= 1e-4 * scale, "\(label): grad \(key) should vanish")
            } else {
                expectCloseInNorm(parameter.grad, try f.tensor("grad." + key), "\(label): grad \(key)")
            }
            checked += 1
        }
        return checked
    }

    @Test("eval-mode logits match the package", arguments: names)
    func evalLogits(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, f) = try Self.model(name)
            let network = try CompiledNetwork(graph: try model.graph(inputShape: try f.tensor("x").shape), parameters: model.namedParameters(),
                                              training: false, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
        }
    }

    /// Without deep supervision the lower-resolution heads are not scored: PyTorch leaves them without a gradient.
    @Test("train-mode logits and every gradient the full-resolution head reaches match the package", arguments: names)
    func training(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, f) = try Self.model(name)
            let graph = try model.graph(inputShape: try f.tensor("x").shape)
            let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: true, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_train"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
            try network.backward(try f.tensor("dy"))
            let checked = try Self.checkGradients(model, f, "\(name), \(label)", unscored: "decoder.seg_layers.")
            let heads = model.namedParameters().filter { $0.0.hasPrefix("decoder.seg_layers.") }.count / 2
            #expect(checked == model.namedParameters().count - (heads - 1) * 2)
        }
    }

    @Test("the package's state dict with its aliases loads with no flags (detected), predicts its logits, and goes back with every alias",
          arguments: names)
    func aliasedStateDict(name: String) throws {
        let (model, f) = try Self.model(name)
        let all = f.file.tensors.filter { $0.key.hasPrefix("param.") }.map { (key: String($0.key.dropFirst("param.".count)), tensor: $0.tensor) }
        #expect(all.contains { $0.key.hasPrefix("decoder.encoder.") } && all.contains { $0.key.contains(".all_modules.1.") })
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.pth").path
        try TorchCheckpoint.write(all, to: path)
        let loaded = try ModelFile.load(path: path)
        #expect(loaded.model.architecture == model.architecture)
        #expect(loaded.report.contains { $0.contains("aliased keys") }, "\(loaded.report)")
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, name)
        let back = directory.appendingPathComponent("back.pth").path
        try ModelFile.write(loaded.tensors, architecture: loaded.model.architecture, metadata: loaded.metadata, to: back)
        let written = try Checkpoint.read(path: back).tensors.map(\.key)
        #expect(Set(written) == Set(all.map(\.key)), "\(Set(all.map(\.key)).subtracting(written).prefix(3))")
    }
}

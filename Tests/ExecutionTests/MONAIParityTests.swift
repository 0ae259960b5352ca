import Checkpoints
import DNNL
import Execution
import Foundation
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// MONAI's `BasicUNet` and `UNet` (written by scripts/make_fixtures.py with monai 1.6.1 itself: instance norm with
/// and without affine parameters, batch norm, no norm, no bias, 0-2 residual units, a stride-1 level, a stride-3 one,
/// ReLU, LeakyReLU(0.2) and PReLU where they are not the default) run by the engine with every pass off and every pass
/// on, against MONAI's logits, gradients and running statistics (in eval mode, a transposed convolution to 16 channels
/// as its four phase convolutions). BasicUNet's inputs have odd sizes (its replicate padding), UNet's multiples of its
/// strides' product (MONAI's own condition).
@Suite("MONAI UNet and BasicUNet parity with monai, passes off and on")
struct MONAIParityTests {
    static let names = ["monai_basicunet", "monai_basicunet_batch_nobias", "monai_unet_res2_batch", "monai_unet_res0",
                        "monai_unet_res1_affine_s1", "monai_unet_res2_wide", "monai_unet_res1_phases", "monai_unet_res1_s3",
                        "monai_unet_res1_nonorm", "monai_basicunet_nonorm", "monai_unet_relu", "monai_unet_leaky", "monai_basicunet_relu",
                        "monai_basicunet_prelu"]

    /// The configuration the fixture's metadata describes (not detected: detection is tested against it).
    static func architecture(_ f: Fixture) throws -> Architecture {
        func list(_ key: String) throws -> [Int] { try f.string(key).split(separator: ",").map { Int($0)! } }
        let norm = try #require(MONAINorm(rawValue: try f.string("norm")))
        let bias = f.hasOption("bias") ? try f.string("bias") == "True" : true
        let (input, classes) = (try f.int("in_channels"), try f.int("out_channels"))
        let act = f.hasOption("act") ? try #require(MONAIActivation(try f.string("act"))) : nil
        if try f.string("kind") == "BasicUNet" {
            return .basicUNet(BasicUNetConfiguration(features: try list("features"), inputChannels: input, classes: classes, norm: norm,
                                                     activation: act ?? BasicUNetConfiguration.defaultActivation, bias: bias))
        }
        return .monaiUNet(MONAIUNetConfiguration(
            channels: try list("channels"), strides: try list("strides"),
            residualUnits: f.hasOption("num_res_units") ? try f.int("num_res_units") : 0, norm: norm, activation: act ?? .prelu, bias: bias,
            inputChannels: input, classes: classes))
    }

    /// The fixture's network with MONAI's parameters; every key of MONAI's state dict and of ours is the same.
    static func model(_ name: String) throws -> (any SegmentationModel, Fixture) {
        let f = try Fixture("models/" + name)
        var g = SeededGenerator(seed: 0)
        let model = try architecture(f).makeModel(generator: &g)
        for (key, parameter) in model.namedParameters() {
            let value = try f.tensor("param." + key)
            try #require(value.shape == parameter.value.shape, "\(name): \(key) \(value.shape) vs \(parameter.value.shape)")
            parameter.value = value
        }
        let expected = f.file.tensors.filter { $0.key.hasPrefix("param.") }.count
        try #require(model.namedParameters().count == expected, "\(name): \(model.namedParameters().count) keys, MONAI has \(expected)")
        return (model, f)
    }

    static func largest(_ t: Tensor) -> Float { (0..<t.count).reduce(0) { max($0, abs(t[flat: $1])) } }

    /// For a bias whose gradient MONAI computes as zero up to rounding (a convolution's, before a norm): the largest
    /// gradient of the same convolution's weight, which the rounding is relative to; nil for any other key.
    static func vanishingScale(_ f: Fixture, _ key: String) throws -> Float? {
        guard key.hasSuffix("conv.bias") else { return nil }
        let weight = largest(try f.tensor("grad." + key.dropLast("bias".count) + "weight"))
        return largest(try f.tensor("grad." + key)) <= 1e-5 * weight ? weight : nil
    }

    @Test("eval-mode logits match MONAI", arguments: names)
    func evalLogits(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, f) = try Self.model(name)
            let graph = try model.graph(inputShape: try f.tensor("x").shape)
            let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: false, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
        }
    }

    @Test("train-mode logits, every gradient and the running statistics match MONAI", arguments: names)
    func training(name: String) throws {
        for (label, passes) in UNetParityTests.passSets {
            let (model, f) = try Self.model(name)
            let graph = try model.graph(inputShape: try f.tensor("x").shape)
            let network = try CompiledNetwork(graph: graph, parameters: model.namedParameters(), training: true, passes: passes)
            expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_train"), rtol: 1e-3, atol: 1e-4, "\(name), \(label)")
            try network.backward(try f.tensor("dy"))
            var checked = 0
            for (key, parameter) in model.namedParameters() {
                if parameter.requiresGrad, let scale = try Self.vanishingScale(f, key) {
                    // A convolution's bias just before a norm: the norm removes it, its gradient is zero up to rounding.
                    #expect(Self.largest(parameter.grad) <= 1e-4 * scale, "\(name), \(label): grad \(key) should vanish")
                } else if parameter.requiresGrad {
                    // A shared PReLU slope's gradient is one sum over every value of its map: float32 rounding of the
                    // sum's order shows at 1e-4.
                    expectCloseInNorm(parameter.grad, try f.tensor("grad." + key), relative: key.hasSuffix("adn.A.weight") ? 1e-3 : 1e-4,
                                      "\(name), \(label): grad \(key)")
                } else {
                    expectClose(parameter.value, try f.tensor("after." + key), rtol: 1e-4, atol: 1e-5, "\(name), \(label): after \(key)")
                }
                checked += 1
            }
            #expect(checked == model.namedParameters().count && checked > 10)
        }
    }

    /// A stride other than 1 and 2 leaves no trace in the file: it loads as 2 with a note naming `--strides`, and as
    /// MONAI built it with the flag. So does `norm=None`, read as instance norm without affine parameters unless
    /// `--norm none` is given, and an activation without parameters: a MONAI UNet's is refused without `--act`, a
    /// BasicUNet's read as its default LeakyReLU(0.1).
    @Test("a .pth of it loads as MONAI built it, given --strides for a stride of 3, --norm none for no norm and --act for an activation without parameters, and predicts MONAI's logits",
          arguments: names)
    func loadedWithoutFlags(name: String) throws {
        let (model, f) = try Self.model(name)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monai-\(name)-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("model.pth").path
        try TorchCheckpoint.write(ModelFile.storedTensors(of: model), to: path)
        var options = ModelLoadOptions()
        if case .monaiUNet(let c) = model.architecture, c.strides.contains(where: { $0 > 2 }) {
            let guessed = try ModelFile.load(path: path)
            #expect(guessed.model.architecture != model.architecture)
            #expect(guessed.report.contains { $0.contains("give --strides") }, "\(guessed.report)")
            options.overrides.strides = c.strides
        }
        let (norm, activation): (MONAINorm?, MONAIActivation?) = switch model.architecture {
        case .monaiUNet(let c): (c.norm, c.activation)
        case .basicUNet(let c): (c.norm, c.activation)
        default: (nil, nil)
        }
        if case .monaiUNet = model.architecture, let activation, activation != .prelu {
            let refused = #expect(throws: UNetError.self) { try ModelFile.load(path: path, options: options) }
            #expect(refused.map { "\($0)" }?.contains("give --act relu|leakyrelu[:slope]") == true, "\(String(describing: refused))")
            options.overrides.activation = activation
        } else if case .basicUNet = model.architecture, let activation, ![.prelu, BasicUNetConfiguration.defaultActivation].contains(activation) {
            let guessed = try ModelFile.load(path: path, options: options)
            #expect(guessed.model.architecture != model.architecture && guessed.assumptions.contains { $0.contains("give --act") })
            options.overrides.activation = activation
        }
        let guessed = try ModelFile.load(path: path, options: options)
        #expect(guessed.assumptions.contains { $0.contains("give --norm none") } == (norm == .instance || norm == MONAINorm.none),
                "\(guessed.assumptions)")
        if norm == MONAINorm.none {
            #expect(guessed.model.architecture != model.architecture)
            options.overrides.norm = MONAINorm.none
        }
        let loaded = try ModelFile.load(path: path, options: options)
        #expect(loaded.model.architecture == model.architecture)
        #expect(loaded.report.contains { $0.hasPrefix("detected MONAI") }, "\(loaded.report)")
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, name)
    }

    /// `adn_ordering="ADN"` puts the activation before the norm, which the keys' names do not show but a `.pth`'s
    /// order does (PyTorch's state dict follows the modules' registration).
    @Test("MONAI's .pth of a UNet with the activation before the norm (adn_ordering \"ADN\") is refused in one line; norm first, it loads")
    func activationBeforeNorm() throws {
        let path = Fixture.path("models/monai_unet_adn.pth")
        let error = #expect(throws: UNetError.self) { try ModelFile.load(path: path) }
        #expect(error.map { "\($0)" }?.contains("a MONAI UNet whose activation comes before its norm (its state dict holds "
            + "model.0.conv.unit0.adn.A.weight before model.0.conv.unit0.adn.N.weight: adn_ordering \"ADN\" or \"AN\")") == true,
                "\(String(describing: error))")
        // The same tensors with each block's activation after its norm, as MONAI's default "NDA" stores them.
        var tensors = try Checkpoint.read(path: path).tensors
        let activations = tensors.filter { $0.key.hasSuffix(".adn.A.weight") }
        tensors.removeAll { $0.key.hasSuffix(".adn.A.weight") }
        for a in activations {
            let block = a.key.dropLast("A.weight".count)
            let last = try #require(tensors.lastIndex { $0.key.hasPrefix(block + "N.") })
            tensors.insert(a, at: last + 1)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("monai-adn-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let reordered = directory.appendingPathComponent("nda.pth").path
        try TorchCheckpoint.write(tensors, to: reordered)
        #expect(try ModelFile.load(path: reordered).model.architecture.description.hasPrefix("MONAI UNet(channels 4-8"))
    }

    @Test("MONAI's own torch.save of {epoch, best_acc, state_dict} loads and predicts its logits")
    func researchCheckpoint() throws {
        let f = try Fixture("models/monai_unet_res0")
        let loaded = try ModelFile.load(path: Fixture.path("models/monai_unet_res0.pth"))
        #expect(loaded.model.architecture == (try Self.architecture(f)))
        #expect(loaded.report.contains { $0.contains("strides leave no trace") }, "\(loaded.report)")
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4)
    }

    @Test("a whole pickled module (torch.save(model)) loads: its parameters and buffers read from the module tree, its classes never run")
    func wholeModule() throws {
        let (model, f) = try Self.model("monai_basicunet")
        let loaded = try ModelFile.load(path: Fixture.path("models/monai_basicunet_whole.pth"))
        #expect(loaded.model.architecture == model.architecture)
        #expect(loaded.report.contains { $0.contains("whole pickled 'monai.networks.nets.basic_unet.BasicUNet'") }, "\(loaded.report)")
        #expect(loaded.tensors.map(\.key) == model.namedParameters().map(\.0))
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4)
    }

    @Test("old MONAI names (…unit0.act.weight, …unit0.norm.*) load as the current adn.A / adn.N",
          arguments: ["monai_unet_res2_batch", "monai_basicunet"])
    func legacyNames(name: String) throws {
        let (model, f) = try Self.model(name)
        let old = ModelFile.storedTensors(of: model).map { entry in
            (key: entry.key.replacingOccurrences(of: ".adn.A.", with: ".act.").replacingOccurrences(of: ".adn.N.", with: ".norm."),
             tensor: entry.tensor)
        }
        #expect(old.contains { $0.key.hasSuffix(".norm.weight") })
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("monai-old-\(name)-\(getpid()).pth").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TorchCheckpoint.write(old, to: path)
        let loaded = try ModelFile.load(path: path)
        #expect(loaded.model.architecture == model.architecture)
        #expect(loaded.report.contains { $0.contains("old names") })
        let network = try CompiledUNet(loaded.model, inputShape: try f.tensor("x").shape, training: false)
        expectClose(try network.forward(try f.tensor("x")), try f.tensor("logits_eval"), rtol: 1e-3, atol: 1e-4, name)
    }

    @Test("inference compiles a shared PReLU slope in; a changed slope is refused on reload and the predictor compiles again")
    func bakedSlopes() throws {
        let (model, f) = try Self.model("monai_unet_res0")
        let network = try CompiledUNet(model, inputShape: try f.tensor("x").shape, training: false)
        #expect(!network.network.graph.nodes.contains { if case .prelu = $0.op { true } else { false } })
        let slope = try #require(model.namedParameters().first { $0.0.hasSuffix("adn.A.weight") }?.1)
        try network.loadParameters()
        slope.value = slope.value.map { $0 + 0.5 }
        #expect(network.bakedParametersChanged)
        let error = #expect(throws: CompilationError.self) { try network.loadParameters() }
        #expect(error.map { "\($0)" }?.contains("compile the model again") == true)
        // Compiled again, the network reads the new slope: equal to the reference engine (passes off) with it.
        let again = try CompiledUNet(model, inputShape: try f.tensor("x").shape, training: false)
        let reference = try CompiledNetwork(graph: try model.graph(inputShape: try f.tensor("x").shape), parameters: model.namedParameters(),
                                            training: false, passes: [])
        expectClose(try again.forward(try f.tensor("x")), try reference.forward(try f.tensor("x")), rtol: 1e-4, atol: 1e-5)
    }

    /// oneDNN 2.6's Winograd takes no leaky ReLU post-op: a convolution wide enough for it, with MONAI's PReLU (baked into
    /// a leaky ReLU) fused, runs Winograd and then the activation; the eval-mode test above matches its logits to MONAI's.
    /// The fixture's image twice, so that the 16x16 level's maps reach the 512 pixels below which inference runs them
    /// channels-last, without Winograd (`LayoutChoice.isSmallMap`).
    @Test("a Winograd convolution with MONAI's PReLU fused runs the activation after it, where the CPU has Winograd (AVX-512)")
    func winogradThenActivation() throws {
        let (model, f) = try Self.model("monai_unet_res2_wide")
        let (x, logits) = (try f.tensor("x"), try f.tensor("logits_eval"))
        let twice = { (t: Tensor) in try Tensor(shape: [2 * t.shape[0]] + t.shape.dropFirst(), scalars: t.scalars + t.scalars) }
        let network = try CompiledUNet(model, inputShape: try twice(x).shape, training: false).network
        let leaky = Set(network.graph.nodes.filter { node in
            if case .conv2d(let a) = node.op, case .leakyReLU = a.activation { true } else { false }
        }.map(\.name))
        let winograd = network.convolutionImplementations.filter { leaky.contains($0.key) && $0.value.contains("wino") }
        #expect(winograd.count == (CPUISA.hasAVX512 ? 3 : 0), "\(network.convolutionImplementations)")
        expectClose(try network.forward(try twice(x)), try twice(logits), rtol: 1e-3, atol: 1e-4)
    }

    @Test("a MONAI UNet refuses sizes that are not multiples of its strides' product, in one line")
    func sizeMultiple() throws {
        let (model, _) = try Self.model("monai_unet_res2_batch")
        let error = #expect(throws: UNetError.self) { try model.graph(inputShape: [1, 1, 33, 48]) }
        #expect(error.map { "\($0)" }?.contains("multiples of 8") == true, "\(String(describing: error))")
    }
}

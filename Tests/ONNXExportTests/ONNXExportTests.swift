import Checkpoints
import Foundation
import Models
import ONNXExport
import ONNXProto
import SwiftProtobuf
import Tensors
import TestSupport
import Testing

/// The structure of exported models. That ONNX Runtime and OpenVINO run them to PyTorch's and our outputs is
/// checked by scripts/check_onnx.py (it needs the Python packages).
@Suite("ONNX export")
struct ONNXExportTests {
    func load(_ name: String) throws -> LoadedModel { try ModelFile.load(path: Fixture.path("models/" + name)) }

    func export(_ loaded: LoadedModel, _ options: ONNXExportOptions) throws -> (Onnx_ModelProto, Data?) {
        let metadata = try ModelFile.descriptiveMetadata(architecture: loaded.model.architecture, metadata: loaded.metadata)
        let (model, data) = try ONNXExporter.export(loaded.model, metadata: metadata, options: options)
        // What is written is what is read back.
        let bytes: [UInt8] = try model.serializedBytes()
        return (try Onnx_ModelProto(serializedBytes: bytes), data)
    }

    func dims(_ info: Onnx_ValueInfoProto) -> [String] {
        info.type.tensorType.shape.dim.map { dimension in
            switch dimension.value {
            case .dimValue(let n): "\(n)"
            case .dimParam(let s): s
            case nil: "?"
            }
        }
    }

    func floats(_ data: Data) -> [Float] {
        data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    @Test("milesial's U-Net: opset 17, fixed shapes, every weight under its state_dict key with its values, the metadata")
    func classicFixed() throws {
        let loaded = try load("milesial_b2_c2.pth")
        let (model, data) = try export(loaded, ONNXExportOptions(inputShape: [1, 3, 64, 48]))
        #expect(data == nil)
        #expect(model.irVersion == 8 && model.opsetImport.map(\.version) == [17] && model.opsetImport[0].domain == "")
        #expect(model.graph.input.map(\.name) == ["input"] && dims(model.graph.input[0]) == ["1", "3", "64", "48"])
        #expect(model.graph.output.map(\.name) == ["logits"] && dims(model.graph.output[0]) == ["1", "2", "64", "48"])
        let ops = model.graph.node.map(\.opType)
        #expect(ops.filter { $0 == "Conv" }.count == 19 && ops.filter { $0 == "ConvTranspose" }.count == 4)
        #expect(ops.filter { $0 == "BatchNormalization" }.count == 18 && ops.filter { $0 == "MaxPool" }.count == 4)
        #expect(Set(ops) == ["Conv", "BatchNormalization", "Relu", "MaxPool", "ConvTranspose", "Concat"])
        #expect(model.graph.node.last?.output == ["logits"])
        let parameters = Dictionary(loaded.model.namedParameters().map { ($0.0, $0.1.value) }, uniquingKeysWith: { a, _ in a })
        var checked = 0
        for initializer in model.graph.initializer {
            guard let tensor = parameters[initializer.name] else { continue }
            #expect(initializer.dims.map(Int.init) == tensor.shape || initializer.dims.map(Int.init) == [tensor.count], "\(initializer.name)")
            #expect(floats(initializer.rawData) == tensor.scalars, "\(initializer.name)")
            checked += 1
        }
        // Every tensor but the batch norms' num_batches_tracked counters.
        #expect(checked == parameters.count - 18)
        let props = Dictionary(model.metadataProps.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(props["unet.configuration"]?.contains("\"baseWidth\":2") == true, "\(props)")
        #expect(props["unet.metadata"] != nil && props["unet.io"] == ONNXExporter.ioDescription)
    }

    @Test("--fold-bn: no BatchNormalization; each convolution's weight and bias hold the normalization")
    func foldedBatchNorm() throws {
        let loaded = try load("milesial_b2_c2.pth")
        let (model, _) = try export(loaded, ONNXExportOptions(foldBatchNorm: true, inputShape: [1, 3, 32, 32]))
        #expect(!model.graph.node.contains { $0.opType == "BatchNormalization" })
        let first = try #require(model.graph.node.first { $0.opType == "Conv" })
        #expect(first.input.count == 3)
        let initializers = Dictionary(model.graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let (w, b) = (floats(try #require(initializers[first.input[1]]).rawData), floats(try #require(initializers[first.input[2]]).rawData))
        let p = Dictionary(loaded.model.namedParameters().map { ($0.0, $0.1.value.scalars) }, uniquingKeysWith: { a, _ in a })
        let (weight, gamma, beta) = (try #require(p["inc.double_conv.0.weight"]), try #require(p["inc.double_conv.1.weight"]),
                                     try #require(p["inc.double_conv.1.bias"]))
        let (mean, variance) = (try #require(p["inc.double_conv.1.running_mean"]), try #require(p["inc.double_conv.1.running_var"]))
        let perOutput = weight.count / gamma.count
        for o in gamma.indices {
            let scale = gamma[o] / (variance[o] + 1e-5).squareRoot()
            #expect(abs(b[o] - (beta[o] - mean[o] * scale)) < 1e-6)
            for i in 0..<perOutput { #expect(abs(w[o * perOutput + i] - weight[o * perOutput + i] * scale) < 1e-6) }
        }
    }

    @Test("--dynamic: symbolic batch, height and width; joins pad to the skip's run-time size")
    func dynamicShapes() throws {
        let loaded = try load("milesial_b2_c2.pth")
        let (model, _) = try export(loaded, ONNXExportOptions(dynamic: true, inputShape: [1, 3, 64, 64]))
        #expect(dims(model.graph.input[0]) == ["batch", "3", "height", "width"])
        #expect(dims(model.graph.output[0]) == ["batch", "2", "height", "width"])
        // Traced where every level is odd: all four joins pad, each by amounts computed from Shape at run time.
        let pads = model.graph.node.filter { $0.opType == "Pad" }
        #expect(pads.count == 4)
        let made = Set(model.graph.node.flatMap(\.output))
        #expect(pads.allSatisfy { made.contains($0.input[1]) })
        #expect(model.graph.node.contains { $0.opType == "Shape" })
    }

    @Test("MONAI BasicUNet: instance norm, LeakyReLU, replicate padding as edge padding")
    func basicUNet() throws {
        let loaded = try load("monai_basicunet_whole.pth")
        let (model, _) = try export(loaded, ONNXExportOptions(dynamic: true, inputShape: [1, 1, 64, 64]))
        let ops = Set(model.graph.node.map(\.opType))
        #expect(ops.isSuperset(of: ["InstanceNormalization", "LeakyRelu", "Pad", "ConvTranspose"]))
        let pads = model.graph.node.filter { $0.opType == "Pad" }
        #expect(!pads.isEmpty && pads.allSatisfy { $0.attribute.contains { $0.name == "mode" && $0.s == Data("edge".utf8) } })
    }

    /// efficientnet-pytorch's blocks: depthwise convolutions (`group` = channels), SiLU as Sigmoid and Mul, the
    /// squeeze-and-excitation gate, and TensorFlow's "same" padding at stride 2 as a Conv's uneven `pads`.
    @Test("smp Unet with an EfficientNet encoder: depthwise Conv groups, SiLU as Sigmoid x Mul, squeeze-and-excitation, uneven pads")
    func efficientNet() throws {
        var g = SeededGenerator(seed: 5)
        let smp = try SMPUNet(SMPUNetConfiguration(encoder: .efficientNet(.b0), encoderDepth: 3, decoderChannels: [16, 8, 8], inputChannels: 3,
                                                   classes: 2), generator: &g)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-efficientnet-\(getpid()).pth").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TorchCheckpoint.write(ModelFile.storedTensors(of: smp), to: path)
        let (model, _) = try export(try ModelFile.load(path: path), ONNXExportOptions(inputShape: [1, 3, 64, 64]))
        let ops = Set(model.graph.node.map(\.opType))
        #expect(ops.isSuperset(of: ["Sigmoid", "Mul", "GlobalAveragePool", "Conv", "Add", "Resize", "Concat"]))
        let convolutions = model.graph.node.filter { $0.opType == "Conv" }
        func attribute(_ node: Onnx_NodeProto, _ name: String) -> [Int64] {
            node.attribute.first { $0.name == name }.map { $0.ints.isEmpty ? [$0.i] : $0.ints } ?? []
        }
        #expect(convolutions.contains { attribute($0, "group") == [96] })  // block 1's depthwise 3x3 over 16 · 6 channels
        // ONNX pads are [top, left, bottom, right]: the stem's and block 1's 3x3 stride-2 convolutions pad 0 before, 1 after.
        #expect(convolutions.filter { attribute($0, "pads") == [0, 0, 1, 1] }.count == 2)
        #expect(convolutions.contains { attribute($0, "pads") == [1, 1, 2, 2] })  // block 3's 5x5 at stride 2
    }

    /// torchvision's MobileNetV2: ReLU6 as Clip between the constants 0 and 6 (opset 11's inputs, not attributes), the
    /// depthwise convolutions, and the residual adds of the blocks that keep their size.
    @Test("smp Unet with a MobileNetV2 encoder: ReLU6 as Clip(0, 6), depthwise Conv groups, residual Add")
    func mobileNetV2() throws {
        var g = SeededGenerator(seed: 6)
        let smp = try SMPUNet(SMPUNetConfiguration(encoder: .mobileNetV2, encoderDepth: 3, decoderChannels: [16, 8, 8], inputChannels: 3,
                                                   classes: 2), generator: &g)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("onnx-mobilenet-\(getpid()).pth").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try TorchCheckpoint.write(ModelFile.storedTensors(of: smp), to: path)
        let (model, _) = try export(try ModelFile.load(path: path), ONNXExportOptions(inputShape: [1, 3, 64, 64]))
        let clips = model.graph.node.filter { $0.opType == "Clip" }
        // The stem, and per block one (features.1) or two ReLU6s: 1 + 1 + 2 · 5 for features.0-6.
        #expect(clips.count == 12)
        let constants = Dictionary(model.graph.initializer.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for clip in clips {
            let bounds = clip.input.dropFirst().map { name in constants[name].map { $0.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } } }
            #expect(bounds == [[0], [6]], "\(clip.name)")
        }
        #expect(model.graph.node.contains { $0.opType == "Conv" && $0.attribute.contains { $0.name == "group" && $0.i == 144 } })
        #expect(model.graph.node.filter { $0.opType == "Add" }.count == 3)  // features.3, .5 and .6
    }

    /// The exported network is the eval-mode one: MONAI's dropout and an EfficientNet's drop path leave nothing in it.
    @Test("a model trained with dropout or drop path exports as the same model without: the same nodes")
    func dropout() throws {
        var g = SeededGenerator(seed: 7)
        var monai = MONAIUNetConfiguration(channels: [4, 8, 16], strides: [2, 2], residualUnits: 1, norm: .batch, inputChannels: 1, classes: 2)
        var smp = SMPUNetConfiguration(encoder: .timmEfficientNet(.lite0), encoderDepth: 3, decoderChannels: [16, 8, 8], classes: 2)
        for (plain, regularized) in [(Architecture.monaiUNet(monai), { monai.dropout = 0.3; return Architecture.monaiUNet(monai) }()),
                                     (Architecture.smpUNet(smp), { smp.dropPath = 0.2; return Architecture.smpUNet(smp) }())] {
            let (a, b) = (try plain.makeModel(generator: &g), try regularized.makeModel(generator: &g))
            try b.load(a.stateDict(), strict: true)
            let shape = [1, plain.inputChannels, 64, 64]
            let nodes = try [a, b].map { model in
                try ONNXExporter.export(model, metadata: [:], options: ONNXExportOptions(inputShape: shape)).0.graph.node.map(\.opType)
            }
            #expect(nodes[0] == nodes[1], "\(regularized)")
            #expect(!nodes[1].contains("Dropout") && !nodes[1].contains("Identity"))
        }
    }

    @Test("--external-data: large weights leave the model for the data blob, at the offsets and lengths recorded")
    func externalData() throws {
        let loaded = try load("milesial_b2_c2.pth")
        let (inline, _) = try export(loaded, ONNXExportOptions(inputShape: [1, 3, 32, 32]))
        let (model, blob) = try export(loaded, ONNXExportOptions(inputShape: [1, 3, 32, 32], externalData: true))
        let data = try #require(blob)
        let original = Dictionary(inline.graph.initializer.map { ($0.name, $0.rawData) }, uniquingKeysWith: { a, _ in a })
        var external = 0
        for initializer in model.graph.initializer where initializer.dataLocation == .external {
            let entries = Dictionary(initializer.externalData.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
            #expect(entries["location"] == "model.onnx.data")
            let (offset, length) = (try #require(Int(entries["offset"] ?? "")), try #require(Int(entries["length"] ?? "")))
            #expect(offset % 4096 == 0 && initializer.rawData.isEmpty)
            #expect(data[offset..<offset + length] == original[initializer.name], "\(initializer.name)")
            external += 1
        }
        #expect(external > 0 && external == original.values.filter { $0.count >= 1024 }.count)
    }

    @Test("an ensemble (nnU-Net's folds): each member's weights under model_<k>/, and logits the Mean of theirs")
    func ensemble() throws {
        let (first, second) = (try load("milesial_b2_c2.pth"), try load("milesial_b2_c2.pth"))
        for (_, parameter) in second.model.namedParameters() where !parameter.isInteger {
            parameter.value = Tensor(shape: parameter.value.shape) { parameter.value[flat: $0] + 0.5 }
        }
        let metadata = try ModelFile.descriptiveMetadata(architecture: first.model.architecture, metadata: first.metadata)
        let (model, _) = try ONNXExporter.export(first.model, ensemble: [second.model], metadata: metadata,
                                                 options: ONNXExportOptions(dynamic: true, inputShape: [1, 3, 32, 32]))
        let mean = try #require(model.graph.node.last)
        #expect(mean.opType == "Mean" && mean.output == ["logits"] && mean.input == ["model_0/logits", "model_1/logits"])
        let initializers = Dictionary(model.graph.initializer.map { ($0.name, $0.rawData) }, uniquingKeysWith: { a, _ in a })
        let key = "outc.conv.weight"
        let (a, b) = (floats(try #require(initializers["model_0/" + key])), floats(try #require(initializers["model_1/" + key])))
        #expect(a == first.model.namedParameters().first { $0.0 == key }?.1.value.scalars)
        #expect(zip(a, b).allSatisfy { abs($1 - $0 - 0.5) < 1e-6 })
        #expect(model.graph.input.count == 1 && model.graph.output.map(\.name) == ["logits"])
    }

    @Test("unsupported options and sizes are refused naming the flag")
    func refusals() throws {
        let loaded = try load("milesial_b2_c2.pth")
        #expect { try export(loaded, ONNXExportOptions(opset: 14, inputShape: [1, 3, 32, 32])) } throws: {
            "\($0)".contains("--opset 14") && "\($0)".contains("15 to 21")
        }
        #expect { try export(loaded, ONNXExportOptions(inputShape: [1, 3, 8, 8])) } throws: { "\($0)".hasPrefix("--size:") }
        #expect { try export(loaded, ONNXExportOptions(inputShape: [1, 4, 32, 32])) } throws: { "\($0)".contains("input channels") }
    }
}

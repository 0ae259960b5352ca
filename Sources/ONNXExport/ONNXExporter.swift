import Files
import Foundation
import Graph
import Models
import NN
import ONNXProto
import SwiftProtobuf
import Tensors

/// Writes a model as an ONNX model (https://onnx.ai/onnx/repo-docs/IR.html) that ONNX Runtime, OpenVINO and
/// TensorRT run: the eval-mode graph the engine compiles, op for op, with the model's weights under their
/// `state_dict` keys.
///
/// - Input `input`: float32 `(N, C_in, H, W)`, the image scaled to [0, 1] and normalized as the model's metadata
///   says (`unet.metadata`: `normalization.mean`/`std` per channel after clipping to `lower`/`upper`, in the file's
///   own units with `rawIntensities`; or `perImage` z-score), cut first to the box of its nonzero pixels where
///   `cropToNonzero` says so (nnU-Net's crop; class 0 outside it).
/// - Output `logits`: float32 `(N, classes, H', W')` (`H' = H` but for valid padding); softmax over channels (or a
///   sigmoid for one class) gives the probabilities `unet predict` computes.
/// - Metadata (`metadata_props`): the entries a native file records (the architecture's configuration as JSON,
///   `unet.metadata` with the class table and normalization) and `unet.io`, the sentence above.
///
/// With `dynamic`, the batch and spatial sizes are symbolic. The graph is traced at a size where every level of
/// the network is odd (where the network takes such sizes), so that every padding and crop that joins a skip is
/// present; each then takes its size from the map it is joined to (`Shape` at run time), as PyTorch computes it.
public enum ONNXExporter {
    /// Weights of more bytes than this are written as external data (protobuf messages stop at 2 GiB).
    public static let embeddedLimit = (1 << 31) - (64 << 20)
    /// With external data, tensors of at least this many bytes go to the data file (small ones stay inline).
    static let externalMinimumBytes = 1024
    /// What the input and output are, recorded as `unet.io`.
    public static let ioDescription = "input: float32 (N, C, H, W), the image scaled to [0, 1] and normalized as unet.metadata says; "
        + "output logits: float32 (N, classes, H', W'), softmax over channels (sigmoid for one class) gives the probabilities"

    /// The model as ONNX, and the bytes of its external data (nil: every weight is inside the model). Weights are
    /// externalized when `options.externalData` says so or they exceed `embeddedLimit`; `dataFileName` is the
    /// location recorded for them (the data file's name, beside the model).
    ///
    /// With an `ensemble` (the other folds of an nnU-Net folder, of the same architecture), every member's network
    /// reads the input, its weights named `model_<k>/<key>`, and `logits` is the mean of their logits (`Mean`), as
    /// nnU-Net and `unet predict` average folds.
    /// - Throws: `ONNXExportError` naming the option or node that cannot be exported.
    public static func export(_ model: any SegmentationModel, ensemble: [any SegmentationModel] = [], metadata: [String: String],
                              options: ONNXExportOptions, dataFileName: String = "model.onnx.data")
        throws(ONNXExportError) -> (model: Onnx_ModelProto, externalData: Data?)
    {
        guard ONNXExportOptions.supportedOpsets.contains(options.opset) else {
            let range = ONNXExportOptions.supportedOpsets
            throw ONNXExportError("--opset \(options.opset): opsets \(range.lowerBound) to \(range.upperBound) are supported")
        }
        let shape = options.dynamic ? try traceShape(model) : options.inputShape
        let members = [model] + ensemble
        var writer = ONNXGraphWriter(reserved: ["input", "logits"])
        var outputs: [String] = []
        var output: [Int] = []
        for (k, member) in members.enumerated() {
            do { try member.checkInput(shape) } catch { throw ONNXExportError("--size: \(error)") }
            member.eval()
            var graph: Graph
            do { graph = try member.graph(inputShape: shape) } catch { throw ONNXExportError("--size: \(error)") }
            output = graph.shape(graph.output)
            if options.foldBatchNorm { graph = graph.foldingBatchNorm() }
            let parameters = Dictionary(member.namedParameters().map { ($0.0, $0.1.value) }, uniquingKeysWith: { a, _ in a })
            let name = members.count == 1 ? "logits" : writer.unique("model_\(k)/logits")
            var translation = ONNXGraphTranslation(graph: graph, parameters: parameters, dynamic: options.dynamic, writer: writer,
                                                   prefix: members.count == 1 ? "" : "model_\(k)/", output: name)
            try translation.translate()
            writer = translation.writer
            outputs.append(name)
        }
        if members.count > 1 { writer.node("Mean", outputs, name: "ensemble", output: "logits") }
        var externalData: Data?
        let weightBytes = writer.initializers.reduce(0) { $0 + $1.rawData.count }
        if options.externalData || weightBytes > embeddedLimit {
            externalData = writer.externalizeInitializers(location: dataFileName, minimumBytes: externalMinimumBytes)
        }

        var onnxGraph = Onnx_GraphProto()
        onnxGraph.name = "unet"
        onnxGraph.node = writer.nodes
        onnxGraph.initializer = writer.initializers
        let spatial: [Dimension] =
            options.dynamic
            ? (output[2...] == shape[2...] ? [.symbol("height"), .symbol("width")] : [.symbol("out_height"), .symbol("out_width")])
            : [.fixed(output[2]), .fixed(output[3])]
        let batch: Dimension = options.dynamic ? .symbol("batch") : .fixed(shape[0])
        onnxGraph.input = [valueInfo("input", [batch, .fixed(shape[1])] + (options.dynamic ? [.symbol("height"), .symbol("width")] : [.fixed(shape[2]), .fixed(shape[3])]))]
        onnxGraph.output = [valueInfo("logits", [batch, .fixed(output[1])] + spatial)]

        var onnx = Onnx_ModelProto()
        onnx.irVersion = irVersion(opset: options.opset)
        onnx.producerName = "unet"
        onnx.docString = "A U-Net exported by the unet tool. " + ioDescription
        var opset = Onnx_OperatorSetIdProto()
        (opset.domain, opset.version) = ("", Int64(options.opset))
        onnx.opsetImport = [opset]
        onnx.graph = onnxGraph
        onnx.metadataProps = metadata.merging(["unet.io": ioDescription]) { _, new in new }.sorted { $0.key < $1.key }
            .map { ONNXGraphWriter.entry($0.key, $0.value) }
        return (onnx, externalData)
    }

    /// Exports (see `export`) to `path`, with external data in `<path>.data` when there is any. Each file is written
    /// to a temporary file and renamed: a failure leaves no partial file. Returns whether it wrote external data.
    @discardableResult
    public static func write(_ model: any SegmentationModel, ensemble: [any SegmentationModel] = [], metadata: [String: String],
                             options: ONNXExportOptions, to path: String) throws -> Bool {
        let dataPath = path + ".data"
        let (onnx, externalData) = try export(model, ensemble: ensemble, metadata: metadata, options: options,
                                              dataFileName: (dataPath as NSString).lastPathComponent)
        let bytes: Data
        do { bytes = try onnx.serializedBytes() } catch { throw ONNXExportError("\(path): cannot encode the model: \(error)") }
        if let externalData { try AtomicFile.write(externalData, to: dataPath) }
        try AtomicFile.write(bytes, to: path)
        return externalData != nil
    }

    /// The ONNX IR version that goes with `opset` (onnx/helper.py's table).
    static func irVersion(opset: Int) -> Int64 {
        switch opset {
        case ...18: 8
        case 19...20: 9
        default: 10
        }
    }

    /// A size to trace a dynamic export at: `H = d·k − 1`, `W = d·(k + 1) − 1` for the network's down-sampling factor
    /// `d` (every level odd, so every join that pads or crops is in the graph), the smallest the network takes; for
    /// networks that take only multiples of `d`, `d·k` and `d·(k + 1)`.
    static func traceShape(_ model: any SegmentationModel) throws(ONNXExportError) -> [Int] {
        let a = model.architecture
        let d = a.downsampling
        for offset in [-1, 0] {
            for k in 2...64 {
                let shape = [1, a.inputChannels, d * k + offset, d * (k + 1) + offset]
                guard shape[2] >= a.minimumInputSize else { continue }
                if (try? model.checkInput(shape)) != nil, (try? model.graph(inputShape: shape)) != nil { return shape }
            }
        }
        throw ONNXExportError("--dynamic: found no input size the network takes to trace it at")
    }

    enum Dimension {
        case fixed(Int)
        case symbol(String)
    }

    static func valueInfo(_ name: String, _ dimensions: [Dimension]) -> Onnx_ValueInfoProto {
        var tensor = Onnx_TypeProto.Tensor()
        tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.shape.dim = dimensions.map { dimension in
            var d = Onnx_TensorShapeProto.Dimension()
            switch dimension {
            case .fixed(let n): d.dimValue = Int64(n)
            case .symbol(let s): d.dimParam = s
            }
            return d
        }
        var info = Onnx_ValueInfoProto()
        info.name = name
        info.type.tensorType = tensor
        return info
    }
}

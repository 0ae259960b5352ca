import Checkpoints
import Datasets
import ImageIO
import Models
import Multipart
import Workflows

/// The parsers that read what users hand us, each as a fuzzing entry point: bytes in, and either a value or a
/// thrown one-line error out. A trap, a hang, a memory blow-up or an error of several lines is a finding.
/// `Fuzz/run.sh` drives them with libFuzzer; `make test` replays `Fuzz/regressions/<target>/` through them.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A bare pickle (`data.pkl`): the opcodes, memo, nesting limits.
    case pickle
    /// A `.pth` file: zip or legacy stream, storages, tensor views.
    case torch
    /// The zip reader alone: central directory, zip64 records, every entry's bytes and CRC.
    case zip
    case safetensors
    case npy
    /// A model file end to end: any format, the native metadata, detection, building the U-Net.
    case model
    /// An `IMAGE MASK [REGION]` list file.
    case list
    /// A `--map` key-mapping file.
    case keymap
    /// A `--mask-values` class table.
    case masktable
    /// PNG, JPEG, GIF, BMP and TIFF through `ImageReader`, under a pixel limit.
    case image
    /// A `metrics.jsonl` drawn as the training curves (a user may edit the log).
    case metricslog
    /// The `config.json` of an smp `save_pretrained` folder.
    case smpconfig
    /// An nnU-Net folder's `plans.json`, then after a zero byte its `dataset.json` (a valid one when there is none).
    case nnunetplans
    /// A `multipart/form-data` request body of `unet serve`: a `Content-Type` header, a zero byte, then the body (a
    /// default content type when there is no zero byte).
    case multipart

    /// The pixel limit images are fuzzed under (decoding stays within the fuzzer's memory limit).
    public static let imagePixelLimit = 1 << 20

    /// Runs the parser on `bytes`; errors are expected, and must be one line.
    public func run(_ bytes: [UInt8]) {
        let name = "input"
        do {
            switch self {
            case .pickle: _ = try TorchCheckpoint.readPickle(bytes: bytes, path: name).description
            case .torch: _ = try TorchCheckpoint.readObject(bytes: bytes, path: name).description
            case .zip:
                let archive = try ZipArchive(bytes)
                for entry in archive.entries { _ = try archive.contents(of: entry.name) }
            case .safetensors: _ = try SafeTensorsFile.parse(bytes, path: name).stateDict()
            case .npy: _ = try NumpyArray.decode(bytes, path: name)
            case .model: _ = try ModelFile.decode(bytes, path: name)
            case .list: _ = SampleDiscovery.parseList(String(decoding: bytes, as: UTF8.self), path: "list/\(name).txt")
            case .keymap:
                let mapping = try KeyMapping(text: String(decoding: bytes, as: UTF8.self), source: name)
                _ = try mapping.rename(["inc.double_conv.0.weight", "outc.conv.bias"], within: 1)
            case .masktable: _ = try ClassTable(parsing: String(decoding: bytes, as: UTF8.self), source: name)
            case .image:
                ImageReader.maximumPixels = Self.imagePixelLimit
                _ = try ImageReader.decode(bytes, path: name)
            case .metricslog:
                let chart = TrainingCurves.chart(metricsText: String(decoding: bytes, as: UTF8.self))
                _ = try chart.render(width: 160, panelHeight: 90).image()  // small: the drawing code, not its pixel count
            case .smpconfig: _ = try SMPPretrainedConfig.decode(bytes, path: name)
            case .nnunetplans:
                let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
                let dataset = parts.count > 1 ? Array(parts[1])
                    : Array(#"{"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "disc": 1}}"#.utf8)
                _ = try NNUNetPlans.decode(plans: Array(parts[0]), dataset: dataset, plansPath: "plans.json", datasetPath: "dataset.json").metadata
            case .multipart:
                let parts = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
                let (contentType, body) = parts.count > 1
                    ? (String(decoding: parts[0], as: UTF8.self), Array(parts[1])) : ("multipart/form-data; boundary=b", bytes)
                _ = try MultipartBody.image(in: body, contentType: contentType)
            }
        } catch {
            let text = "\(error)"
            precondition(!text.contains("\n") && text.utf8.count <= 2000, "\(self): error of several lines or too long: \(text.prefix(300))")
        }
    }
}

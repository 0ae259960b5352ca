import Checkpoints
import Files
import Foundation
import NN
import Tensors

/// A model read from a file, with its tensors as stored (keys renamed to the model's) and how it was found.
public struct LoadedModel {
    public let model: any SegmentationModel
    public let metadata: ModelMetadata
    /// The file's tensors under the model's keys, element types and bytes untouched.
    public let tensors: [(key: String, tensor: StoredTensor)]
    public let format: Checkpoint.Format
    /// One line per thing worth telling: detected layout, unwrapping, renamed keys.
    public let report: [String]
    /// The file's `__metadata__` (training checkpoints keep their state there).
    public let fileMetadata: [String: String]
    /// Tensors that are not the model's: a training checkpoint's optimizer buffers (`optimizer.*`).
    public let extraTensors: [(key: String, tensor: StoredTensor)]
    /// More networks of the same architecture whose logits prediction averages with `model`'s: an nnU-Net folder's
    /// other folds. Empty for a model file.
    public var ensemble: [any SegmentationModel] = []

    /// The lines of `report` where loading assumed what the file leaves open (a MONAI UNet's strides and its norm, a
    /// BasicUNet's activation and norm, an inferred classic U-Net's padding and concatenation order): each says what
    /// it `assumed`, and names the flag where one can say otherwise.
    public var assumptions: [String] { report.filter { $0.contains("assumed") } }

    /// `report` without its lines per key (`matched …`, `renamed …`): what the commands print unless asked for more.
    public var notes: [String] { report.filter { !($0.hasPrefix("matched ") || $0.hasPrefix("renamed ")) } }
}

/// Reads and writes models: native safetensors (self-describing through `__metadata__`) and PyTorch `.pth` state
/// dicts of the milesial, labml and tutorial layouts, of segmentation_models_pytorch's `Unet` and of MONAI's `UNet` and
/// `BasicUNet` (detected), or any other classic U-Net given its architecture (structural matching) or a key mapping.
public enum ModelFile {
    /// `__metadata__` keys of native model files.
    public static let configurationKey = "unet.configuration"
    /// The configuration of an smp `Unet` (`SMPUNetConfiguration`), where classic U-Nets have `configurationKey`.
    public static let smpConfigurationKey = "unet.smp_unet"
    /// The configuration of a MONAI `BasicUNet` (`BasicUNetConfiguration`) and of a MONAI `UNet` (`MONAIUNetConfiguration`).
    public static let basicUNetConfigurationKey = "unet.monai_basic_unet"
    public static let monaiUNetConfigurationKey = "unet.monai_unet"
    /// The configuration of an nnU-Net `PlainConvUNet` (`PlainConvUNetConfiguration`).
    public static let plainConvUNetConfigurationKey = "unet.nnunet_plain_conv_unet"
    public static let residualEncoderUNetConfigurationKey = "unet.nnunet_residual_encoder_unet"
    public static let metadataKey = "unet.metadata"
    /// Training checkpoints: the trainer's state, and the prefix of the optimizer's tensors.
    public static let trainingKey = "unet.training"
    public static let optimizerPrefix = "optimizer."

    /// Loads a model from `path` (safetensors or .pth, told apart by content).
    /// - Throws: `CheckpointError` for unreadable files, `UNetError` naming the file and keys when the tensors do
    ///   not fit the architecture, hold NaN or infinity, or the recorded metadata is out of range. Nothing is
    ///   written.
    /// A folder is an smp `save_pretrained` folder (its `model.safetensors`, checked against its `config.json`) or an
    /// nnU-Net trained-model folder (see `loadNNUNet`).
    public static func load(path: String, options: ModelLoadOptions = .init()) throws -> LoadedModel {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
            return try load(try Checkpoint.read(path: path), path: path, options: options)
        }
        if let loaded = try loadNNUNet(folder: path, options: options) { return loaded }
        let configPath = (path as NSString).appendingPathComponent("config.json")
        let weightsPath = (path as NSString).appendingPathComponent("model.safetensors")
        guard FileContents.isRegularFile(configPath), FileContents.isRegularFile(weightsPath) else {
            throw UNetError.incompatibleCheckpoint("\(path) is a folder without config.json and model.safetensors "
                + "(smp's save_pretrained); give a model file")
        }
        let config = try SMPPretrainedConfig.decode(try FileContents.read(configPath, limit: SMPPretrainedConfig.sizeLimit), path: configPath)
        // config.json records what the weights cannot show: the decoder's interpolation.
        var options = options
        if let mode = config.interpolation {
            if let given = options.overrides.decoderInterpolation, given != mode {
                throw UNetError.incompatibleCheckpoint("\(path): --decoder-interpolation \(given.rawValue), but \(configPath) says "
                    + "decoder_interpolation \(CheckpointError.quote(mode.rawValue))")
            }
            options.overrides.decoderInterpolation = mode
        }
        let loaded = try load(try Checkpoint.read(path: weightsPath), path: weightsPath, options: options)
        guard case .smpUNet(let detected) = loaded.model.architecture else {
            throw UNetError.incompatibleCheckpoint("\(weightsPath): not the weights of an smp Unet, as \(configPath) says")
        }
        let contradictions = config.contradictions(with: detected)
        guard contradictions.isEmpty else {
            throw UNetError.incompatibleCheckpoint("\(configPath) says \(contradictions.joined(separator: ", ")), but the weights are "
                + "\(detected)")
        }
        var report = loaded.report + ["smp save_pretrained folder: \(path)"]
        if let activation = config.activation {
            report.append("config.json's activation '\(activation)' is left out: unet applies sigmoid or softmax to the logits itself")
        }
        return LoadedModel(model: loaded.model, metadata: loaded.metadata, tensors: loaded.tensors, format: loaded.format, report: report,
                           fileMetadata: loaded.fileMetadata, extraTensors: loaded.extraTensors)
    }

    /// An nnU-Net v2 trained-model folder (`nnUNetTrainer__nnUNetPlans__2d`: `plans.json`, `dataset.json`,
    /// `fold_N/checkpoint_final.pth`), or one of its `fold_N` folders: every fold's weights (`checkpoint_final.pth`, else
    /// `checkpoint_best.pth`), each checked against the plans' 2-D network, the first as `model` and the others as its
    /// `ensemble` (nnU-Net averages the folds' logits), with nnU-Net's way of predicting as the model's defaults
    /// (`NNUNetPlans.metadata`). Nil for a folder that is not one.
    static func loadNNUNet(folder path: String, options: ModelLoadOptions) throws -> LoadedModel? {
        let folder = URL(fileURLWithPath: path).standardizedFileURL
        let isFold = folder.lastPathComponent.hasPrefix("fold_")
        let root = isFold ? folder.deletingLastPathComponent() : folder
        let (plansPath, datasetPath) = (root.appendingPathComponent("plans.json").path, root.appendingPathComponent("dataset.json").path)
        guard FileContents.isRegularFile(plansPath) else { return nil }
        guard FileContents.isRegularFile(datasetPath) else {
            throw UNetError.incompatibleCheckpoint("\(path): an nnU-Net folder (plans.json) without dataset.json beside it")
        }
        let folds = isFold ? [folder] : ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { $0.hasPrefix("fold_") }.sorted().map { root.appendingPathComponent($0) }
        let weights = folds.compactMap { fold in
            ["checkpoint_final.pth", "checkpoint_best.pth"].map { fold.appendingPathComponent($0).path }.first(where: FileContents.isRegularFile)
        }
        guard !weights.isEmpty else {
            throw UNetError.incompatibleCheckpoint("\(path): an nnU-Net folder without fold_N/checkpoint_final.pth or checkpoint_best.pth")
        }
        let plans = try NNUNetPlans.read(plans: plansPath, dataset: datasetPath)
        let loaded = try weights.map { file in
            let loaded = try load(try Checkpoint.read(path: file), path: file, options: options)
            guard loaded.model.architecture == plans.architecture else {
                throw UNetError.incompatibleCheckpoint("\(file): the weights are \(loaded.model.architecture), but \(plansPath) and "
                    + "\(datasetPath) describe \(plans.architecture)")
            }
            return loaded
        }
        let first = loaded[0]
        let report = first.report + ["nnU-Net folder: \(weights.joined(separator: ", ")) with \(plansPath) (2d: patch "
            + "\(plans.patchSize.map(String.init).joined(separator: "x")), \(plans.normalizationSchemes[0]), mirroring, half-window overlap, "
            + "shorter sides padded with zeros to the patch"
            + (weights.count > 1 ? "; the \(weights.count) folds' logits averaged, as nnU-Net does; -m FOLDER/fold_N for one" : "") + ")"]
        var result = LoadedModel(model: first.model, metadata: plans.metadata, tensors: first.tensors, format: first.format, report: report,
                                 fileMetadata: first.fileMetadata, extraTensors: first.extraTensors)
        result.ensemble = loaded.dropFirst().map(\.model)
        return result
    }

    /// Loads a model from a model file's bytes; `path` labels errors (see `load(path:options:)`).
    public static func decode(_ bytes: [UInt8], path: String, options: ModelLoadOptions = .init()) throws -> LoadedModel {
        try load(try Checkpoint.decode(bytes, path: path), path: path, options: options)
    }

    private static func load(_ checkpoint: Checkpoint, path: String, options: ModelLoadOptions) throws -> LoadedModel {
        var report = checkpoint.notes
        var tensors = checkpoint.tensors
        var extra: [(key: String, tensor: StoredTensor)] = []
        if checkpoint.metadata[trainingKey] != nil {
            extra = tensors.filter { $0.key.hasPrefix(optimizerPrefix) }
            tensors.removeAll { $0.key.hasPrefix(optimizerPrefix) }
        }
        var metadata = ModelMetadata()
        var native: Architecture?

        let families: [(key: String, decode: (Data) -> Architecture?)] = [
            (configurationKey, { (try? JSONDecoder().decode(UNetConfiguration.self, from: $0)).map(Architecture.unet) }),
            (smpConfigurationKey, { (try? JSONDecoder().decode(SMPUNetConfiguration.self, from: $0)).map(Architecture.smpUNet) }),
            (basicUNetConfigurationKey, { (try? JSONDecoder().decode(BasicUNetConfiguration.self, from: $0)).map(Architecture.basicUNet) }),
            (monaiUNetConfigurationKey, { (try? JSONDecoder().decode(MONAIUNetConfiguration.self, from: $0)).map(Architecture.monaiUNet) }),
            (plainConvUNetConfigurationKey, { (try? JSONDecoder().decode(PlainConvUNetConfiguration.self, from: $0)).map(Architecture.plainConvUNet) }),
            (residualEncoderUNetConfigurationKey, {
                (try? JSONDecoder().decode(ResidualEncoderUNetConfiguration.self, from: $0)).map(Architecture.residualEncoderUNet)
            }),
        ]
        if let family = families.first(where: { checkpoint.metadata[$0.key] != nil }), let text = checkpoint.metadata[family.key] {
            guard let decoded = family.decode(Data(text.utf8)) else {
                throw UNetError.incompatibleCheckpoint("\(path): unreadable \(family.key) metadata")
            }
            native = decoded
            if let text = checkpoint.metadata[metadataKey] {
                guard let decoded = try? JSONDecoder().decode(ModelMetadata.self, from: Data(text.utf8)) else {
                    throw UNetError.incompatibleCheckpoint("\(path): unreadable \(metadataKey) metadata")
                }
                metadata = decoded
            }
            report.append("native model: \(decoded)")
        } else if let text = checkpoint.metadata["mask_values"] {
            metadata.maskValues = ModelMetadata.maskValues(fromJSON: text)
            report.append("mask_values \(text) (from the checkpoint)")
        }
        if let mapping = options.keyMapping {
            let renamed = try mapping.rename(tensors.map(\.key))
            for (old, new) in zip(tensors.map(\.key), renamed) where old != new { report.append("renamed \(old) -> \(new)") }
            tensors = zip(renamed, tensors).map { ($0, $1.tensor) }
        }
        if native == nil, tensors.contains(where: { $0.key.hasPrefix("decoder.seg_layers.") }), tensors.contains(where: { NNUNetAliases.isAlias($0.key) }) {
            // nnU-Net's aliases: the same tensors under each block's all_modules and the encoder again in the decoder.
            let keys = Set(tensors.map(\.key))
            let aliases = Dictionary(NNUNetAliases.aliases(of: tensors.map(\.key).filter { !NNUNetAliases.isAlias($0) })
                .filter { keys.contains($0.alias) }.map { ($0.alias, $0.key) }, uniquingKeysWith: { a, _ in a })
            if !aliases.isEmpty {
                let byKey = Dictionary(tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
                for (alias, key) in aliases where byKey[alias]?.shape != byKey[key]?.shape {
                    throw UNetError.incompatibleCheckpoint("\(path): \(CheckpointError.quote(alias)) should be the same tensor as "
                        + "\(CheckpointError.quote(key)) (nnU-Net's alias), but their shapes differ")
                }
                tensors.removeAll { aliases[$0.key] != nil }
                report.append("nnU-Net's \(aliases.count) aliased keys (all_modules.*, decoder.encoder.*) read as the tensors they alias")
            }
        }
        if native == nil, MONAILegacyKeys.areLegacy(tensors.map(\.key)) {
            tensors = tensors.map { (MONAILegacyKeys.modern($0.key), $0.tensor) }
            report.append("MONAI's old names (norm, act) read as the current ones (adn.N, adn.A)")
        }
        let (configuration, matching) = try architecture(native: native, tensors: tensors, path: path, options: options, report: &report)
        if native == nil, case .smpUNet = configuration {
            let count = tensors.count
            tensors.removeAll { $0.key.hasPrefix(SMPUNet.classificationHeadPrefix) }
            if tensors.count < count {
                report.append("smp's classification head (aux_params: \(count - tensors.count) classification_head.* tensors) is not "
                    + "built and is left out: the masks are the segmentation head's, which smp's Unet returns first; convert does not "
                    + "write it back")
            }
        }
        if native == nil, checkpoint.format != .safetensors, case .monaiUNet(let c) = configuration,
           let order = MONAIUNetConfiguration.activationBeforeNorm(keys: tensors.map(\.key), residualUnits: c.residualUnits) {
            throw UNetError.incompatibleCheckpoint("\(path): a MONAI UNet whose activation comes before its norm (its state dict "
                + "holds \(order.activation) before \(order.norm): adn_ordering \"ADN\" or \"AN\"), which this version does not build")
        }
        do { try configuration.validate() } catch { throw UNetError.incompatibleCheckpoint("\(path): \(error)") }
        if let problem = metadata.problem(inputChannels: configuration.inputChannels, classes: configuration.classes) {
            throw UNetError.incompatibleCheckpoint("\(path): invalid \(metadataKey): \(problem)")
        }
        // The weights the architecture needs must be in the file, give or take a few keys (which the load below
        // then names): no allocation far beyond what the file justifies.
        let stored = tensors.reduce(0.0) { $0 + Double($1.tensor.shape.reduce(1, *)) }
        guard configuration.parameterCount <= 2 * stored + 1_000_000 else {
            throw UNetError.incompatibleCheckpoint("\(path): the architecture (\(configuration)) needs "
                + "\(Int(configuration.parameterCount)) parameters, but the file holds \(Int(stored)) values")
        }
        for (key, tensor) in tensors where !tensor.isFinite {
            throw UNetError.incompatibleCheckpoint("\(path): key \(CheckpointError.quote(key)) holds NaN or infinite values; "
                + "the model is broken (a diverged training run?)")
        }

        var generator = SeededGenerator(seed: 0)
        let model: any SegmentationModel
        do { model = try configuration.makeModel(generator: &generator) } catch { throw UNetError.invalidConfiguration("\(path): \(error)") }
        if matching {
            let pairs = try StructuralMatcher.match(
                source: tensors.map { ($0.key, $0.tensor.shape) },
                target: model.stateDict().entries.map { ($0.key, $0.tensor.shape) })
            let byKey = Dictionary(tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
            tensors = pairs.map { ($0.target, byKey[$0.source]!) }
            report += pairs.map { "matched \($0.source) \($0.shape) -> \($0.target)" }
        }
        do {
            try model.load(StateDict(tensors.map { ($0.key, $0.tensor.floatTensor()) }))
        } catch let error as StateDictError {
            throw UNetError.incompatibleCheckpoint("\(path): the tensors do not fit \(configuration): \(error)")
        }
        // Keep the model's key order (PyTorch's), so that exports list keys as PyTorch would.
        let byKey = Dictionary(tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        let ordered = model.stateDict().keys.map { ($0, byKey[$0]!) }
        return LoadedModel(model: model, metadata: metadata, tensors: ordered, format: checkpoint.format, report: report,
                           fileMetadata: checkpoint.metadata, extraTensors: extra)
    }

    /// The architecture to build: a native file's own (flags that contradict it are an error), the one the
    /// caller describes for matching by shape, the one detected from the keys (completed by the flags), or for keys
    /// of no known layout the classic U-Net the shapes describe; and whether tensors are matched by role and shape.
    private static func architecture(
        native: Architecture?, tensors: [(key: String, tensor: StoredTensor)], path: String,
        options: ModelLoadOptions, report: inout [String]
    ) throws -> (Architecture, matchByShape: Bool) {
        let overrides = options.overrides
        func checked(_ architecture: Architecture, contradictions: [String], _ recorded: String) throws -> Architecture {
            guard contradictions.isEmpty else {
                throw UNetError.incompatibleCheckpoint("\(path) \(recorded); the options contradict it: "
                    + contradictions.joined(separator: ", ") + "; leave them out")
            }
            return architecture
        }
        switch native {
        case .unet(let c)?: return (try checked(.unet(c), contradictions: overrides.contradictions(with: c), "records its own architecture"), false)
        case let foreign?: return (try checked(foreign, contradictions: overrides.contradictions(withForeign: foreign), "records its own architecture"), false)
        case nil: break
        }
        // The peers' options a classic U-Net does not have.
        func refusePeerOptions() throws {
            for (given, flag, peers) in [(overrides.strides != nil, "--strides", "a MONAI UNet or an nnU-Net network"),
                                         (overrides.norm != nil, "--norm", "a MONAI UNet or BasicUNet"),
                                         (overrides.activation != nil, "--act", "a MONAI UNet or BasicUNet"),
                                         (overrides.decoderInterpolation != nil, "--decoder-interpolation", "an smp Unet")] where given {
                throw UNetError.incompatibleCheckpoint("\(path): \(flag) is for \(peers); this is a classic U-Net")
            }
        }
        if options.matchByShape || options.architecture != nil {
            guard let base = options.architecture ?? (overrides.isEmpty ? nil : overrides.configuration) else {
                throw UNetError.incompatibleCheckpoint("\(path): matching by shape needs the architecture")
            }
            try refusePeerOptions()
            return (.unet(overrides.applied(to: base)), true)
        }
        let shapes = Dictionary(tensors.map { ($0.key, $0.tensor.shape) }, uniquingKeysWith: { a, _ in a })
        let found: (architecture: Architecture, what: String, notes: [String])?
        do { found = try detectedPeer(shapes, overrides: overrides) } catch { throw UNetError.incompatibleCheckpoint("\(path): \(error)") }
        if let found {
            report += ["detected \(found.architecture)"] + found.notes
            return (try checked(found.architecture, contradictions: overrides.contradictions(withForeign: found.architecture), found.what), false)
        }
        try refusePeerOptions()
        if let detected = UNetConfiguration.detect(shapes: shapes) {
            report.append("detected \(detected)")
            return (.unet(overrides.applied(to: detected)), false)
        }
        if overrides.isEmpty, let inferred = UNetConfiguration.inferred(from: tensors.map { ($0.key, $0.tensor.shape) }) {
            report.append("inferred from the tensor shapes (no known key layout; tensors matched by role and shape, in order): \(inferred)")
            report.append("padding, merge and concatenation order leave no trace in the weights: assumed same padding and "
                + "[skip, up-sampled]; for a model trained otherwise give --concat upsampled-first, or --padding valid --merge crop")
            return (.unet(inferred), true)
        }
        guard !overrides.isEmpty else {
            let sample = tensors.prefix(3).map { CheckpointError.quote($0.key) }.joined(separator: ", ")
            throw UNetError.incompatibleCheckpoint(
                "\(path): not a milesial, labml, tutorial, smp, MONAI or nnU-Net U-Net (keys \(sample), ...); give the architecture "
                    + "with --match-by-shape, or rename keys with --map FILE")
        }
        return (.unet(overrides.configuration), false)
    }

    /// The peer network (smp, MONAI, nnU-Net) whose keys and shapes `shapes` are, with what it is (for a flag that
    /// contradicts it) and what detection had to assume; nil for none of them.
    /// - Throws: `UNetError.incompatibleCheckpoint` for a peer network this project does not build, naming what.
    private static func detectedPeer(_ shapes: [String: [Int]], overrides: ArchitectureOverrides) throws(UNetError)
        -> (architecture: Architecture, what: String, notes: [String])?
    {
        let (strides, norm, activation) = (overrides.strides, overrides.norm, overrides.activation)
        // Instance norm without affine parameters and no norm leave the same keys: none.
        func normNote(_ found: MONAINorm) -> [String] {
            norm == nil && found == .instance
                ? ["no norm parameters (adn.N keys): assumed instance norm without affine parameters; give --norm none for a network "
                    + "built with norm=None"]
                : []
        }
        if var c = try SMPUNetConfiguration.detect(shapes: shapes) {
            let imageNet = c.inputChannels == 3
                ? "give --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 for a model trained with ImageNet's (smp's get_preprocessing_fn)"
                : "give --mean and --std, one value per channel, for a model trained on normalized inputs"
            c.decoderInterpolation = overrides.decoderInterpolation ?? .nearest
            let interpolation = overrides.decoderInterpolation != nil ? [] : [
                "smp's decoder_interpolation leaves no trace in the weights: assumed its default, nearest; give "
                    + "--decoder-interpolation bilinear for a model built with it (other modes are not built)"]
            return (.smpUNet(c), "is an smp Unet", interpolation + ["smp checkpoints do not record their preprocessing: assumed "
                + "pixels / 255; " + imageNet])
        }
        if let c = try BasicUNetConfiguration.detect(shapes: shapes, norm: norm, activation: activation) {
            return (.basicUNet(c), "is a MONAI BasicUNet", c.detectionAssumptions(activationGiven: activation != nil) + normNote(c.norm))
        }
        if let c = try ResidualEncoderUNetConfiguration.detect(shapes: shapes) {
            return (.residualEncoderUNet(c), "is an nnU-Net ResidualEncoderUNet", [])
        }
        if let c = try PlainConvUNetConfiguration.detect(shapes: shapes) { return (.plainConvUNet(c), "is an nnU-Net PlainConvUNet", []) }
        if let (c, assumedStrides) = try MONAIUNetConfiguration.detect(shapes: shapes, strides: strides, norm: norm, activation: activation) {
            let trace = c.residualUnits > 0 ? "its residual units show only which strides are 1" : "strides leave no trace in it"
            var notes = assumedStrides ? ["a MONAI UNet checkpoint does not record its strides (\(trace)): assumed 2 where not 1, MONAI's "
                + "usual; give --strides for a network built otherwise"] : []
            if c.norm == .instanceAffine {
                notes.append("affine norm parameters without running statistics: assumed instance norm (group norm has the same keys "
                    + "and is not built)")
            }
            return (.monaiUNet(c), "is a MONAI UNet", notes + normNote(c.norm))
        }
        return nil
    }

    /// The model's current tensors as a file stores them: float32, and int64 for counters.
    public static func storedTensors(of model: any Module) -> [(key: String, tensor: StoredTensor)] {
        model.namedParameters().map { key, parameter in
            (key, parameter.isInteger ? StoredTensor(int64: parameter.value) : StoredTensor(parameter.value))
        }
    }

    /// Writes `tensors` (the model's keys) to `path`: native safetensors with the configuration and metadata
    /// in `__metadata__`, or, for a `.pth`/`.pt` path, a PyTorch state dict that `torch.load` +
    /// `load_state_dict` accept. Atomic: a temporary file renamed into place.
    /// - Parameters:
    ///   - extraTensors, extraMetadata: a training checkpoint's optimizer buffers and state (safetensors only).
    public static func write(
        _ tensors: [(key: String, tensor: StoredTensor)], architecture: Architecture, metadata: ModelMetadata,
        to path: String, extraTensors: [(key: String, tensor: StoredTensor)] = [], extraMetadata: [String: String] = [:]
    ) throws {
        let lowered = path.lowercased()
        if lowered.hasSuffix(".pth") || lowered.hasSuffix(".pt") {
            switch architecture {
            case .plainConvUNet, .residualEncoderUNet: break
            default: return try TorchCheckpoint.write(tensors, to: path)
            }
            // nnU-Net's state dict lists its aliases too; load_state_dict(strict=True) wants every one.
            let byKey = Dictionary(tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
            let aliases = NNUNetAliases.aliases(of: tensors.map(\.key)).compactMap { entry in byKey[entry.key].map { (key: entry.alias, tensor: $0) } }
            return try TorchCheckpoint.write(tensors + aliases, to: path)
        }
        let header = try descriptiveMetadata(architecture: architecture, metadata: metadata).merging(["format": "pt"]) { _, new in new }
        let file = SafeTensorsFile(tensors: tensors + extraTensors, metadata: extraMetadata.merging(header) { _, new in new })
        try file.write(to: path)
    }

    /// What a native file records beside the tensors, as text: the architecture's configuration as JSON under its
    /// key (`unet.configuration`, `unet.smp_unet`, ...) and the metadata (classes, normalization, prediction settings)
    /// as JSON under `unet.metadata`. An ONNX export carries the same entries.
    public static func descriptiveMetadata(architecture: Architecture, metadata: ModelMetadata) throws -> [String: String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let (key, configuration) =
            switch architecture {
            case .unet(let c): (configurationKey, try encoder.encode(c))
            case .smpUNet(let c): (smpConfigurationKey, try encoder.encode(c))
            case .basicUNet(let c): (basicUNetConfigurationKey, try encoder.encode(c))
            case .monaiUNet(let c): (monaiUNetConfigurationKey, try encoder.encode(c))
            case .plainConvUNet(let c): (plainConvUNetConfigurationKey, try encoder.encode(c))
            case .residualEncoderUNet(let c): (residualEncoderUNetConfigurationKey, try encoder.encode(c))
            }
        return [
            key: String(decoding: configuration, as: UTF8.self),
            metadataKey: String(decoding: try encoder.encode(metadata), as: UTF8.self),
        ]
    }

    /// Saves a model's current weights (see `write`).
    public static func save(_ model: any SegmentationModel, metadata: ModelMetadata, to path: String) throws {
        try write(storedTensors(of: model), architecture: model.architecture, metadata: metadata, to: path)
    }
}

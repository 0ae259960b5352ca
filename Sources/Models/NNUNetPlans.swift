import Checkpoints
import Files
import Foundation
import Tensors

/// What this project reads from an nnU-Net v2 trained-model folder's `plans.json` and `dataset.json`: the 2-D
/// configuration's network (`PlainConvUNet` or `ResidualEncoderUNet`, checked against the weights), patch size and normalization schemes, and the labels. The
/// rest (resampling, spacing, 3-D configurations) is not used for 2-D natural images and is ignored.
public struct NNUNetPlans: Sendable {
    public let architecture: Architecture
    /// `patch_size` `[height, width]`: the sliding window nnU-Net predicts with.
    public let patchSize: [Int]
    /// One scheme per input channel (`ZScoreNormalization`, `RGBTo0_1Normalization`, …).
    public let normalizationSchemes: [String]
    /// The schemes as prediction applies them: `ZScoreNormalization` each image's own z-score; `CTNormalization`
    /// the file's own intensities clipped to the foreground's 0.5-99.5th percentiles, less the foreground's mean,
    /// over its standard deviation (`foreground_intensity_properties_per_channel`); `NoNormalization` the file's own
    /// intensities; `RGBTo0_1Normalization` the 8-bit values over 255.
    public let normalization: Normalization
    /// Label names in label-value order, and their values.
    public let labels: [(name: String, value: Int)]

    /// The largest `plans.json` / `dataset.json` read (nnU-Net's are tens of kilobytes).
    public static let sizeLimit = 16 << 20

    private struct Plans: Decodable {
        struct Configuration: Decodable {
            struct Network: Decodable {
                struct Arguments: Decodable {
                    let n_stages: Int
                    let features_per_stage: [Int]
                    let kernel_sizes: [[Int]]
                    let strides: [[Int]]
                    let n_conv_per_stage: [Int]?
                    let n_blocks_per_stage: [Int]?
                    let n_conv_per_stage_decoder: [Int]
                    let conv_bias: Bool
                }
                let network_class_name: String
                let arch_kwargs: Arguments
            }
            let patch_size: [Int]
            let normalization_schemes: [String]
            let use_mask_for_norm: [Bool]?
            let architecture: Network?
        }
        struct IntensityProperties: Decodable {
            let mean: Double
            let std: Double
            let percentile_00_5: Double
            let percentile_99_5: Double
        }
        let configurations: [String: Configuration]
        let foreground_intensity_properties_per_channel: [String: IntensityProperties]?
    }

    private struct DatasetJSON: Decodable {
        let channel_names: [String: String]
        let labels: [String: Int]
    }

    /// Reads `plans.json` and `dataset.json` (paths name them in errors).
    /// - Throws: `UNetError.incompatibleCheckpoint` naming the file and what does not fit: no 2-D configuration, a
    ///   network other than `PlainConvUNet` or `ResidualEncoderUNet`, a normalization this project does not do.
    public static func read(plans plansPath: String, dataset datasetPath: String) throws -> NNUNetPlans {
        try decode(plans: try FileContents.read(plansPath, limit: sizeLimit), dataset: try FileContents.read(datasetPath, limit: sizeLimit),
                   plansPath: plansPath, datasetPath: datasetPath)
    }

    /// Reads `plans.json` and `dataset.json` bytes (see `read(plans:dataset:)`); the paths name them in errors.
    public static func decode(plans plansBytes: [UInt8], dataset datasetBytes: [UInt8], plansPath: String, datasetPath: String)
        throws(UNetError) -> NNUNetPlans
    {
        func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], _ path: String) throws(UNetError) -> T {
            do { return try JSONDecoder().decode(type, from: Data(bytes)) } catch let error as DecodingError {
                throw .incompatibleCheckpoint("\(path): not nnU-Net's (\(CheckpointError.printable(Self.describe(error).prefix(200))))")
            } catch {
                throw .incompatibleCheckpoint("\(path): not nnU-Net's (\(CheckpointError.printable(error.localizedDescription.prefix(200))))")
            }
        }
        let plans = try decode(Plans.self, plansBytes, plansPath)
        let dataset = try decode(DatasetJSON.self, datasetBytes, datasetPath)
        guard let c = plans.configurations["2d"] else {
            throw .incompatibleCheckpoint("\(plansPath): no \"2d\" configuration (configurations: "
                + plans.configurations.keys.sorted().prefix(5).joined(separator: ", ") + "); 2-D networks are built")
        }
        guard let network = c.architecture,
              network.network_class_name.hasSuffix(".PlainConvUNet") || network.network_class_name.hasSuffix(".ResidualEncoderUNet") else {
            throw .incompatibleCheckpoint("\(plansPath): the 2d network is \(c.architecture.map { CheckpointError.quote($0.network_class_name) } ?? "not given"); "
                + "PlainConvUNet and ResidualEncoderUNet are built")
        }
        let a = network.arch_kwargs
        guard a.strides.allSatisfy({ $0.count == 2 }) else {
            throw .incompatibleCheckpoint("\(plansPath): strides \(a.strides.prefix(8)) are not 2-D ([height, width] per stage)")
        }
        guard a.kernel_sizes.allSatisfy({ $0.count == 2 }) else {
            throw .incompatibleCheckpoint("\(plansPath): kernel_sizes \(a.kernel_sizes.prefix(8)) are not 2-D ([height, width] per stage)")
        }
        let (strides, widthStrides) = (a.strides.map { $0[0] }, a.strides.map { $0[1] })
        let (kernels, widthKernels) = (a.kernel_sizes.map { $0[0] }, a.kernel_sizes.map { $0[1] })
        let architecture: Architecture
        if network.network_class_name.hasSuffix(".ResidualEncoderUNet") {
            guard let blocks = a.n_blocks_per_stage else { throw .incompatibleCheckpoint("\(plansPath): a ResidualEncoderUNet without n_blocks_per_stage") }
            architecture = .residualEncoderUNet(ResidualEncoderUNetConfiguration(
                features: a.features_per_stage, strides: strides, widthStrides: widthStrides, kernelSizes: kernels, widthKernelSizes: widthKernels,
                blocksPerStage: blocks,
                convsPerStageDecoder: a.n_conv_per_stage_decoder, inputChannels: dataset.channel_names.count, classes: dataset.labels.count,
                convolutionBias: a.conv_bias))
        } else {
            guard let convs = a.n_conv_per_stage else { throw .incompatibleCheckpoint("\(plansPath): a PlainConvUNet without n_conv_per_stage") }
            architecture = .plainConvUNet(PlainConvUNetConfiguration(
                features: a.features_per_stage, strides: strides, widthStrides: widthStrides, kernelSizes: kernels, widthKernelSizes: widthKernels,
                convsPerStage: convs,
                convsPerStageDecoder: a.n_conv_per_stage_decoder, inputChannels: dataset.channel_names.count, classes: dataset.labels.count,
                convolutionBias: a.conv_bias))
        }
        guard a.n_stages == a.features_per_stage.count, c.patch_size.count == 2, c.patch_size.allSatisfy({ (1...8192).contains($0) }) else {
            throw .incompatibleCheckpoint("\(plansPath): n_stages \(a.n_stages), features \(a.features_per_stage.count), "
                + "patch size \(c.patch_size.prefix(4)) do not describe a 2-D network")
        }
        do { try architecture.validate() } catch { throw .incompatibleCheckpoint("\(plansPath): \(error)") }
        let schemes = ["ZScoreNormalization", "CTNormalization", "RGBTo0_1Normalization", "NoNormalization"]
        for scheme in c.normalization_schemes where !schemes.contains(scheme) {
            throw .incompatibleCheckpoint("\(plansPath): normalization \(CheckpointError.quote(scheme)) is not done by this "
                + "version (\(schemes.joined(separator: ", ")) are)")
        }
        guard c.normalization_schemes.count == dataset.channel_names.count, Set(c.normalization_schemes).count == 1 else {
            throw .incompatibleCheckpoint("\(plansPath): normalization schemes \(c.normalization_schemes.prefix(8)) for "
                + "\(dataset.channel_names.count) channel(s): one scheme for every channel is supported")
        }
        var normalization = Normalization()
        switch c.normalization_schemes.first {
        case "ZScoreNormalization":
            // use_mask_for_norm: the z-score inside the image's nonzero mask, the rest 0 (planned for brain MRI).
            normalization.perImage = true
            let masked = c.use_mask_for_norm ?? []
            guard Set(masked).count <= 1 else {
                throw .incompatibleCheckpoint("\(plansPath): use_mask_for_norm \(masked.prefix(8)) differs between channels; one for every channel is supported")
            }
            if masked.first == true { normalization.insideNonzero = true }
        case "NoNormalization": normalization.rawIntensities = true
        case "CTNormalization":
            let channels = dataset.channel_names.count
            let p = (0..<channels).compactMap { plans.foreground_intensity_properties_per_channel?[String($0)] }
            guard p.count == channels else {
                throw .incompatibleCheckpoint("\(plansPath): CTNormalization needs foreground_intensity_properties_per_channel "
                    + "for channels 0-\(channels - 1)")
            }
            normalization = Normalization(mean: p.map { Float($0.mean) }, std: p.map { Float(max($0.std, 1e-8)) },
                                          lower: p.map { Float($0.percentile_00_5) }, upper: p.map { Float($0.percentile_99_5) },
                                          rawIntensities: true)
            if let problem = normalization.problem(channels: channels) {
                throw .incompatibleCheckpoint("\(plansPath): foreground_intensity_properties_per_channel: \(problem)")
            }
        default: break
        }
        let labels = dataset.labels.map { (name: $0.key, value: $0.value) }.sorted { $0.value < $1.value }
        guard labels.map(\.value) == Array(0..<labels.count) else {
            throw .incompatibleCheckpoint("\(datasetPath): labels \(labels.prefix(8).map(\.value)) are not 0, 1, 2, …; "
                + "region-based labels are not supported")
        }
        return NNUNetPlans(architecture: architecture, patchSize: c.patch_size, normalizationSchemes: c.normalization_schemes,
                           normalization: normalization, labels: labels)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context): "no \((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        @unknown default: "\(error)"
        }
    }

    /// What prediction should do as nnU-Net does: the crop to the nonzero region, the patch as the window (each side a
    /// multiple of what the network takes along it; a shorter side padded with zeros to it), half a window's overlap,
    /// mirroring, the normalization and the labels.
    public var metadata: ModelMetadata {
        var m = ModelMetadata(maskValues: labels.map { [$0.value] }, classNames: labels.map(\.name), normalization: normalization)
        // Each side a multiple of the strides' product along it (nnU-Net plans them so), and more than one value per
        // channel at the deepest level (instance norm).
        let multiples = architecture.downsamplingPerAxis
        var sides = zip(patchSize, multiples).map { side, multiple in max(side / multiple, 1) * multiple }
        if (sides[0] / multiples[0]) * (sides[1] / multiples[1]) < 2 { sides[1] += multiples[1] }
        (m.tile, m.tileWidth) = (sides[0], sides[1])
        (m.overlap, m.flips, m.cropToNonzero, m.padsToWindow) = (0.5, true, true, true)
        return m
    }
}

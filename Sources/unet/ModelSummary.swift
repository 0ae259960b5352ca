import Checkpoints
import Foundation
import Models
import Tensors

/// The human-readable and JSON descriptions of a loaded model that `convert` and `info` print.
struct ModelSummary: Encodable {
    let format: String
    /// A classic U-Net's configuration (nil for other families).
    let configuration: UNetConfiguration?
    /// An smp `Unet`'s configuration.
    let smpUNet: SMPUNetConfiguration?
    /// A MONAI `BasicUNet`'s or `UNet`'s configuration.
    let monaiBasicUNet: BasicUNetConfiguration?
    let monaiUNet: MONAIUNetConfiguration?
    /// An nnU-Net `PlainConvUNet`'s configuration.
    let nnUNetPlainConvUNet: PlainConvUNetConfiguration?
    /// An nnU-Net `ResidualEncoderUNet`'s configuration.
    let nnUNetResidualEncoderUNet: ResidualEncoderUNetConfiguration?
    /// One line naming the network.
    let architecture: String
    let parameters: Int
    let tensors: Int
    let metadata: ModelMetadata
    /// The smallest side both axes take (at least the larger of `minimumInputShape`).
    let minimumInputSize: Int
    /// The smallest `[height, width]`: each side the smallest it takes whatever the other.
    let minimumInputShape: [Int]

    init(_ loaded: LoadedModel) {
        format = loaded.format.rawValue
        let network = loaded.model.architecture
        configuration = network.unetConfiguration
        smpUNet = if case .smpUNet(let c) = network { c } else { nil }
        monaiBasicUNet = if case .basicUNet(let c) = network { c } else { nil }
        monaiUNet = if case .monaiUNet(let c) = network { c } else { nil }
        nnUNetPlainConvUNet = if case .plainConvUNet(let c) = network { c } else { nil }
        nnUNetResidualEncoderUNet = if case .residualEncoderUNet(let c) = network { c } else { nil }
        architecture = loaded.model.architecture.description
        parameters = loaded.model.trainableParameters.reduce(0) { $0 + $1.value.count }
        tensors = loaded.tensors.count
        metadata = loaded.metadata
        minimumInputSize = loaded.model.architecture.minimumInputSize
        minimumInputShape = loaded.model.architecture.minimumInputSizePerAxis
    }

    var lines: [String] {
        var lines = ["format: \(format)"]
        if let c = configuration {
            lines += [
                "layout: \(c.layout.rawValue)",
                "input channels: \(c.inputChannels), classes: \(c.classes)",
                "base width: \(c.baseWidth), depth: \(c.depth)",
                "padding: \(c.padding.rawValue), skip merge: \(c.merge.rawValue), concat: \(c.concatOrder.rawValue)",
                "batch norm: \(c.batchNorm ? "yes" : "no"), conv bias: \(c.convolutionBias ? "yes" : "no"), up-sampling: \(c.upsampling.rawValue)",
            ]
        }
        if let c = smpUNet {
            lines += [
                "layout: smp Unet (segmentation_models_pytorch)",
                "input channels: \(c.inputChannels), classes: \(c.classes)",
                "encoder: \(c.encoder.rawValue), depth: \(c.encoderDepth)",
                "decoder channels: \(c.decoderChannels.map(String.init).joined(separator: ", "))",
            ] + (c.decoderAttention.map { ["decoder attention: \($0.rawValue)"] } ?? []) + ["decoder up-sampling: \(c.decoderInterpolation.rawValue)"]
        }
        if let c = monaiBasicUNet {
            lines += [
                "layout: MONAI BasicUNet",
                "input channels: \(c.inputChannels), classes: \(c.classes)",
                "features: \(c.features.map(String.init).joined(separator: ", "))",
                "norm: \(c.norm.rawValue), conv bias: \(c.bias ? "yes" : "no"), activation: LeakyReLU(0.1)",
            ]
        }
        if let c = monaiUNet {
            lines += [
                "layout: MONAI UNet",
                "input channels: \(c.inputChannels), classes: \(c.classes)",
                "channels: \(c.channels.map(String.init).joined(separator: ", ")), strides: \(c.strides.map(String.init).joined(separator: ", "))",
                "residual units: \(c.residualUnits), kernel: \(c.kernelSize), up kernel: \(c.upKernelSize)",
                "norm: \(c.norm.rawValue), conv bias: \(c.bias ? "yes" : "no"), activation: PReLU",
            ]
        }
        if let c = nnUNetPlainConvUNet {
            lines += [
                "layout: nnU-Net PlainConvUNet (dynamic-network-architectures)",
                "input channels: \(c.inputChannels), classes: \(c.classes)",
                "features: \(c.features.map(String.init).joined(separator: ", ")), strides: \(c.stridesText(separator: ", "))",
                "kernels: \(c.kernelsText(separator: ", ")), convolutions: "
                    + "\(c.convsPerStage.map(String.init).joined(separator: ", ")) / decoder \(c.convsPerStageDecoder.map(String.init).joined(separator: ", "))",
                "norm: instance (affine), conv bias: \(c.convolutionBias ? "yes" : "no"), activation: LeakyReLU(0.01)",
            ]
        }
        if let c = nnUNetResidualEncoderUNet {
            lines += [
                "layout: nnU-Net ResidualEncoderUNet (dynamic-network-architectures)",
                "input channels: \(c.inputChannels), classes: \(c.classes)",
                "features: \(c.features.map(String.init).joined(separator: ", ")), strides: \(c.stridesText(separator: ", "))",
                "kernels: \(c.kernelsText(separator: ", ")), residual blocks: "
                    + "\(c.blocksPerStage.map(String.init).joined(separator: ", ")) / decoder convolutions \(c.convsPerStageDecoder.map(String.init).joined(separator: ", "))",
                "norm: instance (affine), conv bias: \(c.convolutionBias ? "yes" : "no"), activation: LeakyReLU(0.01)",
            ]
        }
        lines += ["parameters: \(parameters.formatted()) in \(tensors) tensors",
                  "smallest input: \(minimumInputShape[0])x\(minimumInputShape[1])"]
        if let values = metadata.maskValues {
            lines.append("mask values: " + values.map { $0.count == 1 ? "\($0[0])" : "\($0)" }.joined(separator: ", "))
        }
        if let names = metadata.classNames { lines.append("class names: \(names.joined(separator: ", "))") }
        lines.append("normalization: " + Self.describe(metadata.normalization))
        if metadata.cropToNonzero == true { lines.append("crop: each image to its nonzero pixels' box first, class 0 outside (nnU-Net)") }
        if let q = metadata.quantization {
            lines.append("int8: \(q.inputs.count) convolutions, ranges from \(q.images) calibration image\(q.images == 1 ? "" : "s") (\(q.rule))")
        }
        return lines
    }

    /// One line: the units, the clipping, then the z-score (`normalization: pixels / 255, then mean [0.5], std [0.2]`).
    static func describe(_ n: Normalization) -> String {
        var steps = [n.rawIntensities == true ? "the file's own intensities (0-255, 0-65535)" : "pixels / 255"]
        if let lower = n.lower, let upper = n.upper { steps.append("clipped to \(lower)...\(upper)") }
        if n.perImage == true {
            steps.append(n.insideNonzero == true
                ? "each image's own per-channel z-score over its nonzero mask (holes filled), 0 outside (nnU-Net's ZScoreNormalization, use_mask_for_norm)"
                : "each image's own per-channel z-score (nnU-Net's ZScoreNormalization)")
        } else if let mean = n.mean, let std = n.std {
            steps.append("mean \(mean), std \(std)")
        }
        return steps.joined(separator: ", then ")
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

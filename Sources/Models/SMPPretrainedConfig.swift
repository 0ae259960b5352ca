import Checkpoints
import Foundation

/// The `config.json` of an smp model folder written by `save_pretrained` (beside `model.safetensors`): the arguments
/// the model was built with. Only what this project builds is accepted: `Unet` with batch-norm decoder blocks,
/// nearest or bilinear up-sampling, no attention or scse.
public struct SMPPretrainedConfig: Decodable, Sendable {
    public let modelClass: String?
    public let encoderName: String?
    public let encoderDepth: Int?
    public let decoderChannels: [Int]?
    public let decoderUseNorm: String?
    public let decoderInterpolation: String?
    public let decoderAttentionType: String?
    public let inChannels: Int?
    public let classes: Int?
    public let activation: String?

    enum CodingKeys: String, CodingKey {
        case modelClass = "_model_class", encoderName = "encoder_name", encoderDepth = "encoder_depth"
        case decoderChannels = "decoder_channels", decoderUseNorm = "decoder_use_norm"
        case decoderInterpolation = "decoder_interpolation", decoderAttentionType = "decoder_attention_type"
        case inChannels = "in_channels", classes = "classes", activation = "activation"
    }

    /// The largest `config.json` read (smp's are a few hundred bytes).
    public static let sizeLimit = 1 << 20

    /// Reads `config.json` text.
    /// - Throws: `UNetError.incompatibleCheckpoint` naming `path` and the field that this project does not build.
    public static func decode(_ bytes: [UInt8], path: String) throws(UNetError) -> SMPPretrainedConfig {
        let config: SMPPretrainedConfig
        do { config = try JSONDecoder().decode(SMPPretrainedConfig.self, from: Data(bytes)) } catch {
            throw .incompatibleCheckpoint("\(path): not an smp config.json (\(CheckpointError.printable(error.localizedDescription.prefix(300))))")
        }
        func refuse(_ field: String, _ value: String, _ supported: String) -> UNetError {
            .incompatibleCheckpoint("\(path): \(field) \(CheckpointError.quote(value)) is not built by this version (\(supported))")
        }
        if let name = config.modelClass, name != "Unet" { throw refuse("_model_class", name, "Unet") }
        if let norm = config.decoderUseNorm, norm != "batchnorm" { throw refuse("decoder_use_norm", norm, "batchnorm") }
        if let mode = config.decoderInterpolation, SMPUNetConfiguration.DecoderInterpolation(rawValue: mode) == nil {
            throw refuse("decoder_interpolation", mode, "nearest or bilinear")
        }
        if let attention = config.decoderAttentionType, SMPUNetConfiguration.DecoderAttention(rawValue: attention) == nil {
            throw refuse("decoder_attention_type", attention, "none or scse")
        }
        return config
    }

    /// `decoder_interpolation`, where the file has it (checked by `decode`).
    public var interpolation: SMPUNetConfiguration.DecoderInterpolation? { decoderInterpolation.flatMap { .init(rawValue: $0) } }

    /// The phrases where `configuration` (detected from the weights) differs from this file.
    public func contradictions(with configuration: SMPUNetConfiguration) -> [String] {
        var found: [String] = []
        if let encoderName, encoderName != configuration.encoder.rawValue { found.append("encoder_name \(CheckpointError.quote(encoderName))") }
        if let encoderDepth, encoderDepth != configuration.encoderDepth { found.append("encoder_depth \(encoderDepth)") }
        if let decoderChannels, decoderChannels != configuration.decoderChannels { found.append("decoder_channels \(decoderChannels)") }
        if let inChannels, inChannels != configuration.inputChannels { found.append("in_channels \(inChannels)") }
        if let classes, classes != configuration.classes { found.append("classes \(classes)") }
        if decoderAttentionType != configuration.decoderAttention?.rawValue {
            found.append("decoder_attention_type " + (decoderAttentionType.map(CheckpointError.quote) ?? "null"))
        }
        return found
    }
}

import Foundation
import Graph
import Tensors

/// What a native model file records beside its weights, so that prediction reproduces training's
/// conventions: the mask value of each class and the input normalisation.
public struct ModelMetadata: Codable, Equatable, Sendable {
    /// The mask value of each class, in class order (milesial's `mask_values`): one number per class for
    /// gray masks (`[[0], [255]]`), an RGB triple for colour masks.
    public var maskValues: [[Int]]?
    /// Optional class names, in class order.
    public var classNames: [String]?
    /// Input normalisation after pixels are divided by the format maximum.
    public var normalization: Normalization
    /// The resize factor the images were trained at (`--scale`): prediction's default.
    public var scale: Double?
    /// Prediction's defaults where the model's home predicts in windows (nnU-Net: its patch, half overlap,
    /// mirroring): the window side, the overlap and test-time flips.
    public var tile: Int?
    /// The window's width where it is not square (nnU-Net's patch `[height, width]`: `tile` × `tileWidth`).
    public var tileWidth: Int?
    public var overlap: Double?
    public var flips: Bool?
    /// nnU-Net's crop: each image is cut to the box of its nonzero pixels (any colour channel, the file's own
    /// values) before normalization and prediction, and the rest is class 0.
    public var cropToNonzero: Bool?
    /// nnU-Net's padding: a side shorter than the window is padded with zeros (after normalization) to the window,
    /// centred, where otherwise the image is mirrored up to a size the network takes.
    public var padsToWindow: Bool?
    /// A quantized model's int8 convolutions and their input ranges (`unet quantize`); prediction runs them in int8.
    public var quantization: Quantization?

    public init(maskValues: [[Int]]? = nil, classNames: [String]? = nil, normalization: Normalization = .init(),
                scale: Double? = nil) {
        self.maskValues = maskValues
        self.classNames = classNames
        self.normalization = normalization
        self.scale = scale
    }

    /// Checks what a file recorded against the model it describes, so that prediction never runs on absurd
    /// preprocessing: a finite scale in (0, 1], normalization lists of one finite value per input channel
    /// (`Normalization.problem`), at most one mask value (a gray level or an RGB triple of 0...65535) per class.
    /// - Returns: the first problem, naming the field, or nil.
    public func problem(inputChannels: Int, classes: Int) -> String? {
        if let scale, !(scale > 0 && scale <= 1) { return "scale \(scale) is not in (0, 1]" }
        if let problem = quantization?.problem { return problem }
        for value in [tile, tileWidth].compactMap({ $0 }) where !(8...8192).contains(value) { return "tile \(value) is not in 8...8192" }
        if let overlap, !(overlap >= 0 && overlap <= 0.9) { return "overlap \(overlap) is not in [0, 0.9]" }
        if let problem = normalization.problem(channels: inputChannels) { return problem }
        if let maskValues {
            guard maskValues.count <= max(classes, 2) else {
                return "\(maskValues.count) mask values for a model of \(classes) class(es)"
            }
            guard maskValues.allSatisfy({ ($0.count == 1 || $0.count == 3) && $0.allSatisfy { (0...65535).contains($0) } })
            else { return "mask values must be gray levels or RGB triples of 0...65535" }
        }
        if let classNames, classNames.count > max(classes, 2) || classNames.contains(where: { $0.count > 256 }) {
            return "class names do not fit the \(classes) class(es)"
        }
        return nil
    }

    /// Parses milesial's `mask_values` as a .pth stores it (`[0, 255]` or `[[0, 0, 0], [255, 0, 0]]`).
    static func maskValues(fromJSON text: String) -> [[Int]]? {
        guard let data = text.data(using: .utf8),
            let parsed = try? JSONSerialization.jsonObject(with: data) as? [Any]
        else { return nil }
        let values = parsed.map { item -> [Int]? in
            if let n = item as? Int { return [n] }
            return item as? [Int]
        }
        return values.contains(where: { $0 == nil }) ? nil : values.map { $0! }
    }
}

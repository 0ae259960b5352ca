import Foundation

/// What a native model file records beside its weights, so that prediction reproduces training's
/// conventions: the mask value of each class and the input normalisation.
public struct ModelMetadata: Codable, Equatable, Sendable {
    /// Input normalisation: pixels are divided by the format maximum (255 for 8-bit) and then, when given,
    /// `(x − mean[c]) / std[c]` per channel.
    public struct Normalization: Codable, Equatable, Sendable {
        public var mean: [Float]?
        public var std: [Float]?

        public init(mean: [Float]? = nil, std: [Float]? = nil) {
            self.mean = mean
            self.std = std
        }
    }

    /// The mask value of each class, in class order (milesial's `mask_values`): one number per class for
    /// gray masks (`[[0], [255]]`), an RGB triple for colour masks.
    public var maskValues: [[Int]]?
    /// Optional class names, in class order.
    public var classNames: [String]?
    public var normalization: Normalization
    /// The resize factor the images were trained at (`--scale`): prediction's default.
    public var scale: Double?

    public init(maskValues: [[Int]]? = nil, classNames: [String]? = nil, normalization: Normalization = .init(),
                scale: Double? = nil) {
        self.maskValues = maskValues
        self.classNames = classNames
        self.normalization = normalization
        self.scale = scale
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

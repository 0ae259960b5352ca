import Workflows

/// What a `POST /v1/models/{name}/segment` request asks for, from its query and `Accept` header.
struct SegmentOptions: Equatable {
    /// The answer's form.
    enum Answer: Equatable {
        /// A PNG mask (`format`), or the image with the classes tinted (`overlay`).
        case png
        /// JSON: the class table with pixel counts and shares, and the mask as a PNG data URL when `format` was given.
        case json
        /// The `(C, H, W)` float32 probabilities as `.npy`.
        case probabilities
    }

    /// The mask's pixel values: `values` (the training masks', the default), `indices` or `palette`; nil for `overlay`.
    var mask: MaskRenderer.Format? = .values
    /// Whether the query named a format (JSON answers then carry the mask).
    var formatGiven = false
    var answer: Answer = .png
    /// Test-time augmentation; nil: the model's default.
    var flips: Bool?
    /// The overlay's opacity of the class colours.
    var opacity: Float = 0.45
    var contours = false

    /// Reads the query parameters (`format`, `probabilities`, `tta`, `opacity`, `contours`) and the `Accept` header.
    /// - Throws: `APIError` 400 naming the parameter and what it takes.
    init(query: [String: String], accept: String?) throws(APIError) {
        for name in query.keys where !Self.parameters.contains(name) {
            throw APIError(.badRequest, "bad_parameter", "unknown query parameter '\(name.prefix(40))' (known: \(Self.parameters.sorted().joined(separator: ", ")))")
        }
        if let format = query["format"] {
            formatGiven = true
            switch format {
            case "overlay": mask = nil
            default:
                guard let value = MaskRenderer.Format(rawValue: format) else {
                    throw APIError(.badRequest, "bad_parameter", "format: '\(format.prefix(40))' is not values, indices, palette or overlay")
                }
                mask = value
            }
        }
        if try Self.bool(query, "probabilities") == true { answer = .probabilities }
        flips = try Self.bool(query, "tta")
        contours = try Self.bool(query, "contours") ?? false
        if let text = query["opacity"] {
            guard let value = Float(text), value.isFinite, (0...1).contains(value) else {
                throw APIError(.badRequest, "bad_parameter", "opacity: '\(text.prefix(40))' is not a number from 0 to 1")
            }
            opacity = value
        }
        if answer == .png, let accept, accept.lowercased().contains("application/json") { answer = .json }
        if answer == .probabilities, formatGiven {
            throw APIError(.badRequest, "bad_parameter", "probabilities=true answers .npy and takes no format")
        }
    }

    static let parameters: Set<String> = ["format", "probabilities", "tta", "opacity", "contours"]

    private static func bool(_ query: [String: String], _ name: String) throws(APIError) -> Bool? {
        guard let text = query[name] else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw APIError(.badRequest, "bad_parameter", "\(name): '\(text.prefix(40))' is not true or false")
        }
    }
}

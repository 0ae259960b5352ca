import Foundation
import Evaluation

/// The machine-readable form: one JSON object with the metrics' snake-case keys, the class names and the image
/// count (`unet evaluate --json`, the demo's `metrics.json`).
enum MetricsJSON {
    static func text(_ metrics: SegmentationMetrics, names: [String], images: Int) throws -> String {
        guard var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(metrics)) as? [String: Any] else {
            throw CLIError(description: "metrics: not a JSON object")
        }
        object["classes"] = names
        object["images"] = images
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }
}

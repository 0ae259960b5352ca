import Checkpoints
import Foundation
import Hummingbird
import ImageIO
import Reports
import Workflows

/// The answer to a segmentation request: a PNG mask or overlay, JSON with the class table, or `.npy` probabilities.
enum SegmentationAnswer {
    /// One class's line of the JSON answer.
    struct ClassShare: Codable {
        let index: Int
        let name: String?
        let value: [Int]
        let color: [Int]
        let pixels: Int
        /// The class's fraction of the image's pixels.
        let share: Double
    }

    /// The JSON answer.
    struct Summary: Codable {
        let model: String
        let width: Int
        let height: Int
        let classes: [ClassShare]
        /// The mask in the requested format as a `data:image/png;base64,` URL, when a format was asked for.
        let mask: String?
        let milliseconds: Double
    }

    static func response(_ result: ImageSegmenter.Segmentation, model: ServedModel, options: SegmentOptions, seconds: Double) throws -> Response {
        switch options.answer {
        case .probabilities:
            guard let probabilities = result.probabilities else { throw APIError(.internalServerError, "internal", "no probabilities") }
            return bytes(Array(NumpyArray.encode(probabilities)), contentType: "application/x-npy")
        case .png:
            return bytes(try png(result, model: model, options: options), contentType: "image/png")
        case .json:
            let counts = result.classes.reduce(into: [Int](repeating: 0, count: model.summary.classes.count)) { counts, c in
                if Int(c) < counts.count { counts[Int(c)] += 1 }
            }
            let total = max(result.classes.count, 1)
            let mask = options.formatGiven ? "data:image/png;base64," + Data(try png(result, model: model, options: options)).base64EncodedString() : nil
            let summary = Summary(
                model: model.name, width: result.image.width, height: result.image.height,
                classes: model.summary.classes.map { c in
                    ClassShare(index: c.index, name: c.name, value: c.value, color: c.color, pixels: counts[c.index],
                               share: Double(counts[c.index]) / Double(total))
                },
                mask: mask, milliseconds: (seconds * 1e5).rounded() / 100)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return bytes(Array(try encoder.encode(summary)), contentType: "application/json")
        }
    }

    /// The PNG of the mask format asked for, or of the overlay.
    private static func png(_ result: ImageSegmenter.Segmentation, model: ServedModel, options: SegmentOptions) throws -> [UInt8] {
        let (width, height) = (result.image.width, result.image.height)
        guard let format = options.mask else {
            let canvas = Overlay.blend(Overlay.canvas(result.image), classes: result.classes, alpha: options.opacity, contours: options.contours)
            return try ImageWriter.encodePNG(try canvas.image())
        }
        return try ImageWriter.encodePNG(MaskRenderer.image(result.classes, width: width, height: height, format: format, table: model.table,
                                                            modelClasses: model.loaded.model.architecture.classes))
    }

    static func bytes(_ bytes: [UInt8], contentType: String) -> Response {
        Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

import Datasets
import ImageIO
import Reports

/// Turns predicted classes into a mask image.
public enum MaskRenderer {
    /// What the pixel values of a written mask mean.
    public enum Format: String, Sendable, CaseIterable {
        /// The training masks' own values or colours (the model's class table); a `[0, 1]` table (milesial's
        /// default, Carvana's masks) and a binary model without a table are written 0/255, as milesial's
        /// boolean masks are; other models without a table write class indices.
        case values
        /// The class index itself (0, 1, 2, …): what `unet evaluate --predictions` reads.
        case indices
        /// An RGB image in the PASCAL VOC colours (class 0 black).
        case palette
    }

    /// The mask image of `classes` (`height × width`, row-major).
    /// - Throws: `ImageError` when the sizes do not match the classes.
    public static func image(_ classes: [Int32], width: Int, height: Int, format: Format, table: ClassTable?,
                             modelClasses: Int) throws(ImageError) -> Image {
        let values: [[Int]]
        switch format {
        case .values:
            if let table, table.classes >= max(modelClasses, 2), table.values != [[0], [1]] {
                values = table.values
            } else {
                values = modelClasses <= 2 ? [[0], [255]] : (0..<modelClasses).map { [$0] }
            }
        case .indices:
            values = (0..<max(modelClasses, 2)).map { [$0] }
        case .palette:
            values = (0..<max(modelClasses, 2)).map { let c = ClassPalette.vocColor($0); return [Int(c.0), Int(c.1), Int(c.2)] }
        }
        let channels = values.contains { $0.count == 3 } ? 3 : 1
        let lookup = values.map { v in channels == 3 && v.count == 1 ? [v[0], v[0], v[0]] : v }.map { $0.map(UInt16.init) }
        var samples = [UInt16](repeating: 0, count: width * height * channels)
        guard classes.count == width * height, classes.allSatisfy({ $0 >= 0 && Int($0) < lookup.count }) else {
            throw ImageError("mask", "\(classes.count) class indices for a \(width)x\(height) mask of \(lookup.count) classes")
        }
        for (i, c) in classes.enumerated() {
            for k in 0..<channels { samples[i * channels + k] = lookup[Int(c)][k] }
        }
        let deep = values.joined().contains { $0 > 255 }
        return try Image(width: width, height: height, channels: channels, bitDepth: deep ? 16 : 8, samples: samples)
    }
}

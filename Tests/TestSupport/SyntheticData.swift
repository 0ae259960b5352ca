import Foundation
import ImageIO
import Tensors

/// Small image/mask datasets written to a temporary folder as PNG files, for tests that train or evaluate
/// through the real file-reading path: gray noise with a brighter disc; the mask marks the disc.
public enum SyntheticData {
    /// Writes `count` pairs `images/<i>.png` and `masks/<i>.png` (0/255) under `folder`.
    /// - Parameters:
    ///   - maskValues: the gray value of background and disc in the masks.
    /// - Returns: the images and masks folders.
    @discardableResult
    public static func writeDiscs(to folder: URL, count: Int, size: Int = 32, maskValues: (UInt16, UInt16) = (0, 255),
                                  seed: UInt64 = 1) throws -> (images: String, masks: String) {
        let images = folder.appendingPathComponent("images")
        let masks = folder.appendingPathComponent("masks")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: masks, withIntermediateDirectories: true)
        var g = SeededGenerator(seed: seed)
        for index in 0..<count {
            let radius = Float(size) * (0.15 + 0.15 * g.nextUnitFloat())
            let cx = radius + (Float(size) - 2 * radius) * g.nextUnitFloat()
            let cy = radius + (Float(size) - 2 * radius) * g.nextUnitFloat()
            var pixels: [UInt16] = []
            var labels: [UInt16] = []
            for y in 0..<size {
                for x in 0..<size {
                    let inside = (Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy) <= radius * radius
                    let value = 70 + (inside ? 90 : 0) + 40 * g.nextNormal()
                    pixels.append(UInt16(min(max(value, 0), 255)))
                    labels.append(inside ? maskValues.1 : maskValues.0)
                }
            }
            try ImageWriter.writePNG(try Image(width: size, height: size, channels: 1, samples: pixels),
                                     to: images.appendingPathComponent("\(index).png").path)
            try ImageWriter.writePNG(try Image(width: size, height: size, channels: 1, samples: labels),
                                     to: masks.appendingPathComponent("\(index).png").path)
        }
        return (images.path, masks.path)
    }

    /// A fresh temporary folder (the caller removes it).
    public static func temporaryFolder(_ name: String = "unet-test") throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }
}

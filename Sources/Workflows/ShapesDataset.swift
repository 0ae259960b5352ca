import Files
import Foundation
import ImageIO
import Tensors

/// The demo's generated segmentation task: RGB images of textured, noisy backgrounds holding two to four
/// separate discs, squares and triangles at random places, sizes, angles and colours. The colour of a shape says nothing about its class
/// (both are drawn independently), so no colour threshold solves it: the network has to learn the shapes.
///
/// Masks are RGB colour masks: background black, disc blue, square green, triangle red, so the sorted colours
/// (milesial's class table) give classes 0 background, 1 disc, 2 square, 3 triangle.
public enum ShapesDataset {
    /// Class names, in class order.
    public static let classNames = ["background", "disc", "square", "triangle"]
    /// The mask colour of each class.
    public static let maskColors: [[UInt16]] = [[0, 0, 0], [0, 0, 255], [0, 255, 0], [255, 0, 0]]

    /// Writes `count` pairs `images/<i>.png` and `masks/<i>.png` under `folder`.
    /// - Returns: the images and masks folders.
    @discardableResult
    public static func write(to folder: String, count: Int, size: Int, seed: UInt64) throws -> (images: String, masks: String) {
        let images = (folder as NSString).appendingPathComponent("images")
        let masks = (folder as NSString).appendingPathComponent("masks")
        for path in [images, masks] { try FileContents.createFolder(path) }
        var g = SeededGenerator(seed: seed)
        for index in 0..<count {
            let (image, mask) = try sample(size: size, generator: &g)
            let name = String(format: "%04d.png", index)
            try ImageWriter.writePNG(image, to: (images as NSString).appendingPathComponent(name))
            try ImageWriter.writePNG(mask, to: (masks as NSString).appendingPathComponent(name))
        }
        return (images, masks)
    }

    /// One `size × size` image and its mask.
    public static func sample(size: Int, generator g: inout SeededGenerator) throws -> (image: Image, mask: Image) {
        let s = Float(size)
        // Background: a random colour, three random low-frequency waves, pixel noise.
        let base = (0..<3).map { _ in 60 + 140 * g.nextUnitFloat() }
        let waves = (0..<3).map { _ in
            (fx: (0.5 + 3 * g.nextUnitFloat()) * 2 * Float.pi / s, fy: (0.5 + 3 * g.nextUnitFloat()) * 2 * Float.pi / s,
             phase: 2 * Float.pi * g.nextUnitFloat(), channel: Int(g.next() % 3))
        }
        var pixels = [Float](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                for c in 0..<3 {
                    var v = base[c] + 18 * g.nextNormal()
                    for w in waves where w.channel == c { v += 28 * sin(w.fx * Float(x) + w.fy * Float(y) + w.phase) }
                    pixels[(y * size + x) * 3 + c] = v
                }
            }
        }
        var classes = [Int](repeating: 0, count: size * size)
        // Two to four shapes that do not overlap (a few tries each to find room).
        var placed: [(x: Float, y: Float, r: Float)] = []
        for _ in 0..<(2 + Int(g.next() % 3)) {
            let kind = 1 + Int(g.next() % 3)
            let radius = s * (0.1 + 0.08 * g.nextUnitFloat())
            var spot: (Float, Float)?
            for _ in 0..<20 {
                let (x, y) = (1.2 * radius + (s - 2.4 * radius) * g.nextUnitFloat(), 1.2 * radius + (s - 2.4 * radius) * g.nextUnitFloat())
                if placed.allSatisfy({ ($0.x - x) * ($0.x - x) + ($0.y - y) * ($0.y - y) > (1.25 * ($0.r + radius)) * (1.25 * ($0.r + radius)) }) {
                    spot = (x, y)
                    break
                }
            }
            guard let (cx, cy) = spot else { continue }
            placed.append((cx, cy, radius))
            let angle = 2 * Float.pi * g.nextUnitFloat()
            // A fill that stands out from the background: at least 150 apart over the three channels.
            var fill = (0..<3).map { _ in 30 + 200 * g.nextUnitFloat() }
            for _ in 0..<10 where zip(fill, base).map({ abs($0 - $1) }).reduce(0, +) < 150 {
                fill = (0..<3).map { _ in 30 + 200 * g.nextUnitFloat() }
            }
            if zip(fill, base).map({ abs($0 - $1) }).reduce(0, +) < 150 { fill = base.map { $0 > 128 ? $0 - 70 : $0 + 70 } }
            for y in 0..<size {
                for x in 0..<size where contains(kind, x: Float(x) + 0.5 - cx, y: Float(y) + 0.5 - cy, radius: radius, angle: angle) {
                    classes[y * size + x] = kind
                    for c in 0..<3 { pixels[(y * size + x) * 3 + c] = fill[c] + 18 * g.nextNormal() }
                }
            }
        }
        let image = try Image(width: size, height: size, channels: 3,
                              samples: pixels.map { UInt16(min(max($0.rounded(), 0), 255)) })
        let mask = try Image(width: size, height: size, channels: 3, samples: classes.flatMap { maskColors[$0] })
        return (image, mask)
    }

    /// Whether the offset `(x, y)` from a shape's centre lies inside it: a disc of `radius`, a square whose
    /// half-side is `0.85 · radius`, or an equilateral triangle whose circumradius is `1.2 · radius`, the last two
    /// turned by `angle`.
    static func contains(_ kind: Int, x: Float, y: Float, radius: Float, angle: Float) -> Bool {
        let (u, v) = (x * cos(angle) + y * sin(angle), -x * sin(angle) + y * cos(angle))
        switch kind {
        case 1: return x * x + y * y <= radius * radius
        case 2: return abs(u) <= 0.85 * radius && abs(v) <= 0.85 * radius
        default:
            // Inside when on the inner side of all three edges (each at distance R/2 from the centre).
            let r = 1.2 * radius
            return (0..<3).allSatisfy { k in
                let theta = Float(k) * 2 * Float.pi / 3
                return u * cos(theta) + v * sin(theta) <= r / 2
            }
        }
    }
}

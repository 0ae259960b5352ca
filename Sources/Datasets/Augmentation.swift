import Foundation
import ImageIO
import Tensors

/// Random training augmentation of an image and its mask together: geometric changes apply to both (images
/// interpolated bilinearly, masks by nearest neighbour, pixels from outside the image ignored), photometric ones
/// to the image only. Each sample draws from its own generator, so results do not depend on thread timing.
public struct Augmentation: Sendable {
    /// A square random crop of this side (padded with ignored pixels when the image is smaller).
    public var crop: Int?
    /// The share of crops centred on a random foreground pixel (a class other than 0) where the mask has one, as
    /// nnU-Net oversamples foreground in a third of its patches; the others fall anywhere.
    public var foregroundCrops: Float = 0
    /// Random horizontal and vertical flips.
    public var flips = false
    /// Random rotation by a multiple of 90° (square images only).
    public var rotate90 = false
    /// Random small rotation in ±degrees and scaling in ±fraction, about the image centre.
    public var rotationDegrees: Float = 0
    public var scaleJitter: Float = 0
    /// Random brightness offset in ±value, contrast factor in 1 ± value, gamma in 1 ± value (on [0, 1] pixels).
    public var brightness: Float = 0
    public var contrast: Float = 0
    public var gamma: Float = 0
    /// Gaussian noise of this standard deviation.
    public var noise: Float = 0
    /// With probability 0.5, a blur of this strength (the image shrunk by 1 + strength and enlarged back).
    public var blur: Float = 0

    public init() {}

    /// Whether anything is random at all.
    public var isIdentity: Bool {
        crop == nil && !flips && !rotate90 && rotationDegrees == 0 && scaleJitter == 0 && brightness == 0
            && contrast == 0 && gamma == 0 && noise == 0 && blur == 0
    }

    /// The augmented pair.
    public func apply(_ image: SampleImage, _ mask: SampleMask, using g: inout SeededGenerator) -> (SampleImage, SampleMask) {
        var (image, mask) = (image, mask)
        if rotationDegrees > 0 || scaleJitter > 0 {
            let angle = (2 * g.nextUnitFloat() - 1) * rotationDegrees * .pi / 180
            let scale = 1 + (2 * g.nextUnitFloat() - 1) * scaleJitter
            (image, mask) = Self.affine(image, mask, angle: angle, scale: scale)
        }
        if let crop {
            let centre = foregroundCrops > 0 && g.nextUnitFloat() < foregroundCrops ? Self.foregroundPixel(mask, using: &g) : nil
            (image, mask) = Self.crop(image, mask, side: crop, around: centre, using: &g)
        }
        if flips {
            if g.nextUnitFloat() < 0.5 { (image, mask) = Self.remap(image, mask) { y, x, h, w in (y, w - 1 - x, h, w) } }
            if g.nextUnitFloat() < 0.5 { (image, mask) = Self.remap(image, mask) { y, x, h, w in (h - 1 - y, x, h, w) } }
        }
        if rotate90, image.height == image.width {
            for _ in 0..<Int(g.next() % 4) { (image, mask) = Self.remap(image, mask) { y, x, h, w in (w - 1 - x, y, h, w) } }
        }
        photometric(&image, using: &g)
        return (image, mask)
    }

    // MARK: - Geometry

    /// Output pixel `(y, x)` of an `h × w` result takes input pixel `source(y, x, h, w)`.
    static func remap(_ image: SampleImage, _ mask: SampleMask,
                      _ source: (Int, Int, Int, Int) -> (Int, Int, Int, Int)) -> (SampleImage, SampleMask) {
        let (h, w) = (image.height, image.width)
        var values = [Float](repeating: 0, count: image.values.count)
        var classes = [Int32](repeating: 0, count: mask.classes.count)
        for y in 0..<h {
            for x in 0..<w {
                let (sy, sx, _, _) = source(y, x, h, w)
                let (to, from) = (y * w + x, sy * w + sx)
                classes[to] = mask.classes[from]
                for c in 0..<image.channels { values[c * h * w + to] = image.values[c * h * w + from] }
            }
        }
        return (SampleImage(channels: image.channels, height: h, width: w, values: values, formatMaximum: image.formatMaximum),
                SampleMask(height: h, width: w, classes: classes))
    }

    /// A random pixel of a class other than 0 (`(y, x)`), nil when the mask has none.
    static func foregroundPixel(_ mask: SampleMask, using g: inout SeededGenerator) -> (y: Int, x: Int)? {
        let count = mask.classes.reduce(0) { $0 + ($1 > 0 ? 1 : 0) }
        guard count > 0 else { return nil }
        var k = Int(g.next() % UInt64(count))
        for (i, c) in mask.classes.enumerated() where c > 0 {
            if k == 0 { return (i / mask.width, i % mask.width) }
            k -= 1
        }
        return nil
    }

    /// A square crop of `side`: at a random place, or centred on `centre` as far as the image allows; an image smaller
    /// than `side` is centred in it, padded with ignored pixels.
    static func crop(_ image: SampleImage, _ mask: SampleMask, side: Int, around centre: (y: Int, x: Int)? = nil,
                     using g: inout SeededGenerator) -> (SampleImage, SampleMask)
    {
        let (h, w) = (image.height, image.width)
        func origin(_ length: Int, _ at: Int?) -> Int {
            guard length > side else { return -((side - length) / 2) }
            guard let at else { return Int(g.next() % UInt64(length - side + 1)) }
            return min(max(at - side / 2, 0), length - side)
        }
        let top = origin(h, centre?.y)
        let left = origin(w, centre?.x)
        var values = [Float](repeating: 0, count: image.channels * side * side)
        var classes = [Int32](repeating: SampleMask.ignored, count: side * side)
        for y in 0..<side {
            let sy = y + top
            guard sy >= 0, sy < h else { continue }
            for x in 0..<side {
                let sx = x + left
                guard sx >= 0, sx < w else { continue }
                classes[y * side + x] = mask.classes[sy * w + sx]
                for c in 0..<image.channels { values[(c * side + y) * side + x] = image.values[(c * h + sy) * w + sx] }
            }
        }
        return (SampleImage(channels: image.channels, height: side, width: side, values: values, formatMaximum: image.formatMaximum),
                SampleMask(height: side, width: side, classes: classes))
    }

    /// Rotation by `angle` radians and scaling by `scale` about the centre; bilinear image, nearest mask.
    static func affine(_ image: SampleImage, _ mask: SampleMask, angle: Float, scale: Float) -> (SampleImage, SampleMask) {
        let (h, w) = (image.height, image.width)
        let (cy, cx) = (Float(h - 1) / 2, Float(w - 1) / 2)
        let (cosA, sinA) = (cos(angle) / scale, sin(angle) / scale)
        var values = [Float](repeating: 0, count: image.values.count)
        var classes = [Int32](repeating: SampleMask.ignored, count: mask.classes.count)
        for y in 0..<h {
            for x in 0..<w {
                // Inverse map: where in the input this output pixel comes from.
                let (dy, dx) = (Float(y) - cy, Float(x) - cx)
                let sy = cosA * dy - sinA * dx + cy
                let sx = sinA * dy + cosA * dx + cx
                let (ny, nx) = (Int(sy.rounded()), Int(sx.rounded()))
                if ny >= 0, ny < h, nx >= 0, nx < w { classes[y * w + x] = mask.classes[ny * w + nx] }
                let (y0, x0) = (Int(floor(sy)), Int(floor(sx)))
                guard y0 >= 0, x0 >= 0, y0 + 1 < h, x0 + 1 < w else { continue }
                let (fy, fx) = (sy - Float(y0), sx - Float(x0))
                for c in 0..<image.channels {
                    let base = c * h * w
                    let top = (1 - fx) * image.values[base + y0 * w + x0] + fx * image.values[base + y0 * w + x0 + 1]
                    let bottom = (1 - fx) * image.values[base + (y0 + 1) * w + x0] + fx * image.values[base + (y0 + 1) * w + x0 + 1]
                    values[base + y * w + x] = (1 - fy) * top + fy * bottom
                }
            }
        }
        return (SampleImage(channels: image.channels, height: h, width: w, values: values, formatMaximum: image.formatMaximum),
                SampleMask(height: h, width: w, classes: classes))
    }

    // MARK: - Photometric

    private func photometric(_ image: inout SampleImage, using g: inout SeededGenerator) {
        if blur > 0, g.nextUnitFloat() < 0.5 {
            let factor = 1 + blur * g.nextUnitFloat()
            let (w, h) = (max(1, Int(Float(image.width) / factor)), max(1, Int(Float(image.height) / factor)))
            let (width, height) = (image.width, image.height)
            image = image.resized(width: w, height: h, filter: .bilinear).resized(width: width, height: height, filter: .bilinear)
        }
        let offset = brightness > 0 ? (2 * g.nextUnitFloat() - 1) * brightness : 0
        let factor = contrast > 0 ? 1 + (2 * g.nextUnitFloat() - 1) * contrast : 1
        let exponent = gamma > 0 ? 1 + (2 * g.nextUnitFloat() - 1) * gamma : 1
        guard offset != 0 || factor != 1 || exponent != 1 || noise > 0 else { return }
        let mean = image.values.reduce(0, +) / Float(max(image.values.count, 1))
        for i in image.values.indices {
            var v = (image.values[i] - mean) * factor + mean + offset
            if exponent != 1 { v = pow(min(max(v, 0), 1), exponent) }
            if noise > 0 { v += noise * g.nextNormal() }
            image.values[i] = v
        }
    }
}

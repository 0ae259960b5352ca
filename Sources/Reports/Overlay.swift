import ImageIO

/// Images people look at after prediction: the input with each class tinted in its colour, optionally with
/// contours, and the input beside the colour mask.
public enum Overlay {
    /// An 8-bit RGB canvas of a decoded image: gray replicated, alpha dropped, 16-bit scaled down.
    public static func canvas(_ image: Image) -> Canvas {
        var canvas = Canvas(width: image.width, height: image.height)
        let c = image.channels
        let shift = image.bitDepth == 16 ? 8 : 0
        for y in 0..<image.height {
            for x in 0..<image.width {
                let base = (y * image.width + x) * c
                let value = { (k: Int) in UInt8(image.samples[base + k] >> UInt16(shift)) }
                canvas.set(x, y, c >= 3 ? (value(0), value(1), value(2)) : (value(0), value(0), value(0)))
            }
        }
        return canvas
    }

    /// `image` with the pixels of every class but 0 blended with the class's colour (`alpha` of the colour), and
    /// with `contours`, the class borders drawn in full colour.
    /// - Parameter classes: one class index per pixel of `image`, row-major.
    public static func blend(_ image: Canvas, classes: [Int32], alpha: Float = 0.45, contours: Bool = false) -> Canvas {
        var out = image
        let (w, h) = (image.width, image.height)
        for y in 0..<h {
            for x in 0..<w {
                let c = Int(classes[y * w + x])
                guard c > 0 else { continue }
                let color = ClassPalette.overlayColor(c)
                let i = (y * w + x) * 3
                let mix = { (a: UInt8, b: UInt8) in UInt8((1 - alpha) * Float(a) + alpha * Float(b)) }
                out.set(x, y, (mix(image.pixels[i], color.0), mix(image.pixels[i + 1], color.1), mix(image.pixels[i + 2], color.2)))
            }
        }
        guard contours else { return out }
        for y in 0..<h {
            for x in 0..<w {
                let c = classes[y * w + x]
                guard c > 0 else { continue }
                let border = (x > 0 && classes[y * w + x - 1] != c) || (x < w - 1 && classes[y * w + x + 1] != c)
                    || (y > 0 && classes[(y - 1) * w + x] != c) || (y < h - 1 && classes[(y + 1) * w + x] != c)
                if border { out.set(x, y, ClassPalette.overlayColor(Int(c))) }
            }
        }
        return out
    }

    /// The image on the left, the classes in their colours (class 0 black) on the right.
    public static func sideBySide(_ image: Canvas, classes: [Int32]) -> Canvas {
        let (w, h) = (image.width, image.height)
        var out = Canvas(width: 2 * w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                let i = (y * w + x) * 3
                out.set(x, y, (image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]))
                let c = Int(classes[y * w + x])
                out.set(w + x, y, c == 0 ? (0, 0, 0) : ClassPalette.overlayColor(c))
            }
        }
        return out
    }
}

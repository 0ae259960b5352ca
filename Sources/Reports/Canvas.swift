import ImageIO

/// An RGB raster to draw charts and overlays on, written as PNG through `ImageIO`.
public struct Canvas: Sendable {
    public let width: Int
    public let height: Int
    /// `HWC` RGB bytes.
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) { (pixels[i], pixels[i + 1], pixels[i + 2]) = background }
    }

    public typealias Color = (UInt8, UInt8, UInt8)

    public mutating func set(_ x: Int, _ y: Int, _ color: Color) {
        guard x >= 0, x < width, y >= 0, y < height else { return }
        let i = (y * width + x) * 3
        (pixels[i], pixels[i + 1], pixels[i + 2]) = color
    }

    /// A straight line from (x0, y0) to (x1, y1), `thickness` pixels wide (Bresenham).
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: Color, thickness: Int = 1) {
        var (x, y) = (x0, y0)
        let (dx, dy) = (abs(x1 - x0), -abs(y1 - y0))
        let (sx, sy) = (x0 < x1 ? 1 : -1, y0 < y1 ? 1 : -1)
        var error = dx + dy
        while true {
            for ox in 0..<thickness { for oy in 0..<thickness { set(x + ox - thickness / 2, y + oy - thickness / 2, color) } }
            if x == x1 && y == y1 { break }
            let e2 = 2 * error
            if e2 >= dy { error += dy; x += sx }
            if e2 <= dx { error += dx; y += sy }
        }
    }

    public mutating func rectangle(_ x: Int, _ y: Int, _ w: Int, _ h: Int, _ color: Color) {
        line(x, y, x + w, y, color)
        line(x, y + h, x + w, y + h, color)
        line(x, y, x, y + h, color)
        line(x + w, y, x + w, y + h, color)
    }

    /// Text in the built-in 5x7 font, `scale` pixels per font pixel, top-left at (x, y).
    public mutating func text(_ string: String, _ x: Int, _ y: Int, _ color: Color, scale: Int = 1) {
        var cursor = x
        for character in string.uppercased() {
            let rows = BitmapFont.glyph(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<5 where bits & (1 << (4 - column)) != 0 {
                    for sx in 0..<scale { for sy in 0..<scale { set(cursor + column * scale + sx, y + row * scale + sy, color) } }
                }
            }
            cursor += 6 * scale
        }
    }

    /// The pixel width of `string` at `scale`.
    public static func textWidth(_ string: String, scale: Int = 1) -> Int { string.count * 6 * scale - scale }

    /// The canvas as an 8-bit RGB image.
    /// - Throws: `ImageError` for an empty canvas.
    public func image() throws(ImageError) -> Image {
        try Image(width: width, height: height, channels: 3, samples: pixels.map(UInt16.init))
    }

    /// Writes the canvas as a PNG file.
    public func writePNG(to path: String) throws { try ImageWriter.writePNG(try image(), to: path) }
}

/// Colours for classes.
public enum ClassPalette {
    /// Vivid, mutually distinct colours for overlays (class 1 first; class 0, the background, is left unpainted),
    /// repeated with darker shades beyond the list.
    public static func overlayColor(_ c: Int) -> Canvas.Color {
        let base = distinct[(c - 1 + distinct.count) % distinct.count]
        let shade = 1 - 0.3 * Float(((c - 1) / distinct.count) % 3)
        return (UInt8(Float(base.0) * shade), UInt8(Float(base.1) * shade), UInt8(Float(base.2) * shade))
    }

    /// The PASCAL VOC colour map: class 0 black, 1 (128, 0, 0), 2 (0, 128, 0), 3 (128, 128, 0), … (the bits of
    /// the class index spread over the high bits of R, G and B). Distinct for 256 classes.
    public static func vocColor(_ c: Int) -> Canvas.Color {
        var (r, g, b, index) = (0, 0, 0, c)
        for bit in 0..<8 {
            r |= (index & 1) << (7 - bit)
            g |= (index >> 1 & 1) << (7 - bit)
            b |= (index >> 2 & 1) << (7 - bit)
            index >>= 3
        }
        return (UInt8(r), UInt8(g), UInt8(b))
    }

    static let distinct: [Canvas.Color] = [
        (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48), (145, 30, 180), (70, 240, 240),
        (240, 50, 230), (210, 245, 60), (250, 190, 212), (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200),
        (128, 0, 0), (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (128, 128, 128),
    ]
}

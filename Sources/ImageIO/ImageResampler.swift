import CImageCodecs

/// Resizes float images through stb_image_resize: Catmull-Rom cubic (PIL's `BICUBIC`) for images, and a
/// triangle filter when shrinking for a smoothing effect (`blur`).
public enum ImageResampler {
    public enum Filter: Sendable {
        /// Catmull-Rom cubic interpolation (PIL's `Image.BICUBIC`).
        case bicubic
        /// Bilinear (triangle) filtering.
        case bilinear

        var raw: stbir_filter {
            switch self {
            case .bicubic: STBIR_FILTER_CATMULLROM
            case .bilinear: STBIR_FILTER_TRIANGLE
            }
        }
    }

    /// Resizes interleaved (`HWC`) float samples from `width`×`height` to `newWidth`×`newHeight`, clamping at the
    /// edges.
    /// - Returns: `newHeight · newWidth · channels` samples, or nil if stb refuses the sizes.
    public static func resize(
        _ samples: [Float], width: Int, height: Int, channels: Int, newWidth: Int, newHeight: Int, filter: Filter = .bicubic
    ) -> [Float]? {
        guard width > 0, height > 0, newWidth > 0, newHeight > 0, channels > 0,
            samples.count == width * height * channels
        else { return nil }
        var output = [Float](repeating: 0, count: newWidth * newHeight * channels)
        let ok = samples.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                stbir_resize_float_generic(
                    input.baseAddress, Int32(width), Int32(height), 0, out.baseAddress, Int32(newWidth), Int32(newHeight),
                    0, Int32(channels), Int32(STBIR_ALPHA_CHANNEL_NONE), 0, STBIR_EDGE_CLAMP, filter.raw,
                    STBIR_COLORSPACE_LINEAR, nil)
            }
        }
        return ok != 0 ? output : nil
    }
}

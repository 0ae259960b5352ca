import CImageCodecs
import Files
import Foundation

/// Encodes images as PNG through stb_image_write (8-bit samples) and writes them atomically.
public enum ImageWriter {
    /// PNG bytes of an 8-bit image.
    /// - Throws: `ImageError` for a 16-bit image (stb writes 8-bit PNG only) or an encoder failure.
    public static func encodePNG(_ image: Image, path: String = "image") throws(ImageError) -> [UInt8] {
        guard image.bitDepth == 8 else { throw ImageError(path, "only 8-bit images can be written as PNG") }
        let pixels = image.samples.map { UInt8($0) }
        final class Sink { var bytes: [UInt8] = [] }
        let sink = Sink()
        let written = withExtendedLifetime(sink) {
            stbi_write_png_to_func(
                { context, data, size in
                    guard let context, let data, size > 0 else { return }
                    let sink = Unmanaged<Sink>.fromOpaque(context).takeUnretainedValue()
                    sink.bytes += UnsafeRawBufferPointer(start: data, count: Int(size))
                }, Unmanaged.passUnretained(sink).toOpaque(), Int32(image.width), Int32(image.height),
                Int32(image.channels), pixels, Int32(image.width * image.channels))
        }
        guard written != 0 else { throw ImageError(path, "PNG encoding failed") }
        return sink.bytes
    }

    /// Writes `image` as a PNG file atomically (temporary file, then rename).
    /// - Throws: `ImageError` naming `path` when the folder cannot be written.
    public static func writePNG(_ image: Image, to path: String) throws(ImageError) {
        let bytes = try encodePNG(image, path: path)
        do { try AtomicFile.write(Data(bytes), to: path) } catch { throw ImageError(path, error.reason) }
    }
}

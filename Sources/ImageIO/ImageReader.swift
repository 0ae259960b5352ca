import CImageCodecs
import Foundation

/// Decodes image files with Debian's codec libraries: stb_image for PNG (8/16-bit; gray, RGB, RGBA,
/// palette expanded to colours), JPEG, GIF (first frame) and BMP, and libtiff for TIFF (any compression
/// libtiff supports, LZW included).
public enum ImageReader {
    /// Reads and decodes the image at `path`, choosing the codec from the file's first bytes.
    /// - Throws: `ImageError` naming the file when it is missing, unreadable or not a decodable image.
    public static func read(path: String) throws(ImageError) -> Image {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImageError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        let bytes = [UInt8](data)
        if isTIFF(bytes) { return try TIFFDecoder.decode(path: path) }
        return try decodeWithSTB(bytes, path: path)
    }

    /// Decodes PNG, JPEG, GIF or BMP bytes; `path` labels errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(ImageError) -> Image {
        guard !isTIFF(bytes) else { throw ImageError(path, "TIFF must be read from a file (ImageReader.read)") }
        return try decodeWithSTB(bytes, path: path)
    }

    static func isTIFF(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 4 && (bytes[0..<4] == [0x49, 0x49, 0x2A, 0x00] || bytes[0..<4] == [0x4D, 0x4D, 0x00, 0x2A])
    }

    private static func decodeWithSTB(_ bytes: [UInt8], path: String) throws(ImageError) -> Image {
        guard !bytes.isEmpty, bytes.count <= Int(Int32.max) else { throw ImageError(path, "empty or oversized file") }
        var (width, height, channels): (Int32, Int32, Int32) = (0, 0, 0)
        let length = Int32(bytes.count)
        let sixteen = stbi_is_16_bit_from_memory(bytes, length) != 0
        let samples: [UInt16]? =
            if sixteen {
                stbi_load_16_from_memory(bytes, length, &width, &height, &channels, 0).map { pixels in
                    defer { stbi_image_free(pixels) }
                    return Array(UnsafeBufferPointer(start: pixels, count: Int(width * height * channels)))
                }
            } else {
                stbi_load_from_memory(bytes, length, &width, &height, &channels, 0).map { pixels in
                    defer { stbi_image_free(pixels) }
                    return UnsafeBufferPointer(start: pixels, count: Int(width * height * channels)).map(UInt16.init)
                }
            }
        guard let samples else {
            let reason = stbi_failure_reason().map { String(cString: $0) } ?? "unknown format"
            throw ImageError(path, "cannot decode image (\(reason))")
        }
        return try Image(width: Int(width), height: Int(height), channels: Int(channels), bitDepth: sixteen ? 16 : 8,
                         samples: samples)
    }
}

import CImageCodecs
import Files
import Foundation
import Synchronization

/// Decodes image files with Debian's codec libraries: stb_image for PNG (8/16-bit; gray, RGB, RGBA,
/// palette expanded to colours), JPEG, GIF (first frame) and BMP, and libtiff for TIFF (any compression
/// libtiff supports, LZW included).
///
/// A file is refused, with one line naming it, when it is not one of these formats, when its header declares
/// more pixels than `maximumPixels` (checked before any pixel is decoded: a 150-byte TIFF can declare
/// 200000x200000), or when it is truncated (`ImageFormat.isComplete`, libtiff's own checks).
public enum ImageReader {
    /// PIL's default `Image.MAX_IMAGE_PIXELS` (89,478,485, a quarter gigabyte of RGB).
    public static let defaultMaximumPixels = 89_478_485

    private static let pixelLimit = Atomic<Int>(defaultMaximumPixels)

    /// The most pixels (width x height) an image may have, for the whole process (PIL's `MAX_IMAGE_PIXELS`);
    /// the command-line tool sets it from `--max-pixels`.
    public static var maximumPixels: Int {
        get { pixelLimit.load(ordering: .relaxed) }
        set { pixelLimit.store(max(newValue, 1), ordering: .relaxed) }
    }

    /// The largest image file read (2 GiB, what stb_image can address).
    public static let fileSizeLimit = Int(Int32.max)

    /// Reads and decodes the image at `path`, choosing the codec from the file's first bytes.
    /// - Throws: `ImageError` naming the file when it is missing, unreadable, too large, truncated or not a
    ///   decodable image.
    public static func read(path: String) throws(ImageError) -> Image {
        let bytes: [UInt8]
        do { bytes = try FileContents.read(path, limit: fileSizeLimit) } catch { throw ImageError(path, error.reason) }
        return try decode(bytes, path: path)
    }

    /// Decodes the bytes of a PNG, JPEG, GIF, BMP or TIFF file; `path` labels errors.
    /// - Throws: `ImageError` as `read(path:)` does.
    public static func decode(_ bytes: [UInt8], path: String) throws(ImageError) -> Image {
        guard !bytes.isEmpty else { throw ImageError(path, "empty file") }
        guard bytes.count <= fileSizeLimit else { throw ImageError(path, "file larger than \(fileSizeLimit) bytes") }
        guard let format = ImageFormat(signature: bytes) else {
            throw ImageError(path, "not a PNG, JPEG, GIF, BMP or TIFF image")
        }
        if format == .tiff { return try TIFFDecoder.decode(bytes, path: path) }
        var (width, height, channels): (Int32, Int32, Int32) = (0, 0, 0)
        guard stbi_info_from_memory(bytes, Int32(bytes.count), &width, &height, &channels) != 0 else {
            // stb_image refuses to describe images of more than 2^30 bytes; their header says how large they claim to be.
            if let (width, height) = format.declaredSize(bytes) { try checkSize(width: width, height: height, path: path) }
            throw ImageError(path, "cannot decode \(format.rawValue) image (\(failureReason()))")
        }
        try checkSize(width: Int(width), height: Int(height), path: path)
        guard format.isComplete(bytes) else { throw ImageError(path, "truncated \(format.rawValue) file") }
        return try decodeWithSTB(bytes, format: format, path: path)
    }

    /// Refuses an image whose declared size exceeds `maximumPixels`.
    static func checkSize(width: Int, height: Int, path: String) throws(ImageError) {
        guard width > 0, height > 0 else { throw ImageError(path, "image of \(width)x\(height) pixels") }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maximumPixels else {
            throw ImageError(path, "\(width)x\(height) pixels, above the limit of \(maximumPixels) (--max-pixels)",
                             isAbovePixelLimit: true)
        }
    }

    /// stb's reason, with control characters escaped: it may quote bytes of the file (a chunk's name).
    private static func failureReason() -> String {
        stbi_failure_reason().map { TextFile.printable(String(cString: $0)) } ?? "unknown format"
    }

    private static func decodeWithSTB(_ bytes: [UInt8], format: ImageFormat, path: String) throws(ImageError) -> Image {
        var (width, height, channels): (Int32, Int32, Int32) = (0, 0, 0)
        let length = Int32(bytes.count)
        let sixteen = stbi_is_16_bit_from_memory(bytes, length) != 0
        let samples: [UInt16]? =
            if sixteen {
                stbi_load_16_from_memory(bytes, length, &width, &height, &channels, 0).map { pixels in
                    defer { stbi_image_free(pixels) }
                    return Array(UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * Int(channels)))
                }
            } else {
                stbi_load_from_memory(bytes, length, &width, &height, &channels, 0).map { pixels in
                    defer { stbi_image_free(pixels) }
                    return UnsafeBufferPointer(start: pixels, count: Int(width) * Int(height) * Int(channels)).map(UInt16.init)
                }
            }
        guard let samples else { throw ImageError(path, "cannot decode \(format.rawValue) image (\(failureReason()))") }
        return try Image(width: Int(width), height: Int(height), channels: Int(channels), bitDepth: sixteen ? 16 : 8,
                         samples: samples)
    }
}

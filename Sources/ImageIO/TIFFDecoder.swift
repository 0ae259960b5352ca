import CImageCodecs
import Files
import Foundation

/// TIFF decoding through libtiff, from memory. Gray and RGB(A) images with 8 or 16 bits per sample are read
/// scanline by scanline at their own bit depth; anything else (palette, YCbCr, CMYK, tiles, separate planes,
/// other depths) goes through libtiff's `TIFFReadRGBAImageOriented` and arrives as 8-bit RGBA. The size in
/// the tags is checked against `ImageReader.maximumPixels` before anything is decoded, libtiff's own
/// allocations are capped, and its first error (a strip past the end of a truncated file) becomes the message.
enum TIFFDecoder {
    /// What libtiff reads from: the file's bytes, a position, and the first error libtiff reported.
    private final class Source {
        let bytes: [UInt8]
        var position = 0
        var error: String?
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    static func decode(_ bytes: [UInt8], path: String) throws(ImageError) -> Image {
        let source = Source(bytes)
        let options = TIFFOpenOptionsAlloc()
        defer { TIFFOpenOptionsFree(options) }
        TIFFOpenOptionsSetMaxSingleMemAlloc(options, tmsize_t(max(256 << 20, ImageReader.maximumPixels * 8)))
        let context = Unmanaged.passUnretained(source).toOpaque()
        TIFFOpenOptionsSetErrorHandlerExtR(options, { _, context, module, format, arguments in
            guard let context, let format, let arguments else { return 1 }
            let source = Unmanaged<Source>.fromOpaque(context).takeUnretainedValue()
            if source.error == nil {
                var buffer = [CChar](repeating: 0, count: 256)
                _ = vsnprintf(&buffer, buffer.count, format, arguments)
                let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                source.error = TextFile.printable(module.map { String(cString: $0) + ": " + text } ?? text)
            }
            return 1
        }, context)
        TIFFOpenOptionsSetWarningHandlerExtR(options, { _, _, _, _, _ in 1 }, nil)
        return try withExtendedLifetime(source) { () throws(ImageError) -> Image in
            guard let tiff = TIFFClientOpenExt(
                path, "rm", context, readProc, writeProc, seekProc, closeProc, sizeProc, mapProc, unmapProc, options)
            else { throw ImageError(path, "cannot decode TIFF image (\(source.error ?? "not a TIFF file"))") }
            defer { TIFFClose(tiff) }
            return try decode(tiff, source, path)
        }
    }

    private static func decode(_ tiff: OpaquePointer, _ source: Source, _ path: String) throws(ImageError) -> Image {
        var width: UInt32 = 0, height: UInt32 = 0
        var bits: UInt16 = 0, samplesPerPixel: UInt16 = 0, photometric: UInt16 = 0, planar: UInt16 = 0
        guard field(tiff, TIFFTAG_IMAGEWIDTH, &width), field(tiff, TIFFTAG_IMAGELENGTH, &height) else {
            throw ImageError(path, "TIFF without image size")
        }
        try ImageReader.checkSize(width: Int(width), height: Int(height), path: path)
        _ = defaultedField(tiff, TIFFTAG_BITSPERSAMPLE, &bits)
        _ = defaultedField(tiff, TIFFTAG_SAMPLESPERPIXEL, &samplesPerPixel)
        _ = field(tiff, TIFFTAG_PHOTOMETRIC, &photometric)
        _ = defaultedField(tiff, TIFFTAG_PLANARCONFIG, &planar)
        let plain = (bits == 8 || bits == 16) && (1...4).contains(samplesPerPixel) && planar == PLANARCONFIG_CONTIG
            && (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_RGB) && TIFFIsTiled(tiff) == 0
        return plain
            ? try readScanlines(tiff, source, path, Int(width), Int(height), Int(samplesPerPixel), Int(bits))
            : try readRGBA(tiff, source, path, width, height)
    }

    private static func failure(_ source: Source, _ path: String, _ what: String) -> ImageError {
        ImageError(path, "\(what)" + (source.error.map { " (\($0))" } ?? ""))
    }

    private static func readScanlines(_ tiff: OpaquePointer, _ source: Source, _ path: String, _ width: Int, _ height: Int,
                                      _ channels: Int, _ bits: Int) throws(ImageError) -> Image {
        let rowBytes = Int(TIFFScanlineSize(tiff))
        guard rowBytes >= width * channels * bits / 8 else { throw failure(source, path, "unexpected TIFF scanline size") }
        var row = [UInt8](repeating: 0, count: rowBytes)
        var samples = [UInt16]()
        samples.reserveCapacity(width * height * channels)
        for y in 0..<height {
            guard TIFFReadScanline(tiff, &row, UInt32(y), 0) >= 0 else {
                throw failure(source, path, "truncated or corrupt TIFF data at row \(y)")
            }
            row.withUnsafeBytes { raw in
                for i in 0..<(width * channels) {
                    samples.append(bits == 8 ? UInt16(raw[i]) : raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                }
            }
        }
        return try Image(width: width, height: height, channels: channels, bitDepth: bits, samples: samples)
    }

    private static func readRGBA(_ tiff: OpaquePointer, _ source: Source, _ path: String, _ width: UInt32, _ height: UInt32)
        throws(ImageError) -> Image
    {
        var raster = [UInt32](repeating: 0, count: Int(width) * Int(height))
        // stop_on_error = 1: a missing strip is an error, not a blank band.
        guard TIFFReadRGBAImageOriented(tiff, width, height, &raster, Int32(ORIENTATION_TOPLEFT), 1) != 0,
            source.error == nil
        else { throw failure(source, path, "cannot decode TIFF (unsupported layout, truncated or corrupt data)") }
        // libtiff packs each pixel as ABGR: red in the lowest byte.
        var samples = [UInt16]()
        samples.reserveCapacity(raster.count * 4)
        for pixel in raster {
            samples += [UInt16(pixel & 0xFF), UInt16(pixel >> 8 & 0xFF), UInt16(pixel >> 16 & 0xFF), UInt16(pixel >> 24)]
        }
        return try Image(width: Int(width), height: Int(height), channels: 4, samples: samples)
    }

    /// `TIFFGetField` for one value; false when the tag is absent.
    private static func field<T>(_ tiff: OpaquePointer, _ tag: Int32, _ value: inout T) -> Bool {
        withUnsafeMutablePointer(to: &value) { withVaList([OpaquePointer($0)]) { TIFFVGetField(tiff, UInt32(tag), $0) } } != 0
    }

    /// `TIFFGetFieldDefaulted` for one value.
    private static func defaultedField<T>(_ tiff: OpaquePointer, _ tag: Int32, _ value: inout T) -> Bool {
        withUnsafeMutablePointer(to: &value) {
            withVaList([OpaquePointer($0)]) { TIFFVGetFieldDefaulted(tiff, UInt32(tag), $0) }
        } != 0
    }

    // MARK: - libtiff's client procedures over `Source`

    private static func source(_ handle: thandle_t?) -> Source { Unmanaged<Source>.fromOpaque(handle!).takeUnretainedValue() }

    private static let readProc: TIFFReadWriteProc = { handle, buffer, size in
        let source = TIFFDecoder.source(handle)
        let count = max(0, min(Int(size), source.bytes.count - source.position))
        if count > 0, let buffer {
            source.bytes.withUnsafeBytes { raw in
                buffer.copyMemory(from: raw.baseAddress! + source.position, byteCount: count)
            }
        }
        source.position += count
        return tmsize_t(count)
    }

    private static let writeProc: TIFFReadWriteProc = { _, _, _ in 0 }

    private static let seekProc: TIFFSeekProc = { handle, offset, whence in
        let source = TIFFDecoder.source(handle)
        let base = switch whence {
        case SEEK_CUR: source.position
        case SEEK_END: source.bytes.count
        default: 0
        }
        // Offsets are unsigned; a "negative" one arrives as a huge value and wraps back.
        let (position, overflow) = base.addingReportingOverflow(Int(truncatingIfNeeded: offset))
        guard !overflow, position >= 0 else { return toff_t.max }
        source.position = position
        return toff_t(position)
    }

    private static let closeProc: TIFFCloseProc = { _ in 0 }
    private static let sizeProc: TIFFSizeProc = { handle in toff_t(TIFFDecoder.source(handle).bytes.count) }
    private static let mapProc: TIFFMapFileProc = { _, _, _ in 0 }
    private static let unmapProc: TIFFUnmapFileProc = { _, _, _ in }
}

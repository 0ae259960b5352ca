import CImageCodecs

/// TIFF decoding through libtiff. Gray and RGB(A) images with 8 or 16 bits per sample are read scanline by
/// scanline at their own bit depth; anything else (palette, YCbCr, CMYK, tiles, separate planes, other
/// depths) goes through libtiff's `TIFFReadRGBAImageOriented` and arrives as 8-bit RGBA.
enum TIFFDecoder {
    static func decode(path: String) throws(ImageError) -> Image {
        silenceLibTIFF
        guard let tiff = TIFFOpen(path, "r") else { throw ImageError(path, "cannot open as TIFF") }
        defer { TIFFClose(tiff) }
        var width: UInt32 = 0, height: UInt32 = 0
        var bits: UInt16 = 0, samplesPerPixel: UInt16 = 0, photometric: UInt16 = 0, planar: UInt16 = 0
        guard field(tiff, TIFFTAG_IMAGEWIDTH, &width), field(tiff, TIFFTAG_IMAGELENGTH, &height), width > 0, height > 0
        else { throw ImageError(path, "TIFF without image size") }
        _ = defaultedField(tiff, TIFFTAG_BITSPERSAMPLE, &bits)
        _ = defaultedField(tiff, TIFFTAG_SAMPLESPERPIXEL, &samplesPerPixel)
        _ = field(tiff, TIFFTAG_PHOTOMETRIC, &photometric)
        _ = defaultedField(tiff, TIFFTAG_PLANARCONFIG, &planar)
        let plain = (bits == 8 || bits == 16) && (1...4).contains(samplesPerPixel) && planar == PLANARCONFIG_CONTIG
            && (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_RGB) && TIFFIsTiled(tiff) == 0
        return plain
            ? try readScanlines(tiff, path, Int(width), Int(height), Int(samplesPerPixel), Int(bits))
            : try readRGBA(tiff, path, width, height)
    }

    private static func readScanlines(_ tiff: OpaquePointer, _ path: String, _ width: Int, _ height: Int,
                                      _ channels: Int, _ bits: Int) throws(ImageError) -> Image {
        let rowBytes = Int(TIFFScanlineSize(tiff))
        guard rowBytes >= width * channels * bits / 8 else { throw ImageError(path, "unexpected TIFF scanline size") }
        var row = [UInt8](repeating: 0, count: rowBytes)
        var samples = [UInt16]()
        samples.reserveCapacity(width * height * channels)
        for y in 0..<height {
            guard TIFFReadScanline(tiff, &row, UInt32(y), 0) >= 0 else {
                throw ImageError(path, "corrupt TIFF data at row \(y)")
            }
            row.withUnsafeBytes { raw in
                for i in 0..<(width * channels) {
                    samples.append(bits == 8 ? UInt16(raw[i]) : raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                }
            }
        }
        return try Image(width: width, height: height, channels: channels, bitDepth: bits, samples: samples)
    }

    private static func readRGBA(_ tiff: OpaquePointer, _ path: String, _ width: UInt32, _ height: UInt32)
        throws(ImageError) -> Image
    {
        var raster = [UInt32](repeating: 0, count: Int(width) * Int(height))
        guard TIFFReadRGBAImageOriented(tiff, width, height, &raster, Int32(ORIENTATION_TOPLEFT), 0) != 0 else {
            throw ImageError(path, "cannot decode TIFF (unsupported layout or corrupt data)")
        }
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

    /// libtiff prints warnings and errors to stderr by default; we report our own one-line errors instead.
    private static let silenceLibTIFF: Void = {
        TIFFSetWarningHandler(nil)
        TIFFSetErrorHandler(nil)
    }()
}

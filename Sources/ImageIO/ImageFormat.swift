/// The image file formats read, told apart by their first bytes (never by the file's extension): anything
/// else is refused rather than left to a codec's guess (stb_image would take unknown bytes for TGA).
public enum ImageFormat: String, Sendable, CaseIterable {
    case png = "PNG", jpeg = "JPEG", gif = "GIF", bmp = "BMP", tiff = "TIFF"

    /// The format whose signature `bytes` begin with, or nil.
    public init?(signature bytes: [UInt8]) {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.starts(with: prefix) }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            self = .png
        } else if starts([0xFF, 0xD8, 0xFF]) {
            self = .jpeg
        } else if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) {
            self = .gif
        } else if starts(Array("BM".utf8)) {
            self = .bmp
        } else if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) {
            self = .tiff
        } else {
            return nil
        }
    }

    /// Whether the file's structure is whole: every chunk, segment or block it declares is present, up to
    /// its end marker. stb_image decodes a truncated JPEG, GIF or BMP "successfully", filling what is missing
    /// (a truncated mask then loses its foreground silently); this walk reads only the framing, no pixels.
    /// TIFF is left to libtiff, which reports a missing strip itself.
    public func isComplete(_ bytes: [UInt8]) -> Bool {
        switch self {
        case .png: Self.pngIsComplete(bytes)
        case .jpeg: Self.jpegIsComplete(bytes)
        case .gif: Self.gifIsComplete(bytes)
        case .bmp: Self.bmpIsComplete(bytes)
        case .tiff: true
        }
    }

    /// The width and height the header declares, read from the framing alone (PNG's IHDR, GIF's logical screen,
    /// BMP's info header, JPEG's first start-of-frame segment); nil when the header is cut short. TIFF's tags are
    /// libtiff's to read. Used to refuse a file above the pixel limit when stb_image refuses to describe it.
    public func declaredSize(_ b: [UInt8]) -> (width: Int, height: Int)? {
        switch self {
        case .png: return b.count >= 24 ? (Self.bigEndian32(b, 16), Self.bigEndian32(b, 20)) : nil
        case .gif: return b.count >= 10 ? (Self.littleEndian(b, 6, 2), Self.littleEndian(b, 8, 2)) : nil
        case .bmp:
            guard b.count >= 26 else { return nil }
            let height = Int(Int32(truncatingIfNeeded: Self.littleEndian(b, 22, 4)))
            return (Int(Int32(truncatingIfNeeded: Self.littleEndian(b, 18, 4))), height == Int(Int32.min) ? 0 : abs(height))
        case .jpeg:
            var i = 2
            while i + 9 <= b.count, b[i] == 0xFF {
                let marker = b[i + 1]
                if marker == 0xFF { i += 1; continue }  // fill bytes
                let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
                if (0xC0...0xCF).contains(marker), ![0xC4, 0xC8, 0xCC].contains(marker) {
                    return (Int(b[i + 7]) << 8 | Int(b[i + 8]), Int(b[i + 5]) << 8 | Int(b[i + 6]))
                }
                i += 2 + length
            }
            return nil
        case .tiff: return nil
        }
    }

    // MARK: - Structure walks

    private static func bigEndian32(_ b: [UInt8], _ i: Int) -> Int {
        Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
    }

    private static func littleEndian(_ b: [UInt8], _ i: Int, _ width: Int) -> Int {
        (0..<width).reduce(0) { $0 | Int(b[i + $1]) << (8 * $1) }
    }

    /// Chunks (length, type, data, CRC) from byte 8 up to IEND.
    private static func pngIsComplete(_ b: [UInt8]) -> Bool {
        var i = 8
        while i + 8 <= b.count {
            let length = bigEndian32(b, i)
            let type = b[(i + 4)..<(i + 8)]
            guard length <= Int(Int32.max), length + 12 <= b.count - i else { return false }
            if type.elementsEqual("IEND".utf8) { return true }
            i += length + 12
        }
        return false
    }

    /// Marker segments, then each scan's entropy-coded data, up to the end-of-image marker (FF D9). In coded
    /// data a 0xFF is always followed by 0x00 (stuffing) or a restart marker, so the next other marker ends it.
    private static func jpegIsComplete(_ b: [UInt8]) -> Bool {
        var i = 2
        while i + 1 < b.count {
            guard b[i] == 0xFF else { return false }
            let marker = b[i + 1]
            if marker == 0xFF {  // fill byte
                i += 1
                continue
            }
            if marker == 0xD9 { return true }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {
                i += 2
                continue
            }
            guard i + 3 < b.count else { return false }
            let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard length >= 2, length <= b.count - i - 2 else { return false }
            i += 2 + length
            guard marker == 0xDA else { continue }
            // Entropy-coded data of the scan.
            while i + 1 < b.count {
                if b[i] == 0xFF {
                    let next = b[i + 1]
                    if next == 0x00 || (0xD0...0xD7).contains(next) {
                        i += 2
                        continue
                    }
                    if next != 0xFF { break }
                }
                i += 1
            }
        }
        return false
    }

    /// Header, colour tables, extension blocks and the first image's data sub-blocks (the frame stb decodes).
    private static func gifIsComplete(_ b: [UInt8]) -> Bool {
        guard b.count >= 13 else { return false }
        var i = 13
        if b[10] & 0x80 != 0 { i += 3 << (Int(b[10] & 7) + 1) }
        /// Skips data sub-blocks up to their terminator; false when the file ends first.
        func subBlocks() -> Bool {
            while i < b.count {
                let size = Int(b[i])
                i += 1
                if size == 0 { return true }
                i += size
            }
            return false
        }
        while i < b.count {
            switch b[i] {
            case 0x21:  // extension: label, then sub-blocks
                i += 2
                guard subBlocks() else { return false }
            case 0x2C:  // image descriptor, optional local colour table, LZW code size, data
                guard i + 10 <= b.count else { return false }
                let packed = b[i + 9]
                i += 10
                if packed & 0x80 != 0 { i += 3 << (Int(packed & 7) + 1) }
                i += 1
                return subBlocks()
            default:
                return false  // the trailer before any image, or garbage
            }
        }
        return false
    }

    /// The pixel array that the headers declare (uncompressed and bit-field BMPs) lies inside the file.
    private static func bmpIsComplete(_ b: [UInt8]) -> Bool {
        guard b.count >= 26 else { return false }
        let dataOffset = littleEndian(b, 10, 4)
        let headerSize = littleEndian(b, 14, 4)
        let (width, height, bits, compression): (Int, Int, Int, Int)
        if headerSize == 12 {
            (width, height, bits, compression) = (littleEndian(b, 18, 2), littleEndian(b, 20, 2), littleEndian(b, 24, 2), 0)
        } else {
            guard b.count >= 34 else { return false }
            width = Int(Int32(truncatingIfNeeded: littleEndian(b, 18, 4)))
            height = Int(Int32(truncatingIfNeeded: littleEndian(b, 22, 4)))
            (bits, compression) = (littleEndian(b, 28, 2), littleEndian(b, 30, 4))
        }
        guard [0, 3, 6].contains(compression) else { return true }  // RLE and the rest: stb refuses them itself
        let rowBytes = (bits * abs(width) + 31) / 32 * 4
        let (pixels, overflow) = rowBytes.multipliedReportingOverflow(by: abs(height))
        return !overflow && dataOffset <= b.count && pixels <= b.count - dataOffset
    }
}

import Foundation
import ImageIO
import TestSupport
import Testing

/// Image files that declare absurd sizes, are cut short, or are not images at all: each is refused with one
/// line naming it, before any large allocation.
@Suite("Hostile images")
struct HostileImageTests {
    static let fixtures = URL(fileURLWithPath: Fixture.path("images"))

    func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent(name)))
    }

    func failure(_ bytes: [UInt8], _ name: String) throws -> String {
        let error = #expect(throws: ImageError.self, "\(name)") { try ImageReader.decode(bytes, path: name) }
        let text = try #require(error).description
        #expect(text.hasPrefix(name + ": ") && !text.contains("\n"), "\(text)")
        return text
    }

    /// A little-endian TIFF of `width` x `height` 8-bit gray pixels whose one strip holds 4 bytes.
    static func tiff(width: UInt32, height: UInt32) -> [UInt8] {
        func le(_ v: UInt32, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
        let tags: [(UInt16, UInt16, UInt32)] = [(256, 4, width), (257, 4, height), (258, 3, 8), (259, 3, 1), (262, 3, 1),
                                                (273, 4, 122), (278, 4, height), (279, 4, 4)]
        var out: [UInt8] = [0x49, 0x49, 0x2A, 0x00] + le(8, 4) + le(UInt32(tags.count), 2)
        for (tag, type, value) in tags { out += le(UInt32(tag), 2) + le(UInt32(type), 2) + le(1, 4) + le(value, 4) }
        out += le(0, 4)
        return out + [1, 2, 3, 4]
    }

    @Test("a 130-byte TIFF declaring 200000x200000 pixels is refused from its tags, before decoding")
    func tiffBomb() throws {
        let bytes = Self.tiff(width: 200_000, height: 200_000)
        #expect(bytes.count < 150)
        #expect(try failure(bytes, "bomb.tif").contains("200000x200000 pixels, above the limit of 89478485"))
    }

    @Test("a PNG whose header declares 20000x20000 is refused before its pixels are inflated")
    func pngBomb() throws {
        var png = try bytes("gray8.png")
        // IHDR's width and height sit at bytes 16-23; the CRC is not checked before the size.
        png.replaceSubrange(16..<24, with: [0, 0, 0x4E, 0x20, 0, 0, 0x4E, 0x20])
        #expect(try failure(png, "bomb.png").contains("20000x20000 pixels"))
        let error = #expect(throws: ImageError.self) { try ImageReader.decode(png, path: "bomb.png") }
        #expect(error?.isAbovePixelLimit == true)
    }

    @Test("a PNG declaring more bytes than stb_image decodes (65535x65535) is refused as above the pixel limit")
    func pngBeyondSTB() throws {
        var png = try bytes("gray8.png")
        png.replaceSubrange(16..<24, with: [0, 0, 0xFF, 0xFF, 0, 0, 0xFF, 0xFF])
        #expect(try failure(png, "huge.png").contains("65535x65535 pixels, above the limit"))
        let error = #expect(throws: ImageError.self) { try ImageReader.decode(png, path: "huge.png") }
        #expect(error?.isAbovePixelLimit == true)
        let garbage = #expect(throws: ImageError.self) { try ImageReader.decode(Array(png.prefix(12)), path: "cut.png") }
        #expect(garbage?.isAbovePixelLimit == false)
    }

    @Test("files cut short are refused in every format, not decoded with their ends filled in",
          arguments: ["rgb.png", "rgb.jpg", "mask.gif", "rgb.bmp", "rgb_lzw.tif", "gray16.tif", "palette.tif"])
    func truncated(name: String) throws {
        let whole = try bytes(name)
        #expect(throws: Never.self) { try ImageReader.decode(whole, path: name) }
        for keep in [whole.count * 2 / 3, whole.count - 2] {
            let text = try failure(Array(whole.prefix(keep)), name)
            #expect(text.contains("truncated") || text.contains("corrupt") || text.contains("cannot decode"), "\(text)")
        }
    }

    @Test("Carvana's GIF mask cut at 60% is refused (it decoded with most of its foreground gone)",
          .enabled(if: SharedData.isAvailable, SharedData.skipReason))
    func truncatedCarvanaMask() throws {
        let whole = [UInt8](try Data(contentsOf: URL(fileURLWithPath:
            SharedData.path("data/carvana-sample/masks/0cdf5b5d0ce1_01_mask.gif"))))
        #expect(try failure(Array(whole.prefix(whole.count * 6 / 10)), "mask.gif").contains("truncated GIF file"))
    }

    @Test("bytes that are no supported format are refused, not guessed at (stb would read them as TGA)")
    func unknownFormat() throws {
        let tga: [UInt8] = [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 4, 0, 24, 0] + [UInt8](repeating: 9, count: 48)
        #expect(try failure(tga, "x.tga").contains("not a PNG, JPEG, GIF, BMP or TIFF image"))
        #expect(try failure([], "empty.png").contains("empty file"))
    }

    @Test("a device or a folder is refused without reading it (/dev/zero would never end)")
    func notRegularFiles() throws {
        for path in ["/dev/zero", "/tmp"] {
            let error = #expect(throws: ImageError.self) { try ImageReader.read(path: path) }
            #expect(try #require(error).description.hasPrefix(path + ": "))
        }
    }
}

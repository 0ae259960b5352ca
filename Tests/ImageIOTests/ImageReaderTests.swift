import Checkpoints
import Foundation
import ImageIO
import TestSupport
import Testing

@Suite("Image decoding (stb, libtiff)")
struct ImageReaderTests {
    static let fixtures = URL(fileURLWithPath: Fixture.path("images"))
    let expected: SafeTensorsFile

    init() throws {
        expected = try SafeTensorsFile.read(path: Fixture.path("images/expected.safetensors"))
    }

    @Test("each format decodes to the exact samples, channels and bit depth",
          arguments: ["gray8.png", "gray16.png", "rgb.png", "rgba.png", "palette.png", "mask.gif", "rgb.bmp",
                      "rgb_lzw.tif", "gray16.tif", "palette.tif"])
    func exactFormats(name: String) throws {
        let image = try ImageReader.read(path: Self.fixtures.appendingPathComponent(name).path)
        let expected = try #require(expected[name])
        #expect([image.height, image.width, image.channels] == expected.shape)
        #expect(image.bitDepth == (name.contains("16") ? 16 : 8))
        let values = expected.floatTensor().scalars.map { UInt16($0) }
        #expect(image.samples == values)
    }

    @Test("JPEG decodes within a few levels of libjpeg's output")
    func jpeg() throws {
        let image = try ImageReader.read(path: Self.fixtures.appendingPathComponent("rgb.jpg").path)
        let expected = try #require(expected["rgb.jpg"]).floatTensor().scalars
        #expect(image.channels == 3 && image.width == 13 && image.height == 7)
        let worst = zip(image.samples, expected).map { abs(Float($0) - $1) }.max()!
        #expect(worst <= 8, "largest difference \(worst)")
    }

    @Test("a missing or corrupt file gives an error naming it")
    func errors() throws {
        let missing = #expect(throws: ImageError.self) { try ImageReader.read(path: "/nonexistent/x.png") }
        #expect(try #require(missing).description.contains("/nonexistent/x.png"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-image-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, bytes) in [("junk.png", [UInt8](repeating: 7, count: 100)), ("empty.png", []),
                              ("bad.tif", [0x49, 0x49, 0x2A, 0x00, 1, 2, 3])] {
            let path = folder.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            let error = #expect(throws: ImageError.self) { try ImageReader.read(path: path) }
            #expect(try #require(error).description.hasPrefix(path))
        }
        // A truncated PNG.
        let png = try Data(contentsOf: Self.fixtures.appendingPathComponent("rgb.png"))
        let truncated = folder.appendingPathComponent("truncated.png").path
        FileManager.default.createFile(atPath: truncated, contents: png.prefix(png.count / 2))
        #expect(throws: ImageError.self) { try ImageReader.read(path: truncated) }
    }

    @Test("ISBI 2012 membranes: 512x512 8-bit gray images and 0/255 labels",
          .enabled(if: SharedData.isAvailable, SharedData.skipReason))
    func isbi() throws {
        let image = try ImageReader.read(path: SharedData.path("data/isbi2012-membrane/train/image/0.png"))
        #expect(image.width == 512 && image.height == 512 && image.channels == 1 && image.bitDepth == 8)
        let label = try ImageReader.read(path: SharedData.path("data/isbi2012-membrane/train/label/0.png"))
        #expect(Set(label.samples).isSubset(of: [0, 255]))
    }

    @Test("Carvana: 1918x1280 JPEG photos and palette GIF masks",
          .enabled(if: SharedData.isAvailable, SharedData.skipReason))
    func carvana() throws {
        let photo = try ImageReader.read(path: SharedData.path("data/carvana-sample/imgs/0cdf5b5d0ce1_01.jpg"))
        #expect(photo.width == 1918 && photo.height == 1280 && photo.channels == 3)
        let mask = try ImageReader.read(path: SharedData.path("data/carvana-sample/masks/0cdf5b5d0ce1_01_mask.gif"))
        #expect(mask.width == 1918 && mask.height == 1280)
        #expect(Set(mask.samples).count <= 3)  // palette expanded: a few colours (black, white, opaque alpha)
    }
}

/// Valid files in the variants real datasets hold (scripts/make_image_variants.py): the truncation checks and
/// decoders accept every one, with Pillow's pixels.
@Suite("Image variants against Pillow")
struct ImageVariantTests {
    static let names = ["progressive.jpg", "exif.jpg", "gray.jpg", "animated.gif", "bits.gif", "bits.bmp", "palette8.bmp",
                        "gray.bmp", "rgba.bmp", "raw.tif", "deflate.tif", "packbits.tif", "jpeg.tif", "pages.tif",
                        "gray16.png", "optimized.png"]

    @Test("each variant decodes to Pillow's pixels (JPEGs within a few levels)", arguments: names)
    func variant(name: String) throws {
        let path = Fixture.path("images/variants/" + name)
        let image = try ImageReader.read(path: path)
        let expected = try NumpyArray.read(path: path + ".npy")
        #expect(expected.shape[0] == image.height && expected.shape[1] == image.width)
        // Pillow's pixels are RGBA (or one 16-bit channel); expand ours the same way.
        let wide = expected.shape[2] == 4
        var found: [Float] = []
        for pixel in 0..<(image.width * image.height) {
            let s = (0..<image.channels).map { Float(image.samples[pixel * image.channels + $0]) }
            guard wide else { found.append(s[0]); continue }
            switch image.channels {
            case 1: found += [s[0], s[0], s[0], 255]
            case 2: found += [s[0], s[0], s[0], s[1]]
            case 3: found += s + [255]
            default: found += s
            }
        }
        let tolerance: Float = name.hasSuffix(".jpg") || name == "jpeg.tif" ? 12 : 0
        let worst = zip(found, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        #expect(found.count == expected.count && worst <= tolerance, "\(name): largest difference \(worst)")
    }
}

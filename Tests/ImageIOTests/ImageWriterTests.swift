import Foundation
import ImageIO
import Testing

@Suite("PNG encoding")
struct ImageWriterTests {
    @Test("PNG round trip is lossless for 1 to 4 channels", arguments: [1, 2, 3, 4])
    func roundTrip(channels: Int) throws {
        let (w, h) = (11, 5)
        let samples = (0..<(w * h * channels)).map { UInt16(($0 * 37) % 256) }
        let image = try Image(width: w, height: h, channels: channels, samples: samples)
        let decoded = try ImageReader.decode(try ImageWriter.encodePNG(image), path: "memory")
        #expect(decoded == image)
    }

    @Test("writes atomically and reports an unwritable folder by name")
    func writeFile() throws {
        let image = try Image(width: 2, height: 2, channels: 1, samples: [0, 64, 128, 255])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-png-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("out.png").path
        try ImageWriter.writePNG(image, to: path)
        #expect(try ImageReader.read(path: path) == image)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
        let error = #expect(throws: ImageError.self) { try ImageWriter.writePNG(image, to: "/nonexistent/dir/out.png") }
        #expect(try #require(error).description.contains("/nonexistent/dir/out.png"))
        let deep = try Image(width: 1, height: 1, channels: 1, bitDepth: 16, samples: [1000])
        #expect(throws: ImageError.self) { try ImageWriter.encodePNG(deep) }
    }

    @Test("invalid images are refused at construction")
    func invalid() {
        #expect(throws: ImageError.self) { try Image(width: 2, height: 2, channels: 1, samples: [1, 2, 3]) }
        #expect(throws: ImageError.self) { try Image(width: 1, height: 1, channels: 5, samples: [1, 2, 3, 4, 5]) }
        #expect(throws: ImageError.self) { try Image(width: 1, height: 1, channels: 1, samples: [300]) }
    }
}

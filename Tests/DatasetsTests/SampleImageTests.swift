import Datasets
import ImageIO
import Testing

@Suite("SampleImage: an image's channels as the model takes them")
struct SampleImageTests {
    /// Two pixels of `channels` samples: pixel p's channel c is `10 · (c + 1) + p`.
    static func image(channels: Int) throws -> Image {
        try Image(width: 2, height: 1, channels: channels, samples: (0..<2).flatMap { p in (0..<channels).map { UInt16(10 * ($0 + 1) + p) } })
    }

    /// The planes (CHW) as 8-bit values.
    static func planes(_ image: Image, _ channels: Int) throws -> [Int] {
        try SampleImage(image, channels: channels, path: "x.png").values.map { Int(($0 * 255).rounded()) }
    }

    @Test("an image of as many channels as the model takes is read as it is: a 2- or 4-channel model's last channel is data, not alpha")
    func sameChannels() throws {
        #expect(try Self.planes(try Self.image(channels: 2), 2) == [10, 11, 20, 21])
        #expect(try Self.planes(try Self.image(channels: 4), 4) == [10, 11, 20, 21, 30, 31, 40, 41])
        #expect(try Self.planes(try Self.image(channels: 3), 3) == [10, 11, 20, 21, 30, 31])
    }

    @Test("otherwise alpha is dropped, gray replicated, RGB reduced to luminance; other counts are refused naming the file")
    func converted() throws {
        #expect(try Self.planes(try Self.image(channels: 2), 1) == [10, 11])
        #expect(try Self.planes(try Self.image(channels: 2), 3) == [10, 11, 10, 11, 10, 11])
        #expect(try Self.planes(try Self.image(channels: 4), 3) == [10, 11, 20, 21, 30, 31])
        #expect(try Self.planes(try Self.image(channels: 1), 4) == [10, 11, 10, 11, 10, 11, 10, 11])
        let gray = try Self.planes(try Self.image(channels: 3), 1)
        let luminance: [Double] = [0.299 * 10 + 0.587 * 20 + 0.114 * 30, 0.299 * 11 + 0.587 * 21 + 0.114 * 31]
        #expect(gray == luminance.map { Int($0.rounded()) })
        let error = #expect(throws: DatasetProblem.self) { try SampleImage(try Self.image(channels: 4), channels: 2, path: "x.png") }
        #expect(error?.description == "x.png: has 3 channels; the model takes 2", "\(String(describing: error))")
    }
}

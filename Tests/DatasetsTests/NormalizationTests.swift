import Datasets
import Foundation
import ImageIO
import Tensors
import TestSupport
import Testing

@Suite("Normalization")
struct NormalizationTests {
    @Test("nnU-Net's z-score: each channel by its own mean and population standard deviation; a flat channel becomes 0")
    func zScore() {
        var image = SampleImage(channels: 2, height: 2, width: 2, values: [1, 2, 3, 4, 5, 5, 5, 5])
        Normalization(mean: [100, 100], std: [1, 1], perImage: true).apply(&image)
        let s = Float(1.25).squareRoot()
        let expected: [Float] = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0, 0, 0, 0]
        for (a, b) in zip(image.values, expected) { #expect(abs(a - b) < 1e-5, "\(image.values)") }
    }

    @Test("mean and std per channel")
    func meanStd() {
        var image = SampleImage(channels: 1, height: 1, width: 2, values: [0.5, 1])
        Normalization(mean: [0.5], std: [0.25]).apply(&image)
        #expect(image.values == [0, 2])
    }

    @Test("clipping comes before mean and std; raw intensities are the file's own values (times 255 or 65535)")
    func clippingAndRaw() {
        var image = SampleImage(channels: 2, height: 1, width: 2, values: [0.1, 0.9, 0.5, 0.7])
        Normalization(mean: [0.2, 0], std: [0.5, 1], lower: [0.2, 0], upper: [0.8, 0.6]).apply(&image)
        #expect(image.values == [0, 1.2, 0.5, 0.6])
        var raw = SampleImage(channels: 1, height: 1, width: 2, values: [0.5, 1], formatMaximum: 65535)
        Normalization(rawIntensities: true).apply(&raw)
        #expect(raw.values == [32767.5, 65535])
        // Resizing keeps the format's maximum.
        #expect(raw.resized(width: 3, height: 1).formatMaximum == 65535)
    }

    @Test("bounds: crossed, alone, non-finite or of the wrong count are named")
    func problems() {
        #expect(Normalization(lower: [0.5], upper: [0.2]).problem(channels: 1)?.contains("lower exceeds upper") == true)
        #expect(Normalization(lower: [0.5]).problem(channels: 1)?.contains("come together") == true)
        #expect(Normalization(lower: [0, 0], upper: [1, 1]).problem(channels: 1)?.contains("lower has 2 values") == true)
        #expect(Normalization(mean: [.nan]).problem(channels: 1)?.contains("mean") == true)
        #expect(Normalization(mean: [0.5], std: [0.2], lower: [0], upper: [1], rawIntensities: true).problem(channels: 1) == nil)
    }

    /// The properties `scripts/make_fixtures.py normalization` wrote into its CT plans (and, for the 16-bit image, its
    /// fixture's metadata).
    struct Properties: Decodable {
        let mean: Float, std: Float, percentile_00_5: Float, percentile_99_5: Float
    }

    static func ctNormalization(_ properties: [String: Properties]) -> Normalization {
        let p = (0..<properties.count).map { properties[String($0)]! }
        return Normalization(mean: p.map(\.mean), std: p.map(\.std), lower: p.map(\.percentile_00_5), upper: p.map(\.percentile_99_5),
                             rawIntensities: true)
    }

    @Test("nnU-Net's CTNormalization and NoNormalization of 8- and 16-bit files match its preprocessing (fixtures)")
    func nnUNetSchemes() throws {
        let fixture = try Fixture("normalization/expected")
        struct Plans: Decodable { let foreground_intensity_properties_per_channel: [String: Properties] }
        let plans = try JSONDecoder().decode(Plans.self, from: Data(contentsOf: URL(fileURLWithPath: Fixture.path("normalization/plans_ct.json"))))
        let gray = try JSONDecoder().decode([String: Properties].self, from: Data(try fixture.string("gray16").utf8))
        for (file, channels, normalization, key) in [
            ("rgb8.png", 3, Self.ctNormalization(plans.foreground_intensity_properties_per_channel), "ct_rgb8.input"),
            ("rgb8.png", 3, Normalization(rawIntensities: true), "none_rgb8.input"),
            ("gray16.png", 1, Self.ctNormalization(gray), "ct_gray16.input"),
        ] {
            let path = Fixture.path("normalization/" + file)
            var image = try SampleImage(try ImageReader.read(path: path), channels: channels, path: path)
            normalization.apply(&image)
            let actual = try Tensor(shape: [image.channels, image.height, image.width], scalars: image.values)
            if let failure = closenessFailure(actual, try fixture.tensor(key), rtol: 1e-5, atol: 1e-4) { Issue.record("\(key): \(failure)") }
        }
    }
}

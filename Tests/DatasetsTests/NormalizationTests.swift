import Datasets
import Tensors
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
}

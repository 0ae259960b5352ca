import ImageIO
import Inference
import Models
import Tensors
import TestSupport
import Testing
import Workflows

/// `ImageSegmenter.Preprocessing.cropToNonzero`: nnU-Net's crop to the box of the nonzero pixels, for any model.
@Suite("Crop to the nonzero region")
struct NonzeroCropTests {
    /// A 3-channel picture of `height` x `width` whose pixels are all nonzero.
    func picture(height: Int, width: Int, seed: Int) throws -> Image {
        try Image(width: width, height: height, channels: 3, samples: (0..<(height * width * 3)).map { UInt16(1 + ($0 * 37 + seed) % 255) })
    }

    /// `inner` inside zero margins (`top`, `left` and one more pixel below and to the right).
    func framed(_ inner: Image, top: Int, left: Int) throws -> Image {
        let (width, height) = (inner.width + left + 1, inner.height + top + 1)
        var samples = [UInt16](repeating: 0, count: width * height * 3)
        for y in 0..<inner.height {
            for x in 0..<inner.width {
                for c in 0..<3 { samples[((y + top) * width + x + left) * 3 + c] = inner[x, y, c] }
            }
        }
        return try Image(width: width, height: height, channels: 3, samples: samples)
    }

    @Test("a one-class model: the box is segmented as if alone, the margins are class 0 with sigmoid 0; batches and blank images are unchanged")
    func oneClass() throws {
        var g = SeededGenerator(seed: 11)
        let model = try UNet(UNetConfiguration.milesial(inputChannels: 3, classes: 1, baseWidth: 4, depth: 3), generator: &g)
        var cropping = ImageSegmenter.Preprocessing()
        cropping.normalization = Normalization(perImage: true)
        let plain = cropping
        cropping.cropToNonzero = true
        let cropped = try ImageSegmenter(model: model, options: PredictionOptions(), preprocessing: cropping, threshold: 0.5)
        let whole = try ImageSegmenter(model: model, options: PredictionOptions(), preprocessing: plain, threshold: 0.5)

        let inner = try picture(height: 16, width: 24, seed: 3)
        let image = try framed(inner, top: 2, left: 3)
        let result = try cropped.segment(image, path: "framed", probabilities: true)
        let alone = try whole.segment(inner, path: "inner", probabilities: true)
        let p = try #require(result.probabilities)
        let q = try #require(alone.probabilities)
        #expect(p.shape == [1, image.height, image.width])
        for y in 0..<image.height {
            for x in 0..<image.width {
                let inside = (2..<18).contains(y) && (3..<27).contains(x)
                let expected = inside ? q.scalars[(y - 2) * inner.width + x - 3] : 0
                let label = inside ? alone.classes[(y - 2) * inner.width + x - 3] : 0
                #expect(p.scalars[y * image.width + x] == expected && result.classes[y * image.width + x] == label, "(\(x), \(y))")
            }
        }
        // The same image through the plain segmenter differs: the margins change the z-score and the network's view.
        let uncropped = try whole.segment(image, path: "framed", probabilities: true)
        #expect(uncropped.probabilities != p)

        // A batch of a framed and an unframed image of one size: each as segmented alone.
        let full = try picture(height: image.height, width: image.width, seed: 5)
        let batch = try cropped.segment([image, full], paths: ["framed", "full"], probabilities: true)
        let fullAlone = try whole.segment(full, path: "full", probabilities: true)
        #expect(batch[0].probabilities == p && batch[1].probabilities == fullAlone.probabilities)

        // A blank image has no box: it is segmented whole.
        let blank = try Image(width: 20, height: 12, channels: 3, samples: [UInt16](repeating: 0, count: 20 * 12 * 3))
        let (blankCropped, blankWhole) = (try cropped.segment(blank, path: "blank", probabilities: true),
                                          try whole.segment(blank, path: "blank", probabilities: true))
        #expect(blankCropped.probabilities == blankWhole.probabilities)
    }
}

import Datasets
import Foundation
import ImageIO
import Planning
import TestSupport
import Testing

@Suite("Dataset fingerprint")
struct DatasetFingerprintTests {
    @Test("gray discs: one channel measured, one region per image, sizes and shares as drawn")
    func discs() throws {
        let folder = try SyntheticData.temporaryFolder("unet-fingerprint")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 40)
        let dataset = try SegmentationDataset.open(SampleDiscovery.pairFolders(images: images, masks: masks).pairs,
                                                   options: DatasetOptions(inputChannels: 3))
        let f = try DatasetFingerprint.measure(dataset)
        #expect(f.images == 6 && f.sourceChannels == 1 && f.channels.count == 1)
        #expect(f.medianSize == [40, 40] && f.minimumSize == [40, 40] && f.maximumSize == [40, 40])
        #expect(f.classes.count == 2 && f.ignoredShare == 0)
        let disc = f.classes[1]
        #expect(disc.maskValue == [255] && disc.regions == 6)
        // Radii are 15-30% of the side (6-12 px): discs of area πr².
        #expect(disc.medianSize >= (Double.pi * 36).squareRoot() && disc.medianSize <= (Double.pi * 144).squareRoot())
        #expect(disc.medianThickness > 3 && disc.medianThickness < 13)
        #expect(abs(f.classes.map(\.frequency).reduce(0, +) - 1) < 1e-9)
        #expect(disc.frequency > 0.05 && disc.frequency < 0.5)
        // Pixels: 70 + 90 in the disc + noise of 40, over 255.
        #expect(f.channels[0].mean > 70.0 / 255 && f.channels[0].mean < 160.0 / 255)
        #expect(f.channels[0].percentile0_5 < f.channels[0].mean && f.channels[0].mean < f.channels[0].percentile99_5)
    }

    /// The fingerprint of `pairs` (an image and its mask each) written as PNGs into a temporary folder, read with
    /// `channels` input channels.
    func fingerprint(_ pairs: [(image: Image, mask: Image)], channels: Int) throws -> DatasetFingerprint {
        let folder = try SyntheticData.temporaryFolder("unet-fingerprint")
        defer { try? FileManager.default.removeItem(at: folder) }
        for sub in ["images", "masks"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        for (i, pair) in pairs.enumerated() {
            try ImageWriter.writePNG(pair.image, to: folder.appendingPathComponent("images/\(i).png").path)
            try ImageWriter.writePNG(pair.mask, to: folder.appendingPathComponent("masks/\(i).png").path)
        }
        let found = SampleDiscovery.pairFolders(images: folder.appendingPathComponent("images").path,
                                                masks: folder.appendingPathComponent("masks").path).pairs
        return try DatasetFingerprint.measure(try SegmentationDataset.open(found, options: DatasetOptions(inputChannels: channels)))
    }

    @Test("a class drawn in the top third only is upright; the image's own channel count is kept for colour")
    func upright() throws {
        let f = try fingerprint(try (0..<3).map { i in
            let pixels = (0..<(30 * 30 * 3)).map { UInt16(($0 * 7 + i) % 256) }
            let labels = (0..<(30 * 30)).map { $0 / 30 < 8 ? UInt16(255) : 0 }
            return (try Image(width: 30, height: 30, channels: 3, samples: pixels), try Image(width: 30, height: 30, channels: 1, samples: labels))
        }, channels: 3)
        #expect(f.sourceChannels == 3 && f.channels.count == 3)
        #expect(f.classes[1].topShare == 1 && f.classes[1].bottomShare == 0 && f.classes[1].isUpright)
        #expect(f.isUpright)
        // The band is 8 rows of 30: thickness 2 · 240 / 30 boundary pixels.
        #expect(abs(f.classes[1].medianThickness - 16) < 1e-9)
    }

    @Test("hot pixels: the extremes lie far outside the 0.5-99.5th percentiles, which clipping keeps with the foreground's")
    func outliers() throws {
        // A dim background (10-39), a brighter square (60-89) as the foreground, and 0.2% of the pixels at 255.
        let side = 50
        let inside = { (p: Int) in (10..<30).contains(p / side) && (10..<30).contains(p % side) }
        let c = try fingerprint(try (0..<2).map { i in
            let pixels = (0..<(side * side)).map { p -> UInt16 in
                if (p * 37 + i) % 500 == 0 { return 255 }
                return UInt16((inside(p) ? 60 : 10) + (p * 7919 + i) % 30)
            }
            return (try Image(width: side, height: side, channels: 1, samples: pixels),
                    try Image(width: side, height: side, channels: 1, samples: (0..<(side * side)).map { inside($0) ? 255 : 0 }))
        }, channels: 1).channels[0]
        #expect(c.maximum == 1 && c.minimum >= 10.0 / 255 && c.minimum < 12.0 / 255, "\(c)")
        #expect(c.percentile99_5 < 90.0 / 255 && c.percentile0_5 < 12.0 / 255, "\(c)")
        // The foreground's percentiles lie inside the square's values, and clipping keeps them.
        let (lo, hi) = (try #require(c.foreground0_5), try #require(c.foreground99_5))
        #expect(lo > 59.0 / 255 && hi < 90.0 / 255 && c.clippingRange.contains(lo) && c.clippingRange.contains(hi), "\(c)")
        #expect(c.hasOutliers)
        // The clipped values' spread and mean lose the hot pixels' pull.
        let (mean, std) = (try #require(c.clippedMean), try #require(c.clippedStd))
        #expect(std < 0.95 * c.std && mean < c.mean, "\(c)")
    }
}

import Datasets
import Foundation
import ImageIO
import TestSupport
import Testing

@Suite("Datasets: pairing, class tables, problems")
struct SegmentationDatasetTests {
    @Test("folders pair by stem and suffix; the milesial table maps sorted values to classes")
    func pairing() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4)
        for i in 0..<4 {  // rename masks to Carvana style
            try FileManager.default.moveItem(atPath: "\(masks)/\(i).png", toPath: "\(masks)/\(i)_mask.png")
        }
        #expect(SampleDiscovery.pairFolders(images: images, masks: masks).pairs.isEmpty)
        // Left out (nil), the suffix is found from the names: the one pairing most images, none on a tie.
        let found = SampleDiscovery.pairFolders(images: images, masks: masks, maskSuffix: nil)
        #expect(found.suffixes.mask == "_mask" && found.pairs.count == 4 && found.problems.isEmpty)
        #expect(SampleDiscovery.pairFolders(images: images, masks: images, maskSuffix: nil).suffixes.mask == "")
        let none = SampleDiscovery.pairFolders(images: images, masks: folder.appendingPathComponent("none").path, maskSuffix: nil)
        #expect(none.suffixes.mask == "" && none.problems.contains { $0.description.contains("no such folder") })
        try FileManager.default.copyItem(atPath: masks, toPath: folder.appendingPathComponent("regions").path)
        try FileManager.default.moveItem(atPath: "\(masks)/3_mask.png", toPath: "\(masks)/3.png")  // 3 of 4 add _mask
        let mixed = SampleDiscovery.pairFolders(images: images, masks: masks, maskSuffix: nil,
                                                regions: folder.appendingPathComponent("regions").path, regionSuffix: nil)
        #expect(mixed.suffixes == ("_mask", "_mask") && mixed.pairs.count == 3, "\(mixed.problems)")
        #expect(mixed.problems.map(\.description).joined().contains("3.png: no mask 3_mask.*"), "\(mixed.problems)")
        try FileManager.default.moveItem(atPath: "\(masks)/3.png", toPath: "\(masks)/3_mask.png")
        let (pairs, problems, _) = SampleDiscovery.pairFolders(images: images, masks: masks, maskSuffix: "_mask")
        #expect(problems.isEmpty && pairs.count == 4)
        #expect(pairs[0].mask.hasSuffix("0_mask.png"))
        let dataset = try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2))
        #expect(dataset.table.values == [[0], [255]])
        #expect(dataset.isCached)
        let (image, mask) = try dataset.sample(0)
        #expect(image.channels == 1 && image.width == 32 && mask.classes.count == 32 * 32)
        #expect(Set(mask.classes) == [0, 1])
        #expect(dataset.report.classPixels.reduce(0, +) == 4 * 32 * 32)
        // Gray images to a 3-channel model are replicated.
        let rgb = try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 3, classes: 2))
        let (three, _) = try rgb.sample(0)
        #expect(three.channels == 3 && Array(three.values[0..<1024]) == Array(three.values[1024..<2048]))
    }

    @Test("every problem is reported at once, each naming its file")
    func problems() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 4)
        try FileManager.default.removeItem(atPath: "\(masks)/1.png")                       // image without a mask
        try Data("not an image".utf8).write(to: URL(fileURLWithPath: "\(images)/2.png"))  // unreadable image
        try ImageWriter.writePNG(try Image(width: 8, height: 8, channels: 1, samples: [UInt16](repeating: 0, count: 64)),
                                 to: "\(masks)/3.png")                                     // size mismatch
        let (pairs, pairProblems, _) = SampleDiscovery.pairFolders(images: images, masks: masks)
        let error = #expect(throws: DatasetProblems.self) {
            try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2), problems: pairProblems)
        }
        let text = try #require(error).description
        #expect(text.contains("1.png: no mask"))
        #expect(text.contains("2.png: not a PNG, JPEG, GIF, BMP or TIFF image"))
        #expect(text.contains("3.png: mask is 8x8"))
    }

    @Test("a mask value outside a given table, and a class count that contradicts --classes, are problems")
    func tableProblems() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 2, maskValues: (0, 128))
        let (pairs, _, _) = SampleDiscovery.pairFolders(images: images, masks: masks)
        let outside = #expect(throws: DatasetProblems.self) {
            try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classTable: try ClassTable(values: [[0], [255]])))
        }
        #expect(try #require(outside).description.contains("mask values [128] are not in the class table"))
        let count = #expect(throws: DatasetProblems.self) {
            try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 3))
        }
        #expect(try #require(count).description.contains("the model has 3 classes"))
    }

    @Test("an all-black mask set is called out: it would train to a constant")
    func singleValue() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 2, maskValues: (0, 0))
        let (pairs, _, _) = SampleDiscovery.pairFolders(images: images, masks: masks)
        let error = #expect(throws: DatasetProblems.self) {
            try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2))
        }
        #expect(try #require(error).description.contains("all-black"))
    }

    @Test("the ignore value and region-of-interest masks exclude pixels")
    func ignored() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 2)
        let regions = folder.appendingPathComponent("regions").path
        try FileManager.default.createDirectory(atPath: regions, withIntermediateDirectories: true)
        let inside = (0..<1024).map { UInt16($0 < 512 ? 255 : 0) }  // top half only
        for i in 0..<2 {
            try ImageWriter.writePNG(try Image(width: 32, height: 32, channels: 1, samples: inside), to: "\(regions)/\(i).png")
        }
        let (pairs, problems, _) = SampleDiscovery.pairFolders(images: images, masks: masks, regions: regions)
        #expect(problems.isEmpty)
        let dataset = try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2))
        let (_, mask) = try dataset.sample(0)
        #expect(mask.classes[512...].allSatisfy { $0 == SampleMask.ignored })
        #expect(dataset.report.ignoredPixels == 2 * 512)
        // With 255 as the ignore value, the disc pixels count nowhere and only class 0 remains.
        let ignoring = try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, ignoreValue: 255))
        #expect(ignoring.table.values == [[0]])
        let (_, ignoredMask) = try ignoring.sample(0)
        #expect(ignoredMask.classes.contains(SampleMask.ignored) && !ignoredMask.classes.contains(1))
    }

    @Test("colour masks: an all-black mask (decoded as gray) joins the colour table instead of adding a class")
    func colourMasksWithAnEmptyOne() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 2)
        // Mask 0: black with a red square; mask 1: all black (RGB files both).
        var red = [UInt16](repeating: 0, count: 32 * 32 * 3)
        for y in 4..<12 { for x in 4..<12 { red[(y * 32 + x) * 3] = 255 } }
        try ImageWriter.writePNG(try Image(width: 32, height: 32, channels: 3, samples: red), to: "\(masks)/0.png")
        try ImageWriter.writePNG(try Image(width: 32, height: 32, channels: 3, samples: [UInt16](repeating: 0, count: 32 * 32 * 3)),
                                 to: "\(masks)/1.png")
        let (pairs, _, _) = SampleDiscovery.pairFolders(images: images, masks: masks)
        let dataset = try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2))
        #expect(dataset.table.values == [[0, 0, 0], [255, 0, 0]])
        #expect(try dataset.sample(1).mask.classes.allSatisfy { $0 == 0 })
        #expect(try dataset.sample(0).mask.classes.filter { $0 == 1 }.count == 64)
    }
}

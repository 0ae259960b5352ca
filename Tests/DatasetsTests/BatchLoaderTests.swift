import Datasets
import Foundation
import Tensors
import TestSupport
import Testing

@Suite("Augmentation and batches")
struct BatchLoaderTests {
    func dataset() throws -> (SegmentationDataset, URL) {
        let folder = try SyntheticData.temporaryFolder()
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 40)
        let (pairs, _, _) = SampleDiscovery.pairFolders(images: images, masks: masks)
        return (try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2)), folder)
    }

    @Test("geometric augmentation moves image and mask together")
    func geometryConsistent() throws {
        let (data, folder) = try dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        var augmentation = Augmentation()
        (augmentation.crop, augmentation.flips, augmentation.rotate90) = (32, true, true)
        let (image, mask) = try data.sample(0)
        for seed in 0..<8 {
            var g = SeededGenerator(seed: UInt64(seed))
            let (a, m) = augmentation.apply(image, mask, using: &g)
            #expect(a.width == 32 && a.height == 32 && m.classes.count == 32 * 32)
            // The disc is brighter: mean intensity inside the mask exceeds that outside.
            let inside = zip(a.values, m.classes).filter { $0.1 == 1 }.map(\.0)
            let outside = zip(a.values, m.classes).filter { $0.1 == 0 }.map(\.0)
            if !inside.isEmpty, !outside.isEmpty {
                let insideMean: Float = inside.reduce(0, +) / Float(inside.count)
                let outsideMean: Float = outside.reduce(0, +) / Float(outside.count)
                #expect(insideMean > outsideMean + 0.15)
            }
        }
    }

    @Test("foreground crops: with a share of 1 every crop holds the disc, centred as far as the image allows; with 0 some miss it")
    func foregroundCrops() throws {
        let (data, folder) = try dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        var augmentation = Augmentation()
        augmentation.crop = 12
        let (image, mask) = try data.sample(0)
        func crops(_ share: Float) -> [SampleMask] {
            augmentation.foregroundCrops = share
            return (0..<24).map { seed in
                var g = SeededGenerator(seed: UInt64(seed))
                return augmentation.apply(image, mask, using: &g).1
            }
        }
        let centred = crops(1)
        #expect(centred.allSatisfy { $0.classes.contains(1) && $0.classes.count == 144 })
        // The centre pixel is the chosen foreground pixel unless the crop met the image's edge.
        #expect(centred.filter { $0.classes[6 * 12 + 6] == 1 }.count >= 12)
        #expect(crops(0).contains { !$0.classes.contains(1) })
        // An all-background mask falls back to a random crop.
        var g = SeededGenerator(seed: 1)
        let empty = SampleMask(height: mask.height, width: mask.width, classes: [Int32](repeating: 0, count: mask.classes.count))
        augmentation.foregroundCrops = 1
        #expect(augmentation.apply(image, empty, using: &g).1.classes.count == 144)
    }

    @Test("the same seed gives the same batches; resuming mid-epoch gives the remaining ones")
    func deterministic() throws {
        let (data, folder) = try dataset()
        defer { try? FileManager.default.removeItem(at: folder) }
        var augmentation = Augmentation()
        (augmentation.crop, augmentation.flips, augmentation.noise) = (24, true, 0.05)
        func loader() -> BatchLoader {
            BatchLoader(dataset: data, indices: Array(0..<6), batchSize: 2, augmentation: augmentation, shuffle: true,
                        seed: 9, dropLast: true)
        }
        func collect(_ sequence: BatchSequence) throws -> [SegmentationBatch] {
            var batches: [SegmentationBatch] = []
            while let batch = try sequence.next() { batches.append(batch) }
            return batches
        }
        let first = try collect(loader().epoch(1))
        let again = try collect(loader().epoch(1))
        let resumed = try collect(loader().epoch(1, startingAt: 1))
        #expect(first.count == 3)
        #expect(first.map(\.images) == again.map(\.images) && first.map(\.targets) == again.map(\.targets))
        #expect(resumed.map(\.images) == Array(first.dropFirst()).map(\.images))
        #expect(first[0].images.shape == [2, 1, 24, 24])
        #expect(try collect(loader().epoch(2)).map(\.indices) != first.map(\.indices))
    }

    @Test("samples of different sizes in one batch give a clear error")
    func mixedSizes() throws {
        let folder = try SyntheticData.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = try SyntheticData.writeDiscs(to: folder.appendingPathComponent("a"), count: 1, size: 32)
        let b = try SyntheticData.writeDiscs(to: folder.appendingPathComponent("b"), count: 1, size: 40, seed: 2)
        let pairs = [SamplePaths(image: a.images + "/0.png", mask: a.masks + "/0.png"),
                     SamplePaths(image: b.images + "/0.png", mask: b.masks + "/0.png")]
        let data = try SegmentationDataset.open(pairs, options: DatasetOptions(inputChannels: 1, classes: 2))
        let sequence = BatchLoader(dataset: data, indices: [0, 1], batchSize: 2, shuffle: false, seed: 0, dropLast: false).epoch(0)
        let error = #expect(throws: DatasetProblem.self) { try sequence.next() }
        #expect(try #require(error).description.contains("--crop"))
    }
}

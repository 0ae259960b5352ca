import Tensors

/// One training or validation batch.
public struct SegmentationBatch: Sendable {
    /// `(N, C, H, W)`, normalised.
    public let images: Tensor
    /// `N·H·W` class indices, `SampleMask.ignored` where a pixel does not count.
    public let targets: [Int32]
    /// Which dataset samples it holds.
    public let indices: [Int]
}

/// Turns dataset samples into batches: per epoch a seeded shuffle of the sample order, each sample augmented
/// with a generator seeded from (seed, epoch, position), prepared ahead on a background thread. The same seed
/// gives the same batches, and `epoch(_:startingAt:)` resumes mid-epoch exactly.
public final class BatchLoader: @unchecked Sendable {
    public let dataset: SegmentationDataset
    public let indices: [Int]
    public let batchSize: Int
    public let augmentation: Augmentation
    public let normalization: Normalization
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool

    public init(dataset: SegmentationDataset, indices: [Int], batchSize: Int, augmentation: Augmentation = Augmentation(),
                normalization: Normalization = Normalization(), shuffle: Bool, seed: UInt64, dropLast: Bool) {
        self.dataset = dataset
        self.indices = indices
        self.batchSize = batchSize
        self.augmentation = augmentation
        self.normalization = normalization
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast && indices.count >= batchSize
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int {
        dropLast ? indices.count / batchSize : (indices.count + batchSize - 1) / batchSize
    }

    /// The sample order of `epoch`.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return indices }
        var g = SeededGenerator(seed: seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        return indices.shuffled(using: &g)
    }

    /// The batches of `epoch` from batch `start` on, prepared ahead in the background.
    public func epoch(_ epoch: Int, startingAt start: Int = 0) -> BatchSequence {
        let order = self.order(epoch: epoch)
        let (count, size) = (batchesPerEpoch, batchSize)
        let first = min(start, count)
        let prefetcher = Prefetcher<SegmentationBatch>(count: count - first, capacity: 3) { [self] k in
            let b = first + k
            let members = Array(order[(b * size)..<min(order.count, (b + 1) * size)])
            return try makeBatch(members, epoch: epoch, position: b * size)
        }
        return BatchSequence(prefetcher)
    }

    /// Stacks samples into a batch, each augmented with its own generator.
    func makeBatch(_ members: [Int], epoch: Int, position: Int) throws -> SegmentationBatch {
        var images: [SampleImage] = []
        var targets: [Int32] = []
        for (offset, index) in members.enumerated() {
            var (image, mask) = try dataset.sample(index)
            if !augmentation.isIdentity {
                var g = SeededGenerator(seed: seed ^ (UInt64(epoch) << 40) ^ UInt64(position + offset) &* 0x2545_F491_4F6C_DD1D)
                (image, mask) = augmentation.apply(image, mask, using: &g)
            }
            normalization.apply(&image)
            images.append(image)
            targets += mask.classes
        }
        guard let first = images.first, images.allSatisfy({ $0.height == first.height && $0.width == first.width }) else {
            throw DatasetProblem("batch", "samples of different sizes cannot share a batch; use --crop or --batch-size 1")
        }
        let values = images.flatMap(\.values)
        let tensor = try Tensor(shape: [images.count, first.channels, first.height, first.width], scalars: values)
        return SegmentationBatch(images: tensor, targets: targets, indices: members)
    }
}

/// The batches of one epoch, in order.
public struct BatchSequence: Sendable {
    private let prefetcher: Prefetcher<SegmentationBatch>

    init(_ prefetcher: Prefetcher<SegmentationBatch>) { self.prefetcher = prefetcher }

    /// The next batch, or nil at the end of the epoch.
    public func next() throws -> SegmentationBatch? { try prefetcher.next() }

    /// Stops preparing batches ahead.
    public func cancel() { prefetcher.cancel() }
}

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
///
/// For data-parallel training, each of `worldSize` ranks has a loader with its `rank`: global batch `b` is
/// samples `b·G ..< (b+1)·G` of the epoch's order (`G = batchSize · worldSize`), and rank `r` takes its `r`-th
/// slice of `batchSize`, augmented exactly as one process with batch `G` would augment them. Only whole global
/// batches are made then (as `dropLast`), so every rank has a full batch at every step.
public final class BatchLoader: @unchecked Sendable {
    public let dataset: SegmentationDataset
    public let indices: [Int]
    /// Samples per batch (per rank).
    public let batchSize: Int
    /// This loader's rank, `0..<worldSize`.
    public let rank: Int
    /// Ranks sharing each global batch.
    public let worldSize: Int
    public let augmentation: Augmentation
    public let normalization: Normalization
    public let shuffle: Bool
    public let seed: UInt64
    public let dropLast: Bool

    public init(dataset: SegmentationDataset, indices: [Int], batchSize: Int, augmentation: Augmentation = Augmentation(),
                normalization: Normalization = Normalization(), shuffle: Bool, seed: UInt64, dropLast: Bool,
                rank: Int = 0, worldSize: Int = 1) {
        precondition(worldSize >= 1 && (0..<worldSize).contains(rank), "BatchLoader: rank outside the world")
        self.dataset = dataset
        self.indices = indices
        self.batchSize = batchSize
        (self.rank, self.worldSize) = (rank, worldSize)
        self.augmentation = augmentation
        self.normalization = normalization
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = worldSize > 1 || (dropLast && indices.count >= batchSize)
    }

    /// Samples per step over all ranks.
    public var globalBatchSize: Int { batchSize * worldSize }

    /// Batches per epoch.
    public var batchesPerEpoch: Int {
        dropLast ? indices.count / globalBatchSize : (indices.count + batchSize - 1) / batchSize
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
        let (count, size, global) = (batchesPerEpoch, batchSize, globalBatchSize)
        let first = min(start, count)
        let prefetcher = Prefetcher<SegmentationBatch>(count: count - first, capacity: 3) { [self] k in
            let position = (first + k) * global + rank * size
            let members = Array(order[position..<min(order.count, position + size)])
            return try makeBatch(members, epoch: epoch, position: position)
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

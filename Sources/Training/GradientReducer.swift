import Distributed
import NN

/// Data-parallel training's gradient exchange (the reducer inside PyTorch's `DistributedDataParallel`): every rank
/// computes gradients on its own share of the global batch, and each optimizer step sees their mean over the ranks,
/// so that all ranks take the same step and their weights stay identical.
///
/// The trainable parameters are grouped in buckets of about `bucketElements` floats, in reverse order (backward
/// produces the last layers' gradients first). As backward hands over gradients, each is copied into its bucket;
/// a full bucket's allreduce is started at once (non-blocking) and runs while backward goes on; a reduced bucket
/// updates its parameters. Buckets start in the same order on every rank whatever order gradients arrive in, as
/// MPI's collectives need.
public final class GradientReducer {
    public let optimizer: any Optimizer
    public let group: ProcessGroup

    private struct Bucket {
        /// The bucket's gradients, parameter after parameter.
        let storage: UnsafeMutableBufferPointer<Float>
        /// Optimizer indices of the parameters it holds, with their offsets in `storage`.
        let members: [(index: Int, offset: Int)]
        var missing = 0
        var work: Work?
    }

    private var buckets: [Bucket] = []
    /// For each optimizer index: its bucket and offset there.
    private var place: [(bucket: Int, offset: Int)] = []
    /// Elements handed over this step, per optimizer index.
    private var handed: [Int] = []
    private let indices: [ObjectIdentifier: Int]

    /// About 25 MB of floats per bucket, PyTorch DDP's default `bucket_cap_mb`.
    public static let defaultBucketElements = bucketElements(megabytes: 25)

    /// The floats in buckets of `megabytes` MB (at least one).
    public static func bucketElements(megabytes: Double) -> Int { max(1, Int(megabytes * Double(1 << 18))) }

    public init(optimizer: any Optimizer, group: ProcessGroup, bucketElements: Int = GradientReducer.defaultBucketElements) {
        self.optimizer = optimizer
        self.group = group
        let parameters = optimizer.parameters
        indices = Dictionary(parameters.enumerated().map { (ObjectIdentifier($1), $0) }, uniquingKeysWith: { first, _ in first })
        place = Array(repeating: (0, 0), count: parameters.count)
        var members: [(index: Int, offset: Int)] = []
        var size = 0
        func close() {
            guard !members.isEmpty else { return }
            let storage = UnsafeMutableBufferPointer<Float>.allocate(capacity: size)
            storage.initialize(repeating: 0)
            buckets.append(Bucket(storage: storage, members: members))
            (members, size) = ([], 0)
        }
        for index in parameters.indices.reversed() {
            place[index] = (buckets.count, size)
            members.append((index, size))
            size += parameters[index].value.count
            if size >= bucketElements { close() }
        }
        close()
    }

    deinit {
        for bucket in buckets { bucket.storage.deallocate() }
    }

    /// Buckets' element counts, in the order their allreduces start.
    public var bucketSizes: [Int] { buckets.map(\.storage.count) }

    /// Seconds spent waiting for exchanges after backward had handed over every gradient: the communication that
    /// overlapping with backward did not hide.
    public private(set) var waitingSeconds = 0.0

    /// One optimizer step (`Optimizer.step`) on the ranks' mean gradient: `produce` hands over this rank's
    /// gradients piece by piece, as a compiled network's `backward(_:applying:)` does.
    /// - Precondition: every rank calls it together, and `produce` hands over every element of a parameter once or
    ///   none of them (those it never hands over count as zero, as `Optimizer.step` has it).
    /// - Throws: `DistributedError` when an exchange fails; what `produce` throws.
    public func step(_ produce: ((Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws -> Void) throws {
        optimizer.beginStep()
        try exchange(produce) { [optimizer] index, gradient in optimizer.update(parameterAt: index, gradient: gradient) }
    }

    /// Sets every trainable parameter's `.grad` to the ranks' mean gradient, exchanged as `produce` hands this
    /// rank's gradients over (see `step`): for gradient clipping, which needs the whole gradient before any update.
    public func averageGradients(_ produce: ((Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws -> Void) throws {
        let parameters = optimizer.parameters
        try exchange(produce) { index, gradient in
            parameters[index].grad.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: gradient) }
        }
    }

    /// Copies the gradients `produce` hands over into their buckets, exchanges each full bucket while `produce` goes
    /// on, and hands each parameter's mean gradient to `consume` (optimizer index, gradient).
    private func exchange(_ produce: ((Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws -> Void,
                          consume: @escaping (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        handed = Array(repeating: 0, count: optimizer.parameters.count)
        for b in buckets.indices { (buckets[b].missing, buckets[b].work) = (buckets[b].storage.count, nil) }
        var started = 0  // buckets whose allreduce has started, in order
        var applied = 0  // buckets whose gradients are consumed, in order
        try produce { parameter, elements, gradient in
            guard let index = indices[ObjectIdentifier(parameter)] else { return }
            let (b, offset) = place[index]
            precondition(handed[index] + elements.count <= parameter.value.count, "GradientReducer: more gradient than parameter elements")
            (buckets[b].storage.baseAddress! + offset + elements.lowerBound).update(from: gradient.baseAddress!, count: gradient.count)
            handed[index] += elements.count
            buckets[b].missing -= elements.count
            try start(upTo: &started)
            try handOver(completedUpTo: &applied, started: started, waiting: false, consume)
        }
        // Parameters never handed over count as zero; then the rest is exchanged and consumed.
        for b in started..<buckets.count where buckets[b].missing > 0 {
            for (index, offset) in buckets[b].members where handed[index] < optimizer.parameters[index].value.count {
                precondition(handed[index] == 0, "GradientReducer: parameter \(index) handed over in part")
                let count = optimizer.parameters[index].value.count
                UnsafeMutableBufferPointer(rebasing: buckets[b].storage[offset..<(offset + count)]).update(repeating: 0)
                buckets[b].missing -= count
            }
        }
        try start(upTo: &started)
        let waitStart = ContinuousClock.now
        try handOver(completedUpTo: &applied, started: started, waiting: true, consume)
        let waited = ContinuousClock.now - waitStart
        waitingSeconds += Double(waited.components.seconds) + Double(waited.components.attoseconds) * 1e-18
    }

    /// Starts the allreduce of each full bucket after the last started one, in order.
    private func start(upTo started: inout Int) throws {
        while started < buckets.count, buckets[started].missing == 0 {
            buckets[started].work = try group.allReduceStarted(buckets[started].storage)
            started += 1
        }
    }

    /// Hands over the mean gradients of the started buckets whose allreduce has completed, in order (all of them
    /// when `waiting`).
    private func handOver(completedUpTo applied: inout Int, started: Int, waiting: Bool,
                         _ consume: (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        while applied < started, let work = buckets[applied].work {
            if waiting { try work.wait() } else if !(try work.isCompleted()) { return }
            let bucket = buckets[applied]
            let scale = 1 / Float(group.worldSize)
            if group.worldSize > 1 { for i in bucket.storage.indices { bucket.storage[i] *= scale } }
            for (index, offset) in bucket.members {
                let count = optimizer.parameters[index].value.count
                consume(index, UnsafeBufferPointer(rebasing: bucket.storage[offset..<(offset + count)]))
            }
            applied += 1
        }
    }
}

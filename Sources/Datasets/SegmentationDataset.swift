import Dispatch
import Foundation
import ImageIO
import Synchronization

/// Image/mask pairs ready for training: validated in one pass before anything trains, their class table fixed,
/// and decoded samples kept in memory when they fit (about 1.5 GB), else decoded again on each use.
public final class SegmentationDataset: @unchecked Sendable {
    public let samples: [SamplePaths]
    public let options: DatasetOptions
    public let table: ClassTable
    public let report: DatasetReport
    /// Decoded, scaled samples, when the dataset is small enough to keep.
    private let cache: [(SampleImage, SampleMask)]?

    /// Opens a dataset: decodes every image, mask and region once, checks them, and builds the class table.
    /// - Throws: `DatasetProblems` listing every problem found (missing or unreadable files, size mismatches,
    ///   mask values outside the table, channel counts the model cannot take, a class count that contradicts
    ///   `options.classes`), so that a user fixes them all at once.
    public static func open(_ samples: [SamplePaths], options: DatasetOptions, problems known: [DatasetProblem] = [])
        throws(DatasetProblems) -> SegmentationDataset
    {
        var problems = known
        if samples.isEmpty && known.isEmpty { problems.append(DatasetProblem("dataset", "no image/mask pairs")) }
        // 1. Decode everything (in parallel), collecting mask values and problems; keep the decoded samples
        //    only when the whole dataset is estimated to fit in memory.
        let decoded = decodeAll(samples, options)
        var report = DatasetReport()
        var values: [Int: Int] = [:]
        for item in decoded {
            switch item {
            case .failure(let problem): problems.append(problem)
            case .success(let sample):
                report.addImage(width: sample.width, height: sample.height, channels: sample.sourceChannels)
                for (value, count) in sample.valueCounts { values[value, default: 0] += count }
            }
        }
        // 2. The class table: given, identity (class-index masks) or scanned (milesial), minus the ignore value.
        //    In a colour dataset, a mask that decoded as gray (only black, say) holds the colours (v, v, v).
        let color = values.keys.contains { $0 >> 48 == 1 }
        if color {
            values = values.reduce(into: [:]) { merged, entry in
                let key = entry.key >> 48 == 1 ? entry.key : MaskValues.pack([entry.key, entry.key, entry.key])
                merged[key, default: 0] += entry.value
            }
        }
        for (value, count) in values { report.maskValues[MaskValues.unpack(value), default: 0] += count }
        let ignorePacked = options.ignoreValue.map { MaskValues.pack(color ? [$0, $0, $0] : [$0]) }
        let found = Set(values.keys).subtracting(ignorePacked.map { [$0] } ?? [])
        var table: ClassTable
        do {
            switch (options.classTable, options.maskEncoding) {
            case (let given?, _): table = given
            case (nil, .indices): table = try .identity(classes: max(options.classes ?? 0, (found.map { $0 & 0xFFFF }.max() ?? 0) + 1, 2))
            case (nil, .values):
                table = try .scanning(found.isEmpty ? [0] : found)
                if options.completesScannedTable, let classes = options.classes, let completed = try complete(table, found, classes) {
                    table = completed
                }
            }
        } catch {
            throw DatasetProblems(problems + [error], report: report)
        }
        report.classTable = table.values
        // 3. Values outside the table, and a class count that contradicts the model's.
        let unknown = found.filter { table.classIndex(ofPacked: $0) == nil }.sorted()
        if !unknown.isEmpty {
            let examples = unknown.prefix(8).map { "\(MaskValues.unpack($0))" }.joined(separator: ", ")
            let files = decoded.compactMap { try? $0.get() }.filter { !Set($0.valueCounts.keys).isDisjoint(with: unknown) }
                .prefix(3).map(\.paths.mask)
            let also = files.count > 1 ? "; also in \(files.dropFirst().joined(separator: ", "))" : ""
            problems.append(DatasetProblem(files.first ?? "masks", "mask values \(examples) are not in the class table "
                + "(\(table))\(also). Give --mask-values, or --ignore-index for a value that marks unlabelled pixels"))
        }
        if let classes = options.classes {
            let expected = classes == 1 ? 2 : classes
            if table.classes != expected {
                problems.append(DatasetProblem("masks", "the masks have \(table.classes) value\(table.classes == 1 ? "" : "s") (\(table)) but the model "
                    + (classes == 1 ? "is binary (--classes 1 needs 2 values)" : "has \(classes) classes (--classes)")
                    + (table.classes == 1 ? "; every mask is one value, which trains to a constant (all-black) prediction" : "")))
            }
        }
        guard problems.isEmpty else { throw DatasetProblems(problems, report: report) }
        // 4. Count classes; encode and keep the samples decoded in step 1.
        var classPixels = [Int](repeating: 0, count: table.classes)
        var ignored = 0
        var cache: [(SampleImage, SampleMask)] = []
        for item in decoded {
            guard case .success(let sample) = item else { continue }
            for (value, count) in sample.valueCounts {
                if value != ignorePacked, let c = table.classIndex(ofPacked: value) { classPixels[Int(c)] += count }
            }
            ignored += sample.excludedPixels + (ignorePacked.map { sample.valueCounts[$0] ?? 0 } ?? 0)
            if let decoded = sample.decoded { cache.append((decoded.image, decoded.encode(table, ignore: ignorePacked))) }
        }
        report.classPixels = classPixels
        report.ignoredPixels = ignored
        let complete = cache.count == samples.count
        return SegmentationDataset(samples: samples, options: options, table: table, report: report, cache: complete ? cache : nil)
    }

    /// A scanned table with fewer values than a model of `classes` classes has, completed (see
    /// `DatasetOptions.completesScannedTable`); nil when it is complete or cannot be completed.
    private static func complete(_ table: ClassTable, _ found: Set<Int>, _ classes: Int) throws(DatasetProblem) -> ClassTable? {
        let expected = classes == 1 ? 2 : classes
        guard table.classes < expected else { return nil }
        if found.allSatisfy({ $0 >= 0 && $0 < expected }) { return try .identity(classes: expected) }
        if expected == 2, found.isSubset(of: [0, 255]) { return try ClassTable(values: [[0], [255]]) }
        return nil
    }

    private init(samples: [SamplePaths], options: DatasetOptions, table: ClassTable, report: DatasetReport,
                 cache: [(SampleImage, SampleMask)]?) {
        self.samples = samples
        self.options = options
        self.table = table
        self.report = report
        self.cache = cache
    }

    public var count: Int { samples.count }

    /// True when the samples are kept decoded in memory.
    public var isCached: Bool { cache != nil }

    /// Sample `index`, decoded, scaled and encoded.
    /// - Throws: `DatasetProblem` if a file changed since the dataset was opened.
    public func sample(_ index: Int) throws(DatasetProblem) -> (image: SampleImage, mask: SampleMask) {
        if let cache { return cache[index] }
        let decoded = try DecodedSample.load(samples[index], options)
        let ignorePacked = options.ignoreValue.map { MaskValues.pack(decoded.isColor ? [$0, $0, $0] : [$0]) }
        return (decoded.image, decoded.encode(table, ignore: ignorePacked))
    }

    /// The bytes a decoded dataset may occupy before samples are decoded again on each use instead of kept.
    static let cacheLimit = 1_500_000_000

    /// Decodes every sample in parallel into summaries, keeping the decoded samples when the dataset, estimated
    /// from its first sample, fits under `cacheLimit`.
    private static func decodeAll(_ samples: [SamplePaths], _ options: DatasetOptions) -> [Result<SampleSummary, DatasetProblem>] {
        guard let first = samples.first else { return [] }
        let estimate = (try? DecodedSample.load(first, options)).map { $0.bytes * samples.count } ?? Int.max
        let keep = estimate <= cacheLimit
        let results = Mutex([Result<SampleSummary, DatasetProblem>?](repeating: nil, count: samples.count))
        DispatchQueue.concurrentPerform(iterations: samples.count) { i in
            let result = Result { () throws(DatasetProblem) in
                let decoded = try DecodedSample.load(samples[i], options)
                return SampleSummary(decoded, keep: keep)
            }
            results.withLock { $0[i] = result }
        }
        return results.withLock { $0.map { $0! } }
    }
}

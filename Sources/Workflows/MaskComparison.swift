import Datasets
import Dispatch
import ImageIO
import Evaluation
import Synchronization

/// Scores predicted masks against ground-truth masks with no model (`unet evaluate --predictions`).
///
/// Ground truth: with a given table, through it; else masks whose values (the ignore value aside) are all below
/// `classes` are class indices; else the sorted distinct values are the classes (milesial's `mask_values`).
/// Predictions: each file's values are read through the ground truth's table when they all belong to it (masks
/// written with `--mask-format values`), else as class indices (`--mask-format indices`).
public enum MaskComparison {
    /// The confusion matrix of every pair, `pair.image` being the prediction and `pair.mask` the truth.
    /// - Throws: `DatasetProblems` listing every unreadable file, size mismatch and out-of-range value.
    public static func confusion(_ pairs: [SamplePaths], classes: Int, table given: ClassTable?, ignoreValue: Int?,
                                 problems known: [DatasetProblem] = []) throws(DatasetProblems) -> ConfusionMatrix {
        var problems = known
        if pairs.isEmpty && known.isEmpty { problems.append(DatasetProblem("predictions", "no prediction/mask pairs")) }
        // 1. The truth's values, to settle its table.
        let truths = decode(pairs.map(\.mask))
        var found = Set<Int>()
        for case .success(let mask) in truths { found.formUnion(mask.packed) }
        for case .failure(let problem) in truths { problems.append(problem) }
        let ignorePacked = ignoreValue.map { value in found.contains { $0 >> 48 == 1 } ? MaskValues.pack([value, value, value]) : value }
        if let ignorePacked { found.remove(ignorePacked) }
        let table: ClassTable
        do {
            if let given {
                table = given
            } else if found.allSatisfy({ $0 >= 0 && $0 < classes }) {
                table = try .identity(classes: classes)
            } else {
                table = try .scanning(found)
            }
        } catch {
            throw DatasetProblems(problems + [error])
        }
        let unknown = found.filter { table.classIndex(ofPacked: $0) == nil }.sorted()
        if !unknown.isEmpty {
            problems.append(DatasetProblem("masks", "ground-truth values \(unknown.prefix(8).map { "\(MaskValues.unpack($0))" }.joined(separator: ", ")) "
                + "are not in the class table (\(table)); give --ignore-index for a value that marks unlabelled pixels"))
        }
        if table.classes > max(classes, 2) {
            problems.append(DatasetProblem("masks", "the ground truth has \(table.classes) values (\(table)) but --classes is \(classes)"))
        }
        guard problems.isEmpty else { throw DatasetProblems(problems) }
        // 2. Each pair, counted.
        let matrix = Mutex(ConfusionMatrix(classes: max(classes, 2)))
        let failures = Mutex([DatasetProblem]())
        DispatchQueue.concurrentPerform(iterations: pairs.count) { i in
            do throws(DatasetProblem) {
                let counted = try count(pairs[i], truth: try truths[i].get(), table: table, classes: max(classes, 2),
                                        ignore: ignorePacked)
                matrix.withLock { $0 = $0 + counted }
            } catch {
                failures.withLock { $0.append(error) }
            }
        }
        let failed = failures.withLock { $0 }
        guard failed.isEmpty else { throw DatasetProblems(failed.sorted { $0.file < $1.file }) }
        return matrix.withLock { $0 }
    }

    private static func decode(_ paths: [String]) -> [Result<MaskValues, DatasetProblem>] {
        let results = Mutex([Result<MaskValues, DatasetProblem>?](repeating: nil, count: paths.count))
        DispatchQueue.concurrentPerform(iterations: paths.count) { i in
            let result = Result { () throws(DatasetProblem) in try read(paths[i]) }
            results.withLock { $0[i] = result }
        }
        return results.withLock { $0.map { $0! } }
    }

    private static func read(_ path: String) throws(DatasetProblem) -> MaskValues {
        do throws(ImageError) { return MaskValues(try ImageReader.read(path: path)) } catch { throw DatasetProblem(path, error.reason) }
    }

    private static func count(_ pair: SamplePaths, truth: MaskValues, table: ClassTable, classes: Int, ignore: Int?)
        throws(DatasetProblem) -> ConfusionMatrix
    {
        let prediction = try read(pair.image)
        guard prediction.width == truth.width, prediction.height == truth.height else {
            throw DatasetProblem(pair.image, "prediction is \(prediction.width)x\(prediction.height), its mask "
                + "\(pair.mask) \(truth.width)x\(truth.height)")
        }
        var region: [Bool]?
        if let path = pair.region {
            let values = try read(path)
            guard values.width == truth.width, values.height == truth.height else {
                throw DatasetProblem(path, "region mask is \(values.width)x\(values.height), its mask \(truth.width)x\(truth.height)")
            }
            region = values.packed.map { $0 != 0 }
        }
        let distinct = Set(prediction.packed)
        let throughTable = distinct.allSatisfy { table.classIndex(ofPacked: $0) != nil }
        guard throughTable || distinct.allSatisfy({ $0 >= 0 && $0 < classes }) else {
            let examples = distinct.sorted().prefix(6).map { "\(MaskValues.unpack($0))" }.joined(separator: ", ")
            throw DatasetProblem(pair.image, "values \(examples) are neither class indices (below \(classes)) nor the "
                + "ground truth's mask values (\(table))")
        }
        let predicted = prediction.packed.map { throughTable ? table.classIndex(ofPacked: $0)! : Int32($0) }
        let truthClasses = truth.packed.map { value -> Int32 in
            value == ignore ? SampleMask.ignored : (table.classIndex(ofPacked: value) ?? SampleMask.ignored)
        }
        var matrix = ConfusionMatrix(classes: classes)
        do {
            try matrix.add(predictions: predicted, truth: truthClasses, ignoreIndex: SampleMask.ignored, regionOfInterest: region)
        } catch {
            throw DatasetProblem(pair.image, error.description)
        }
        return matrix
    }
}

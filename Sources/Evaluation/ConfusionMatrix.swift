/// Pixel counts of (true class, predicted class) pairs over a dataset: `count(truth:predicted:)`.
/// Pixels whose truth is the ignore value, or outside the region of interest, are not counted.
public struct ConfusionMatrix: Equatable, Sendable, Codable {
    public let classes: Int
    /// Row-major `classes × classes`: `counts[truth · classes + predicted]`.
    public private(set) var counts: [Int]

    public init(classes: Int) {
        precondition(classes > 0, "ConfusionMatrix: classes must be positive")
        self.classes = classes
        counts = [Int](repeating: 0, count: classes * classes)
    }

    /// A matrix holding `counts` (row-major, `classes × classes`), e.g. several processes' matrices summed.
    /// - Throws: `MetricsError` unless there are `classes²` counts, none negative.
    public init(classes: Int, counts: [Int]) throws(MetricsError) {
        guard classes > 0, counts.count == classes * classes, counts.allSatisfy({ $0 >= 0 }) else {
            throw MetricsError("a confusion matrix of \(classes) classes needs \(classes * classes) counts of at least 0, not \(counts.count)")
        }
        (self.classes, self.counts) = (classes, counts)
    }

    /// The number of pixels of class `truth` predicted as `predicted`.
    public func count(truth: Int, predicted: Int) -> Int { counts[truth * classes + predicted] }

    /// Counts one image (or batch) of predictions against the truth, pixel by pixel.
    /// - Parameters:
    ///   - predictions, truth: class indices per pixel, same length.
    ///   - ignoreIndex: a truth value that is not counted (e.g. 255 outside a retina's field of view).
    ///   - regionOfInterest: when given, only pixels where it is true are counted.
    /// - Throws: `MetricsError` for mismatched lengths or a class index outside `0..<classes`.
    public mutating func add(
        predictions: [Int32], truth: [Int32], ignoreIndex: Int32? = nil, regionOfInterest: [Bool]? = nil
    ) throws(MetricsError) {
        guard predictions.count == truth.count, regionOfInterest.map({ $0.count == truth.count }) ?? true else {
            throw MetricsError("predictions (\(predictions.count)), truth (\(truth.count)) and region of interest "
                + "(\(regionOfInterest?.count ?? truth.count)) must have the same number of pixels")
        }
        let n = Int32(classes)
        for i in 0..<truth.count {
            let t = truth[i]
            if t == ignoreIndex { continue }
            if let regionOfInterest, !regionOfInterest[i] { continue }
            let p = predictions[i]
            guard t >= 0, t < n else { throw MetricsError("true class \(t) outside 0..<\(classes) at pixel \(i)") }
            guard p >= 0, p < n else { throw MetricsError("predicted class \(p) outside 0..<\(classes) at pixel \(i)") }
            counts[Int(t) * classes + Int(p)] += 1
        }
    }

    /// The sum of two matrices over the same classes.
    public static func + (lhs: ConfusionMatrix, rhs: ConfusionMatrix) -> ConfusionMatrix {
        precondition(lhs.classes == rhs.classes, "ConfusionMatrix: different class counts")
        var sum = lhs
        for i in sum.counts.indices { sum.counts[i] += rhs.counts[i] }
        return sum
    }

    /// Counted pixels.
    public var total: Int { counts.reduce(0, +) }
    /// Pixels of class `c` correctly predicted.
    public func truePositives(_ c: Int) -> Int { count(truth: c, predicted: c) }
    /// Pixels predicted as `c` that are another class.
    public func falsePositives(_ c: Int) -> Int { (0..<classes).reduce(0) { $0 + ($1 == c ? 0 : count(truth: $1, predicted: c)) } }
    /// Pixels of class `c` predicted as another class.
    public func falseNegatives(_ c: Int) -> Int { (0..<classes).reduce(0) { $0 + ($1 == c ? 0 : count(truth: c, predicted: $1)) } }
}

/// Inputs that cannot be scored (mismatched sizes, out-of-range classes).
public struct MetricsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

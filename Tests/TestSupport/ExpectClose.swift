import Tensors
import Testing

/// The largest violation of `|actual − expected| ≤ atol + rtol·|expected|`, or nil when every element
/// passes: the message gives the worst element's index, both values and the maximum absolute difference.
public func closenessFailure(_ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float) -> String? {
    guard actual.shape == expected.shape else {
        return "shape \(actual.shape) differs from expected \(expected.shape)"
    }
    var worstExcess: Float = 0
    var worstIndex = -1
    var maxDifference: Float = 0
    for i in 0..<actual.count {
        let (a, e) = (actual[flat: i], expected[flat: i])
        let difference = abs(a - e)
        if difference.isNaN || a.isNaN != e.isNaN {
            return "NaN at flat index \(i): actual \(a), expected \(e)"
        }
        maxDifference = max(maxDifference, difference)
        let excess = difference - (atol + rtol * abs(e))
        if excess > worstExcess {
            worstExcess = excess
            worstIndex = i
        }
    }
    guard worstIndex >= 0 else { return nil }
    return "max |difference| \(maxDifference); worst at \(unflatten(worstIndex, actual.shape)): actual "
        + "\(actual[flat: worstIndex]), expected \(expected[flat: worstIndex]) (rtol \(rtol), atol \(atol))"
}

/// Records a test issue unless `actual` is elementwise close to `expected` (see `closenessFailure`).
public func expectClose(
    _ actual: Tensor, _ expected: Tensor, rtol: Float, atol: Float, _ label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    if let failure = closenessFailure(actual, expected, rtol: rtol, atol: atol) {
        Issue.record("\(label.isEmpty ? "" : label + ": ")\(failure)", sourceLocation: sourceLocation)
    }
}

/// Tolerances of the project's comparisons with PyTorch (see the architecture guide).
public enum Tolerance {
    /// Forward outputs of float32 ops.
    public static let forward = (rtol: Float(1e-4), atol: Float(1e-5))
    /// Every backward output.
    public static let backward = (rtol: Float(1e-3), atol: Float(1e-4))
}

private func unflatten(_ index: Int, _ shape: [Int]) -> [Int] {
    var rest = index
    var result = [Int](repeating: 0, count: shape.count)
    for axis in shape.indices.reversed() {
        result[axis] = rest % shape[axis]
        rest /= shape[axis]
    }
    return result
}

/// Records a test issue unless `actual` is close to `expected` as a whole: `‖actual − expected‖ ≤ relative·‖expected‖`
/// (L2), and every element within `rtol·|e| + rtol·max|expected|`. For gradients that sum over many pixels, where
/// the summation order of two correct implementations moves a few small elements past an elementwise `atol` (a
/// ResNet stem's weight gradient sums 2·19·23 products per element) while the tensor agrees to 1e-6.
public func expectCloseInNorm(
    _ actual: Tensor, _ expected: Tensor, relative: Double = 1e-4, rtol: Float = 1e-3, _ label: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape) differs from expected \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    var (difference, norm, largest) = (0.0, 0.0, Float(0))
    for i in 0..<actual.count {
        let (a, e) = (Double(actual[flat: i]), Double(expected[flat: i]))
        (difference, norm, largest) = (difference + (a - e) * (a - e), norm + e * e, max(largest, abs(expected[flat: i])))
    }
    let error = (difference / max(norm, .leastNormalMagnitude)).squareRoot()
    if !(error <= relative) {
        Issue.record("\(label): relative error \(error) (L2) above \(relative)", sourceLocation: sourceLocation)
    } else if let failure = closenessFailure(actual, expected, rtol: rtol, atol: rtol * largest) {
        Issue.record("\(label): \(failure)", sourceLocation: sourceLocation)
    }
}

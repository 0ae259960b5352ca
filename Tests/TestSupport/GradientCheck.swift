import Tensors
import Testing

/// Compares a pullback with central finite differences of `L(x) = Σ f(x)·dy`.
///
/// The analytic gradient `pullback(dy)` must match `(L(x + εe) − L(x − εe)) / 2ε` at `samples` random
/// coordinates `e`, and along one random unit direction, within `|a − n| ≤ atol + rtol·|n|`. Inputs should be
/// kept away from kinks (ReLU at 0, max-pool ties).
/// - Parameters:
///   - function: the op under test, returning its output and pullback. Called repeatedly; it must not
///     change state that affects later calls.
public func checkGradient(
    of function: (Tensor) throws -> (Tensor, (Tensor) throws -> Tensor), at x: Tensor,
    epsilon: Float = 1e-2, rtol: Float = 1e-2, atol: Float = 1e-3, samples: Int = 16, seed: UInt64 = 7,
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    var generator = SeededGenerator(seed: seed)
    let (y, pullback) = try function(x)
    let dy = Tensor.normal(shape: y.shape, using: &generator)
    let analytic = try pullback(dy)
    guard analytic.shape == x.shape else {
        Issue.record("gradient shape \(analytic.shape) differs from input \(x.shape)", sourceLocation: sourceLocation)
        return
    }
    func loss(_ input: Tensor) throws -> Double {
        let output = try function(input).0
        var total: Double = 0
        for i in 0..<output.count { total += Double(output[flat: i]) * Double(dy[flat: i]) }
        return total
    }
    func numeric(along direction: Tensor) throws -> Float {
        let plus = try x + epsilon * direction
        let minus = try x - epsilon * direction
        return Float((try loss(plus) - loss(minus)) / (2 * Double(epsilon)))
    }
    var coordinates = (0..<min(samples, x.count)).map { _ in Int(generator.next() % UInt64(x.count)) }
    coordinates = Array(Set(coordinates)).sorted()
    for index in coordinates {
        var direction = Tensor(shape: x.shape)
        direction[flat: index] = 1
        let n = try numeric(along: direction)
        let a = analytic[flat: index]
        if abs(a - n) > atol + rtol * abs(n) {
            Issue.record("gradient at flat index \(index): analytic \(a), finite difference \(n)",
                         sourceLocation: sourceLocation)
        }
    }
    // A unit-length random direction: every coordinate moves by about ε/sqrt(count), so a deep ReLU network
    // stays on the same side of its kinks.
    let raw = Tensor.normal(shape: x.shape, using: &generator)
    let direction = (1 / (try raw * raw).sum().squareRoot()) * raw
    let n = try numeric(along: direction)
    let a = (try analytic * direction).sum()
    if abs(a - n) > atol + rtol * abs(n) {
        Issue.record("directional derivative: analytic \(a), finite difference \(n)", sourceLocation: sourceLocation)
    }
}

import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Segmentation losses on logits `(N, C, H, W)`, each returning the mean loss and its gradient with respect
/// to the logits. Targets are class indices per pixel, `(N·H·W)` row-major as `(N, H, W)`; for one class
/// (`C == 1`) they are 0/1 and the activation is the sigmoid.
///
/// `diceCrossEntropy` is the default training loss (milesial, nnU-Net, and the benchmark reference):
/// cross-entropy (binary cross-entropy for one class) plus soft Dice.
public enum SegmentationLoss {
    /// Mean cross-entropy over pixels. Mirrors `torch.nn.functional.cross_entropy(logits, target)`.
    public static func crossEntropy(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 2)
        let probabilities = softmax(logits, n, c, plane)
        var total: Double = 0
        let count = Float(n * plane)
        var gradient = probabilities
        gradient.withUnsafeMutableBufferPointer { g in
            for b in 0..<n {
                for i in 0..<plane {
                    let t = Int(targets[b * plane + i])
                    let index = (b * c + t) * plane + i
                    total -= Double(log(max(probabilities[flat: index], Float.leastNormalMagnitude)))
                    g[index] -= 1
                }
            }
            for i in 0..<g.count { g[i] /= count }
        }
        return (Float(total / Double(count)), gradient)
    }

    /// Mean binary cross-entropy of one-class logits `(N, 1, H, W)` against 0/1 targets, computed stably.
    /// Mirrors `torch.nn.functional.binary_cross_entropy_with_logits`.
    public static func binaryCrossEntropy(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        let (n, _, plane) = try dimensions(logits, targets, minimumClasses: 1, maximumClasses: 1)
        let count = Float(n * plane)
        var total: Double = 0
        var gradient = Tensor.empty(shape: logits.shape)
        gradient.withUnsafeMutableBufferPointer { g in
            for i in 0..<(n * plane) {
                let (z, t) = (logits[flat: i], Float(targets[i]))
                total += Double(max(z, 0) - z * t + log1p(exp(-abs(z))))
                g[i] = (1 / (1 + exp(-z)) - t) / count
            }
        }
        return (Float(total / Double(count)), gradient)
    }

    /// Soft Dice loss `1 − mean_c (2·Σ p·t + ε) / (Σ p + Σ t + ε)`, sums over the batch and pixels of each class,
    /// on softmax probabilities (sigmoid for one class). The benchmark reference's `soft_dice_loss`.
    public static func softDice(logits: Tensor, targets: [Int32], epsilon: Float = 1e-6) throws
        -> (loss: Float, gradient: Tensor)
    {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 1)
        let binary = c == 1
        let probabilities = binary ? logits.map { 1 / (1 + exp(-$0)) } : softmax(logits, n, c, plane)
        func truth(_ b: Int, _ k: Int, _ i: Int) -> Float {
            let t = Int(targets[b * plane + i])
            return binary ? Float(t) : (t == k ? 1 : 0)
        }
        var intersection = [Double](repeating: 0, count: c)
        var union = [Double](repeating: 0, count: c)
        for b in 0..<n {
            for k in 0..<c {
                for i in 0..<plane {
                    let (p, t) = (Double(probabilities[flat: (b * c + k) * plane + i]), Double(truth(b, k, i)))
                    intersection[k] += p * t
                    union[k] += p + t
                }
            }
        }
        let eps = Double(epsilon)
        let dice = (0..<c).map { (2 * intersection[$0] + eps) / (union[$0] + eps) }
        let loss = 1 - dice.reduce(0, +) / Double(c)
        // dL/dp for class k: −(1/C)·(2t·(U + ε) − (2I + ε)) / (U + ε)².
        var dProbabilities = Tensor.empty(shape: logits.shape)
        dProbabilities.withUnsafeMutableBufferPointer { g in
            for b in 0..<n {
                for k in 0..<c {
                    let u = union[k] + eps
                    for i in 0..<plane {
                        let t = Double(truth(b, k, i))
                        g[(b * c + k) * plane + i] = Float(-(2 * t * u - (2 * intersection[k] + eps)) / (u * u) / Double(c))
                    }
                }
            }
        }
        return (Float(loss), activationBackward(dProbabilities, probabilities, n, c, plane))
    }

    /// Cross-entropy (binary for one class) plus soft Dice: the benchmark's and milesial's training loss.
    public static func diceCrossEntropy(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        let (ce, ceGradient) = logits.rank == 4 && logits.shape[1] == 1
            ? try binaryCrossEntropy(logits: logits, targets: targets)
            : try crossEntropy(logits: logits, targets: targets)
        let (dice, diceGradient) = try softDice(logits: logits, targets: targets)
        return (ce + dice, try ceGradient + diceGradient)
    }

    // MARK: - Helpers

    /// `(N, C, H·W)` after checking the logits and targets agree and every target is a valid class.
    static func dimensions(_ logits: Tensor, _ targets: [Int32], minimumClasses: Int, maximumClasses: Int = .max)
        throws -> (Int, Int, Int)
    {
        guard logits.rank == 4, (minimumClasses...maximumClasses).contains(logits.shape[1]) else {
            throw TensorError("loss", "logits must be (N, C, H, W) with \(minimumClasses)...\(maximumClasses == .max ? "" : "\(maximumClasses)") classes, got \(logits.shape)")
        }
        let (n, c, plane) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        guard targets.count == n * plane else {
            throw TensorError("loss", "targets hold \(targets.count) pixels, logits \(logits.shape) need \(n * plane)")
        }
        let classes = max(c, 2)
        if let bad = targets.first(where: { $0 < 0 || Int($0) >= classes }) {
            throw TensorError("loss", "target class \(bad) outside 0..<\(classes)")
        }
        return (n, c, plane)
    }

    /// Softmax over channels, computed stably per pixel.
    static func softmax(_ logits: Tensor, _ n: Int, _ c: Int, _ plane: Int) -> Tensor {
        var result = Tensor.empty(shape: logits.shape)
        result.withUnsafeMutableBufferPointer { out in
            logits.withUnsafeBufferPointer { z in
                for b in 0..<n {
                    for i in 0..<plane {
                        var largest = -Float.infinity
                        for k in 0..<c { largest = max(largest, z[(b * c + k) * plane + i]) }
                        var sum: Float = 0
                        for k in 0..<c {
                            let e = exp(z[(b * c + k) * plane + i] - largest)
                            out[(b * c + k) * plane + i] = e
                            sum += e
                        }
                        for k in 0..<c { out[(b * c + k) * plane + i] /= sum }
                    }
                }
            }
        }
        return result
    }

    /// Back through softmax (`p ⊙ (g − Σ_k p_k g_k)`) or, for one class, the sigmoid (`g·p·(1 − p)`).
    static func activationBackward(_ g: Tensor, _ p: Tensor, _ n: Int, _ c: Int, _ plane: Int) -> Tensor {
        guard c > 1 else { return (try? g * p.map { $0 * (1 - $0) }) ?? g }
        var result = Tensor.empty(shape: g.shape)
        result.withUnsafeMutableBufferPointer { out in
            for b in 0..<n {
                for i in 0..<plane {
                    var dot: Float = 0
                    for k in 0..<c { dot += p[flat: (b * c + k) * plane + i] * g[flat: (b * c + k) * plane + i] }
                    for k in 0..<c {
                        let index = (b * c + k) * plane + i
                        out[index] = p[flat: index] * (g[flat: index] - dot)
                    }
                }
            }
        }
        return result
    }
}

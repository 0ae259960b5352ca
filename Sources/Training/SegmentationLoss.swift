import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Segmentation losses on logits `(N, C, H, W)`, each returning the mean loss and its gradient with respect
/// to the logits. Targets are class indices per pixel, `(N·H·W)` row-major as `(N, H, W)`; `-1` marks a pixel
/// that is ignored. For one class (`C == 1`) targets are 0/1 and the activation is the sigmoid.
public enum SegmentationLoss {
    /// Mean cross-entropy over counted pixels, weighted by class when `classWeights` is given. Mirrors
    /// `torch.nn.functional.cross_entropy(logits, target, weight=, ignore_index=)`: the weighted mean divides by
    /// the sum of the counted pixels' weights.
    public static func crossEntropy(logits: Tensor, targets: [Int32], classWeights: [Float]? = nil) throws
        -> (loss: Float, gradient: Tensor)
    {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 2)
        if let classWeights, classWeights.count != c {
            throw TensorError("loss", "\(classWeights.count) class weights for \(c) classes")
        }
        let probabilities = softmax(logits, n, c, plane)
        var total: Double = 0
        var weightSum: Double = 0
        var gradient = probabilities
        gradient.withUnsafeMutableBufferPointer { g in
            for b in 0..<n {
                for i in 0..<plane {
                    let t = Int(targets[b * plane + i])
                    guard t >= 0 else {
                        for k in 0..<c { g[(b * c + k) * plane + i] = 0 }
                        continue
                    }
                    let w = classWeights?[t] ?? 1
                    let index = (b * c + t) * plane + i
                    total -= Double(w) * Double(log(max(probabilities[flat: index], Float.leastNormalMagnitude)))
                    weightSum += Double(w)
                    for k in 0..<c { g[(b * c + k) * plane + i] *= w }
                    g[index] -= w
                }
            }
            let scale = Float(weightSum > 0 ? 1 / weightSum : 0)
            for i in 0..<g.count { g[i] *= scale }
        }
        return (weightSum > 0 ? Float(total / weightSum) : 0, gradient)
    }

    /// Mean binary cross-entropy of one-class logits `(N, 1, H, W)` against 0/1 targets over counted pixels,
    /// computed stably. Mirrors `torch.nn.functional.binary_cross_entropy_with_logits` on the counted pixels.
    public static func binaryCrossEntropy(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        let (n, _, plane) = try dimensions(logits, targets, minimumClasses: 1, maximumClasses: 1)
        let count = Float(targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
        var total: Double = 0
        var gradient = Tensor(shape: logits.shape)
        gradient.withUnsafeMutableBufferPointer { g in
            for i in 0..<(n * plane) where targets[i] >= 0 {
                let (z, t) = (logits[flat: i], Float(targets[i]))
                total += Double(max(z, 0) - z * t + log1p(exp(-abs(z))))
                g[i] = (1 / (1 + exp(-z)) - t) / count
            }
        }
        return (count > 0 ? Float(total / Double(count)) : 0, gradient)
    }

    /// Soft Dice loss `1 − mean_c (2·Σ p·t + ε) / (Σ p + Σ t + ε)`, the sums over the batch and the counted pixels
    /// of each class, on softmax probabilities (sigmoid for one class). The benchmark reference's
    /// `soft_dice_loss`; `includeBackground: false` averages over classes 1... only (multi-class).
    public static func softDice(logits: Tensor, targets: [Int32], epsilon: Float = 1e-6, includeBackground: Bool = true)
        throws -> (loss: Float, gradient: Tensor)
    {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 1)
        let binary = c == 1
        let probabilities = binary ? logits.map { 1 / (1 + exp(-$0)) } : softmax(logits, n, c, plane)
        let averaged = binary || includeBackground ? Array(0..<c) : Array(1..<c)
        func truth(_ b: Int, _ k: Int, _ i: Int) -> Double {
            let t = Int(targets[b * plane + i])
            return binary ? Double(t) : (t == k ? 1 : 0)
        }
        var intersection = [Double](repeating: 0, count: c)
        var union = [Double](repeating: 0, count: c)
        for b in 0..<n {
            for k in averaged {
                for i in 0..<plane where targets[b * plane + i] >= 0 {
                    let p = Double(probabilities[flat: (b * c + k) * plane + i])
                    let t = truth(b, k, i)
                    intersection[k] += p * t
                    union[k] += p + t
                }
            }
        }
        let eps = Double(epsilon)
        let count = Double(averaged.count)
        let loss = 1 - averaged.reduce(0) { $0 + (2 * intersection[$1] + eps) / (union[$1] + eps) } / count
        // dL/dp for class k: −(1/K)·(2t·(U + ε) − (2I + ε)) / (U + ε)², zero for ignored pixels.
        var dProbabilities = Tensor(shape: logits.shape)
        dProbabilities.withUnsafeMutableBufferPointer { g in
            for b in 0..<n {
                for k in averaged {
                    let u = union[k] + eps
                    for i in 0..<plane where targets[b * plane + i] >= 0 {
                        let t = truth(b, k, i)
                        g[(b * c + k) * plane + i] = Float(-(2 * t * u - (2 * intersection[k] + eps)) / (u * u) / count)
                    }
                }
            }
        }
        return (Float(loss), activationBackward(dProbabilities, probabilities, n, c, plane))
    }

    /// Focal loss `−(1 − p_t)^γ · log p_t`, mean over counted pixels, with `p_t` the softmax (sigmoid for one
    /// class) probability of the true class.
    public static func focal(logits: Tensor, targets: [Int32], gamma: Float = 2) throws -> (loss: Float, gradient: Tensor) {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 1)
        let count = Float(targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
        var total: Double = 0
        var gradient = Tensor(shape: logits.shape)
        if c == 1 {
            gradient.withUnsafeMutableBufferPointer { g in
                for i in 0..<(n * plane) where targets[i] >= 0 {
                    let z = logits[flat: i]
                    let s = Float(targets[i]) == 1 ? z : -z  // p_t = σ(s)
                    let pt = 1 / (1 + exp(-s))
                    let logPt = -log1p(exp(-abs(s))) + min(s, 0)
                    total -= Double(pow(1 - pt, gamma) * logPt)
                    // d/ds of −(1 − p)^γ log p with p = σ(s): (1 − p)^γ·(γ·p·log p − (1 − p)).
                    let ds = pow(1 - pt, gamma) * (gamma * pt * logPt - (1 - pt))
                    g[i] = (Float(targets[i]) == 1 ? ds : -ds) / count
                }
            }
            return (count > 0 ? Float(total / Double(count)) : 0, gradient)
        }
        let p = softmax(logits, n, c, plane)
        gradient.withUnsafeMutableBufferPointer { g in
            for b in 0..<n {
                for i in 0..<plane {
                    let t = Int(targets[b * plane + i])
                    guard t >= 0 else { continue }
                    let pt = p[flat: (b * c + t) * plane + i]
                    let logPt = log(max(pt, Float.leastNormalMagnitude))
                    total -= Double(pow(1 - pt, gamma) * logPt)
                    // dL/dp_t, then through the softmax: dL/dz_k = dL/dp_t · p_t · (δ_kt − p_k).
                    let dpt = gamma * pow(1 - pt, gamma - 1) * logPt - pow(1 - pt, gamma) / max(pt, Float.leastNormalMagnitude)
                    for k in 0..<c {
                        let index = (b * c + k) * plane + i
                        g[index] = dpt * pt * ((k == t ? 1 : 0) - p[flat: index]) / count
                    }
                }
            }
        }
        return (count > 0 ? Float(total / Double(count)) : 0, gradient)
    }

    /// Cross-entropy (binary for one class) plus soft Dice: the benchmark's and milesial's training loss.
    public static func diceCrossEntropy(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        try LossFunction()(logits: logits, targets: targets)
    }

    // MARK: - Helpers

    /// `(N, C, H·W)` after checking the logits and targets agree and every target is a class or `-1`.
    static func dimensions(_ logits: Tensor, _ targets: [Int32], minimumClasses: Int, maximumClasses: Int = .max)
        throws -> (Int, Int, Int)
    {
        guard logits.rank == 4, logits.shape[1] >= minimumClasses, logits.shape[1] <= maximumClasses else {
            throw TensorError("loss", "logits must be (N, C, H, W) with \(minimumClasses)"
                + (maximumClasses == .max ? "+" : "...\(maximumClasses)") + " classes, got \(logits.shape)")
        }
        let (n, c, plane) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        guard targets.count == n * plane else {
            throw TensorError("loss", "targets hold \(targets.count) pixels, logits \(logits.shape) need \(n * plane)")
        }
        let classes = max(c, 2)
        if let bad = targets.first(where: { $0 < -1 || Int($0) >= classes }) {
            throw TensorError("loss", "target class \(bad) outside 0..<\(classes) (and -1 for ignored pixels)")
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

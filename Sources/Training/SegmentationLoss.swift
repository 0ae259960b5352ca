import DNNL
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Segmentation losses on logits `(N, C, H, W)`, each returning the mean loss and its gradient with respect
/// to the logits. Targets are class indices per pixel, `(N·H·W)` row-major as `(N, H, W)`; `-1` marks a pixel
/// that is ignored. For one class (`C == 1`) targets are 0/1 and the activation is the sigmoid.
///
/// The loops run over blocks of pixels on oneDNN's threads; sums are taken per block in double precision and then
/// added in block order, so a loss does not depend on the number of threads.
public enum SegmentationLoss {
    /// Mean cross-entropy over counted pixels, weighted by class when `classWeights` is given. Mirrors
    /// `torch.nn.functional.cross_entropy(logits, target, weight=, ignore_index=)`: the weighted mean divides by
    /// the sum of the counted pixels' weights.
    public static func crossEntropy(logits: Tensor, targets: [Int32], classWeights: [Float]? = nil) throws
        -> (loss: Float, gradient: Tensor)
    {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 2)
        return try crossEntropy(probabilities: softmax(logits, n, c, plane), targets: targets, classWeights: classWeights, n, c, plane)
    }

    /// `crossEntropy(logits:targets:classWeights:)` from the logits' softmax, the logits and targets checked.
    static func crossEntropy(probabilities: Tensor, targets: [Int32], classWeights: [Float]?, _ n: Int, _ c: Int, _ plane: Int)
        throws -> (loss: Float, gradient: Tensor)
    {
        if let classWeights, classWeights.count != c {
            throw TensorError("loss", "\(classWeights.count) class weights for \(c) classes")
        }
        var gradient = probabilities
        let sums = BlockSums(blocks: blockCount(n, plane), width: 2)
        var weightSum = 0.0
        gradient.withUnsafeMutableBufferPointer { g in
            targets.withUnsafeBufferPointer { t in
                let (g, t) = (g.baseAddress!, t.baseAddress!)
                forEachBlock(n, plane) { block, b, pixels in
                    var (total, weightSum) = (0.0, 0.0)
                    let (gb, tb) = (g + b * c * plane, t + b * plane)
                    for i in pixels {
                        let target = Int(tb[i])
                        guard target >= 0 else {
                            for k in 0..<c { gb[k * plane + i] = 0 }
                            continue
                        }
                        let w = classWeights?[target] ?? 1
                        let index = target * plane + i
                        total -= Double(w) * Double(log(max(gb[index], Float.leastNormalMagnitude)))
                        weightSum += Double(w)
                        for k in 0..<c { gb[k * plane + i] *= w }
                        gb[index] -= w
                    }
                    sums[block, 0] = total
                    sums[block, 1] = weightSum
                }
                weightSum = sums.total(1)
                let scale = Float(weightSum > 0 ? 1 / weightSum : 0)
                forEachBlock(n, plane) { _, b, pixels in
                    for k in 0..<c {
                        let row = g + (b * c + k) * plane
                        for i in pixels { row[i] *= scale }
                    }
                }
            }
        }
        return (weightSum > 0 ? Float(sums.total(0) / weightSum) : 0, gradient)
    }

    /// Mean binary cross-entropy of one-class logits `(N, 1, H, W)` against 0/1 targets over counted pixels,
    /// computed stably. Mirrors `torch.nn.functional.binary_cross_entropy_with_logits` on the counted pixels.
    public static func binaryCrossEntropy(logits: Tensor, targets: [Int32]) throws -> (loss: Float, gradient: Tensor) {
        let (n, _, plane) = try dimensions(logits, targets, minimumClasses: 1, maximumClasses: 1)
        return binaryCrossEntropy(logits: logits, probabilities: sigmoid(logits, n, plane), targets: targets, n, plane)
    }

    /// `binaryCrossEntropy(logits:targets:)` with the logits' sigmoid, the logits and targets checked: the loss from the
    /// logits (stable), the gradient from `probabilities`.
    static func binaryCrossEntropy(logits: Tensor, probabilities: Tensor, targets: [Int32], _ n: Int, _ plane: Int)
        -> (loss: Float, gradient: Tensor)
    {
        let count = Float(targets.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) })
        let sums = BlockSums(blocks: blockCount(n, plane), width: 1)
        var gradient = Tensor(shape: logits.shape)
        gradient.withUnsafeMutableBufferPointer { g in
            logits.withUnsafeBufferPointer { z in
                probabilities.withUnsafeBufferPointer { p in
                    targets.withUnsafeBufferPointer { t in
                        let (g, z, p, t) = (g.baseAddress!, z.baseAddress!, p.baseAddress!, t.baseAddress!)
                        forEachBlock(n, plane) { block, b, pixels in
                            var total = 0.0
                            for i in pixels where t[b * plane + i] >= 0 {
                                let (z, t) = (z[b * plane + i], Float(t[b * plane + i]))
                                total += Double(max(z, 0) - z * t + log1p(exp(-abs(z))))
                                g[b * plane + i] = (p[b * plane + i] - t) / count
                            }
                            sums[block, 0] = total
                        }
                    }
                }
            }
        }
        return (count > 0 ? Float(sums.total(0) / Double(count)) : 0, gradient)
    }

    /// The soft Dice loss's ε, the benchmark reference's.
    public static let diceEpsilon: Float = 1e-6

    /// Soft Dice loss `1 − mean_c (2·Σ p·t + ε) / (Σ p + Σ t + ε)`, the sums over the batch and the counted pixels
    /// of each class, on softmax probabilities (sigmoid for one class). The benchmark reference's
    /// `soft_dice_loss`; `includeBackground: false` averages over classes 1... only (multi-class).
    public static func softDice(logits: Tensor, targets: [Int32], epsilon: Float = diceEpsilon, includeBackground: Bool = true)
        throws -> (loss: Float, gradient: Tensor)
    {
        let (n, c, plane) = try dimensions(logits, targets, minimumClasses: 1)
        let probabilities = probabilities(logits, n, c, plane)
        var gradient = Tensor.empty(shape: probabilities.shape)
        let loss = softDice(probabilities: probabilities, targets: targets, epsilon: epsilon, includeBackground: includeBackground,
                            n, c, plane, gradient: &gradient, adding: false)
        return (loss, gradient)
    }

    /// The classes soft Dice averages over for `classes` output channels: all of them, or 1... where the background
    /// is left out. One class (sigmoid) has no background term to leave out: its Dice is the foreground's.
    public static func diceClasses(_ classes: Int, includeBackground: Bool) -> Range<Int> {
        classes == 1 || includeBackground ? 0..<classes : 1..<classes
    }

    /// `softDice(logits:targets:epsilon:includeBackground:)` from the logits' softmax (sigmoid for one class), the
    /// arguments checked: the loss, its gradient written into `gradient` (of the logits' shape), or added to what it
    /// holds (`adding`: another term's gradient, so that no pass adds the two).
    static func softDice(probabilities: Tensor, targets: [Int32], epsilon: Float, includeBackground: Bool,
                         _ n: Int, _ c: Int, _ plane: Int, gradient: inout Tensor, adding: Bool) -> Float
    {
        let binary = c == 1
        let averaged = Array(diceClasses(c, includeBackground: includeBackground))
        // Per block, each class's intersection Σ p·t and union Σ p + t.
        let sums = BlockSums(blocks: blockCount(n, plane), width: 2 * c)
        probabilities.withUnsafeBufferPointer { p in
            targets.withUnsafeBufferPointer { t in
                let (p, t) = (p.baseAddress!, t.baseAddress!)
                forEachBlock(n, plane) { block, b, pixels in
                    let (pb, tb) = (p + b * c * plane, t + b * plane)
                    for k in averaged {
                        var (intersection, union) = (0.0, 0.0)
                        for i in pixels where tb[i] >= 0 {
                            let probability = Double(pb[k * plane + i])
                            let truth: Double = binary ? Double(tb[i]) : (Int(tb[i]) == k ? 1 : 0)
                            intersection += probability * truth
                            union += probability + truth
                        }
                        sums[block, 2 * k] = intersection
                        sums[block, 2 * k + 1] = union
                    }
                }
            }
        }
        let eps = Double(epsilon)
        let count = Double(averaged.count)
        let (intersection, union) = ((0..<c).map { sums.total(2 * $0) }, (0..<c).map { sums.total(2 * $0 + 1) })
        let loss = 1 - averaged.reduce(0) { $0 + (2 * intersection[$1] + eps) / (union[$1] + eps) } / count
        // dL/dp for class k: −(1/K)·(2t·(U + ε) − (2I + ε)) / (U + ε)², for t = 0 and t = 1; zero for classes left
        // out and for ignored pixels. Then back through the softmax, p ⊙ (g − Σ_k p_k g_k), or the sigmoid, g·p·(1 − p).
        var slope: [(absent: Float, present: Float)] = Array(repeating: (0, 0), count: c)
        for k in averaged {
            let u = union[k] + eps
            func dp(_ t: Double) -> Float { Float(-(2 * t * u - (2 * intersection[k] + eps)) / (u * u) / count) }
            slope[k] = (dp(0), dp(1))
        }
        gradient.withUnsafeMutableBufferPointer { out in
            probabilities.withUnsafeBufferPointer { p in
                targets.withUnsafeBufferPointer { t in
                    let (out, p, t) = (out.baseAddress!, p.baseAddress!, t.baseAddress!)
                    slope.withUnsafeBufferPointer { slope in
                        forEachBlock(n, plane) { _, b, pixels in
                            let (ob, pb, tb) = (out + b * c * plane, p + b * c * plane, t + b * plane)
                            for i in pixels {
                                let target = Int(tb[i])
                                func g(_ k: Int) -> Float {
                                    target < 0 ? 0 : (binary ? target == 1 : target == k) ? slope[k].present : slope[k].absent
                                }
                                if binary {
                                    let probability = pb[i]
                                    ob[i] = (adding ? ob[i] : 0) + g(0) * (probability * (1 - probability))
                                    continue
                                }
                                var dot: Float = 0
                                for k in 0..<c { dot += pb[k * plane + i] * g(k) }
                                for k in 0..<c { ob[k * plane + i] = (adding ? ob[k * plane + i] : 0) + pb[k * plane + i] * (g(k) - dot) }
                            }
                        }
                    }
                }
            }
        }
        return Float(loss)
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
                let (out, z) = (out.baseAddress!, z.baseAddress!)
                forEachBlock(n, plane) { _, b, pixels in
                    let (zb, ob) = (z + b * c * plane, out + b * c * plane)
                    for i in pixels {
                        var largest = -Float.infinity
                        for k in 0..<c { largest = max(largest, zb[k * plane + i]) }
                        var sum: Float = 0
                        for k in 0..<c {
                            let e = exp(zb[k * plane + i] - largest)
                            ob[k * plane + i] = e
                            sum += e
                        }
                        for k in 0..<c { ob[k * plane + i] /= sum }
                    }
                }
            }
        }
        return result
    }

    /// What the losses score: the softmax over channels, or the sigmoid for one class.
    static func probabilities(_ logits: Tensor, _ n: Int, _ c: Int, _ plane: Int) -> Tensor {
        c == 1 ? sigmoid(logits, n, plane) : softmax(logits, n, c, plane)
    }

    /// The sigmoid of one-class logits `(N, 1, H, W)`.
    static func sigmoid(_ logits: Tensor, _ n: Int, _ plane: Int) -> Tensor {
        var result = Tensor.empty(shape: logits.shape)
        result.withUnsafeMutableBufferPointer { out in
            logits.withUnsafeBufferPointer { z in
                let (out, z) = (out.baseAddress!, z.baseAddress!)
                forEachBlock(n, plane) { _, b, pixels in
                    for i in pixels { out[b * plane + i] = 1 / (1 + exp(-z[b * plane + i])) }
                }
            }
        }
        return result
    }

    /// Pixels per block of the loops.
    static let blockPixels = 8192

    static func blockCount(_ n: Int, _ plane: Int) -> Int { n * ((plane + blockPixels - 1) / blockPixels) }

    /// Runs `body(block, image, pixels)` for each block of pixels of each image, on oneDNN's threads.
    static func forEachBlock(_ n: Int, _ plane: Int, _ body: (_ block: Int, _ image: Int, _ pixels: Range<Int>) -> Void) {
        let perImage = (plane + blockPixels - 1) / blockPixels
        Threads.parallel(chunks: n * perImage) { blocks in
            for block in blocks {
                let (b, start) = (block / perImage, block % perImage * blockPixels)
                body(block, b, start..<min(plane, start + blockPixels))
            }
        }
    }
}

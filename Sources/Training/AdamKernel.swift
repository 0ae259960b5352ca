import CVectorMath

/// Adam's element-wise update over raw buffers, eight lanes at a time with a scalar tail. The vector and
/// scalar paths perform the same IEEE operations in the same order (no fused multiply-add; `unet_sqrt8` and
/// `unet_sqrt` round as `Float.squareRoot()` does), so a parameter's result does not depend on how its elements are
/// split into chunks.
struct AdamKernel {
    let beta1, beta2, epsilon, learningRate, weightDecay: Float
    let decoupled: Bool
    /// `lr / (1 − β1^t)` and `√(1 − β2^t)`.
    let stepSize, correction2: Float

    /// Updates elements `range` of the parameter `p` and its moments `m`, `v` from the gradient `g`.
    func run(_ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
             _ g: UnsafePointer<Float>, _ range: Range<Int>) {
        typealias V = SIMD8<Float>
        let lanes = V.scalarCount
        var i = range.lowerBound
        let (rp, rm, rv, rg) = (UnsafeMutableRawPointer(p), UnsafeMutableRawPointer(m), UnsafeMutableRawPointer(v),
                                UnsafeRawPointer(g))
        let (b1, b2, eps) = (V(repeating: beta1), V(repeating: beta2), V(repeating: epsilon))
        let (oneMinusB1, oneMinusB2) = (V(repeating: 1 - beta1), V(repeating: 1 - beta2))
        let (decay, wd) = (V(repeating: 1 - learningRate * weightDecay), V(repeating: weightDecay))
        let (size, correction) = (V(repeating: stepSize), V(repeating: correction2))
        let l2 = !decoupled && weightDecay != 0
        while i + lanes <= range.upperBound {
            let offset = i * MemoryLayout<Float>.stride
            var param = rp.loadUnaligned(fromByteOffset: offset, as: V.self)
            var grad = rg.loadUnaligned(fromByteOffset: offset, as: V.self)
            if decoupled { param *= decay } else if l2 { grad += wd * param }
            let first = b1 * rm.loadUnaligned(fromByteOffset: offset, as: V.self) + oneMinusB1 * grad
            let second = b2 * rv.loadUnaligned(fromByteOffset: offset, as: V.self) + oneMinusB2 * grad * grad
            param -= size * first / (unet_sqrt8(second) / correction + eps)
            rm.storeBytes(of: first, toByteOffset: offset, as: V.self)
            rv.storeBytes(of: second, toByteOffset: offset, as: V.self)
            rp.storeBytes(of: param, toByteOffset: offset, as: V.self)
            i += lanes
        }
        while i < range.upperBound {
            var grad = g[i]
            if decoupled { p[i] *= 1 - learningRate * weightDecay } else if l2 { grad += weightDecay * p[i] }
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            v[i] = beta2 * v[i] + (1 - beta2) * grad * grad
            p[i] -= stepSize * m[i] / (unet_sqrt(v[i]) / correction2 + epsilon)
            i += 1
        }
    }
}

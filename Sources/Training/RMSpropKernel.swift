import CVectorMath

/// RMSprop's element-wise update over raw buffers (the formulas of `RMSprop`), eight lanes at a time with a scalar
/// tail. The vector and scalar paths perform the same IEEE operations in the same order (no fused multiply-add), so a
/// parameter's result does not depend on how its elements are split into chunks.
struct RMSpropKernel {
    let learningRate, alpha, epsilon, weightDecay: Float
    /// 0: no momentum buffer (`b` is not touched).
    let momentum: Float

    /// Updates elements `range` of the parameter `p`, its square average `s` and momentum buffer `b` from the
    /// gradient `g`.
    func run(_ p: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>,
             _ g: UnsafePointer<Float>, _ range: Range<Int>) {
        typealias V = SIMD8<Float>
        let lanes = V.scalarCount
        var i = range.lowerBound
        let (rp, rs, rb, rg) = (UnsafeMutableRawPointer(p), UnsafeMutableRawPointer(s), UnsafeMutableRawPointer(b),
                                UnsafeRawPointer(g))
        let (lr, a, oneMinusA) = (V(repeating: learningRate), V(repeating: alpha), V(repeating: 1 - alpha))
        let (eps, wd, mu) = (V(repeating: epsilon), V(repeating: weightDecay), V(repeating: momentum))
        while i + lanes <= range.upperBound {
            let offset = i * MemoryLayout<Float>.stride
            var param = rp.loadUnaligned(fromByteOffset: offset, as: V.self)
            let grad = rg.loadUnaligned(fromByteOffset: offset, as: V.self) + wd * param
            let square = a * rs.loadUnaligned(fromByteOffset: offset, as: V.self) + oneMinusA * grad * grad
            let average = unet_sqrt8(square) + eps
            rs.storeBytes(of: square, toByteOffset: offset, as: V.self)
            if momentum > 0 {
                let buffer = mu * rb.loadUnaligned(fromByteOffset: offset, as: V.self) + grad / average
                rb.storeBytes(of: buffer, toByteOffset: offset, as: V.self)
                param -= lr * buffer
            } else {
                param -= lr * grad / average
            }
            rp.storeBytes(of: param, toByteOffset: offset, as: V.self)
            i += lanes
        }
        while i < range.upperBound {
            let grad = g[i] + weightDecay * p[i]
            s[i] = alpha * s[i] + (1 - alpha) * grad * grad
            let average = unet_sqrt(s[i]) + epsilon
            if momentum > 0 {
                b[i] = momentum * b[i] + grad / average
                p[i] -= learningRate * b[i]
            } else {
                p[i] -= learningRate * grad / average
            }
            i += 1
        }
    }
}

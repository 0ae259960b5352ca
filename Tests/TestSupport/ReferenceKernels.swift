import Tensors

// Naive loop kernels, written straight from the definitions, that cross-check oneDNN at random shapes
// without Python. Test-only: the production path never uses them.

/// `y[n, o, i, j] = b[o] + Σ_c Σ_p Σ_q x[n, c, i·s + p − pad, j·s + q − pad] · w[o, c, p, q]`.
public func conv2dReference(_ x: Tensor, weight w: Tensor, bias: Tensor?, stride s: Int, padding pad: Int) -> Tensor {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, k) = (w.shape[0], w.shape[2])
    let (oh, ow) = ((h + 2 * pad - k) / s + 1, (wd + 2 * pad - k) / s + 1)
    var y = Tensor(shape: [n, o, oh, ow])
    for b in 0..<n {
        for oc in 0..<o {
            for i in 0..<oh {
                for j in 0..<ow {
                    var total: Double = Double(bias?[oc] ?? 0)
                    for ic in 0..<c {
                        for p in 0..<k {
                            for q in 0..<k {
                                let (r, col) = (i * s + p - pad, j * s + q - pad)
                                guard r >= 0, r < h, col >= 0, col < wd else { continue }
                                total += Double(x[b, ic, r, col]) * Double(w[oc, ic, p, q])
                            }
                        }
                    }
                    y[b, oc, i, j] = Float(total)
                }
            }
        }
    }
    return y
}

/// `y[n, o, i·s + p, j·s + q] += x[n, c, i, j] · w[c, o, p, q]` (PyTorch's `(C_in, C_out, k, k)` weight), plus bias.
public func convTranspose2dReference(_ x: Tensor, weight w: Tensor, bias: Tensor?, stride s: Int) -> Tensor {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, k) = (w.shape[1], w.shape[2])
    let (oh, ow) = ((h - 1) * s + k, (wd - 1) * s + k)
    var y = Tensor(shape: [n, o, oh, ow])
    for b in 0..<n {
        for oc in 0..<o {
            for i in 0..<oh { for j in 0..<ow { y[b, oc, i, j] = bias?[oc] ?? 0 } }
            for ic in 0..<c {
                for i in 0..<h {
                    for j in 0..<wd {
                        for p in 0..<k {
                            for q in 0..<k { y[b, oc, i * s + p, j * s + q] += x[b, ic, i, j] * w[ic, oc, p, q] }
                        }
                    }
                }
            }
        }
    }
    return y
}

/// Max over each `k`×`k` window at stride `k`, floor mode.
public func maxPool2dReference(_ x: Tensor, kernelSize k: Int) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    var y = Tensor(shape: [n, c, h / k, w / k])
    for b in 0..<n {
        for ch in 0..<c {
            for i in 0..<(h / k) {
                for j in 0..<(w / k) {
                    var best = -Float.infinity
                    for p in 0..<k { for q in 0..<k { best = max(best, x[b, ch, i * k + p, j * k + q]) } }
                    y[b, ch, i, j] = best
                }
            }
        }
    }
    return y
}

/// Bilinear up-sampling with aligned corners, computed pointwise in Double.
public func upsampleBilinearReference(_ x: Tensor, scale: Int) -> Tensor {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (oh, ow) = (h * scale, w * scale)
    var y = Tensor(shape: [n, c, oh, ow])
    func source(_ o: Int, _ input: Int, _ output: Int) -> (Int, Int, Double) {
        let s = output > 1 ? Double(o) * Double(input - 1) / Double(output - 1) : 0
        let i0 = Int(s)
        return (i0, min(i0 + 1, input - 1), s - Double(i0))
    }
    for b in 0..<n {
        for ch in 0..<c {
            for i in 0..<oh {
                let (r0, r1, a) = source(i, h, oh)
                for j in 0..<ow {
                    let (c0, c1, bw) = source(j, w, ow)
                    let top = (1 - bw) * Double(x[b, ch, r0, c0]) + bw * Double(x[b, ch, r0, c1])
                    let bottom = (1 - bw) * Double(x[b, ch, r1, c0]) + bw * Double(x[b, ch, r1, c1])
                    y[b, ch, i, j] = Float((1 - a) * top + a * bottom)
                }
            }
        }
    }
    return y
}

import Kernels
import Tensors

/// Turning logits into class maps, and targets into the logits' frame.
public enum SegmentationPrediction {
    /// The class of every pixel of `(N, C, H, W)` logits: the arg-max over channels, or for one channel
    /// whether the logit is above `logit(threshold)` (sigmoid above `threshold`, 0.5 by default).
    public static func classes(_ logits: Tensor, threshold: Float = 0.5) -> [Int32] {
        let (n, c, plane) = (logits.shape[0], logits.shape[1], logits.shape[2] * logits.shape[3])
        let cut = log(threshold / (1 - threshold))
        var result = [Int32](repeating: 0, count: n * plane)
        logits.withUnsafeBufferPointer { z in
            for b in 0..<n {
                for i in 0..<plane {
                    if c == 1 {
                        result[b * plane + i] = z[b * plane + i] > cut ? 1 : 0
                        continue
                    }
                    var best = 0
                    for k in 1..<c where z[(b * c + k) * plane + i] > z[(b * c + best) * plane + i] { best = k }
                    result[b * plane + i] = Int32(best)
                }
            }
        }
        return result
    }

    /// Per-image `(H, W)` targets center-cropped (torchvision semantics, padding with ignored pixels when larger)
    /// to `(height, width)`: a valid-convolution network's logits are smaller than its input.
    public static func cropTargets(_ targets: [Int32], batch: Int, height: Int, width: Int, to outHeight: Int, _ outWidth: Int)
        throws -> [Int32]
    {
        guard (height, width) != (outHeight, outWidth) else { return targets }
        let p = try centerCropPadding(inputHeight: height, inputWidth: width, height: outHeight, width: outWidth)
        var out = [Int32](repeating: -1, count: batch * outHeight * outWidth)
        for b in 0..<batch {
            for y in 0..<outHeight {
                let sy = y - p.top
                guard sy >= 0, sy < height else { continue }
                for x in 0..<outWidth {
                    let sx = x - p.left
                    guard sx >= 0, sx < width else { continue }
                    out[(b * outHeight + y) * outWidth + x] = targets[(b * height + sy) * width + sx]
                }
            }
        }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#endif

import NN
import Tensors

/// A decoder level's up-sampling: `ConvTranspose2d(C, C/2, k=2, s=2)` or bilinear x2 (aligned corners).
public enum Upsampler {
    case transposed(ConvTranspose2d)
    case bilinear(Upsample)

    /// The module, for state-dict keys (the bilinear one has none).
    public var module: any Module {
        switch self {
        case .transposed(let conv): conv
        case .bilinear(let upsample): upsample
        }
    }
}

import Kernels
import Tensors

/// Class probabilities from logits: softmax over the channels, or the sigmoid of a single channel.
public enum Probabilities {
    /// `(N, C, H, W)` probabilities of `(N, C, H, W)` logits: softmax for C > 1, sigmoid for C = 1.
    public static func of(_ logits: Tensor) throws -> Tensor {
        logits.shape[1] == 1 ? try sigmoidForward(logits) : try softmaxForward(logits)
    }
}

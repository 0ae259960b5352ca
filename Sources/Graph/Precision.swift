/// The arithmetic of a compiled network.
public enum Precision: String, Sendable, CaseIterable {
    /// float32 everywhere.
    case fp32
    /// Mixed precision (`--amp`, `--dtype bf16`): activations and convolutions in bfloat16 through oneDNN's
    /// bf16 kernels, float32 weights, statistics, gradients and logits. Some regions may run in float32 where
    /// that is faster (the precision pass).
    case bf16
}

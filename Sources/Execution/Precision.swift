/// The arithmetic of a compiled network.
public enum Precision: String, Sendable, CaseIterable {
    /// float32 everywhere.
    case fp32
    /// Mixed precision (`--amp`, `--dtype bf16`): activations and convolutions in bfloat16 through oneDNN's
    /// bf16 kernels, float32 weights, statistics, gradients and logits. Deeper levels run in float32 where
    /// oneDNN's fp32 Winograd convolutions are faster (`CompiledUNet.levelPrecisions`).
    case bf16
}

extension Tensor {
    /// Elements drawn uniformly from `[low, high)` (PyTorch `torch.empty(shape).uniform_(low, high)`).
    public static func uniform(
        shape: [Int], low: Float = 0, high: Float = 1, using generator: inout SeededGenerator
    ) -> Tensor {
        var result = Tensor.empty(shape: shape)
        result.withUnsafeMutableBufferPointer { values in
            for i in 0..<values.count { values[i] = low + (high - low) * generator.nextUnitFloat() }
        }
        return result
    }

    /// Elements drawn from a normal distribution (PyTorch `torch.randn(shape) * std + mean`).
    public static func normal(
        shape: [Int], mean: Float = 0, standardDeviation: Float = 1, using generator: inout SeededGenerator
    ) -> Tensor {
        var result = Tensor.empty(shape: shape)
        result.withUnsafeMutableBufferPointer { values in
            for i in 0..<values.count { values[i] = mean + standardDeviation * generator.nextNormal() }
        }
        return result
    }
}

import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Batch normalization kernels")
struct BatchNormTests {
    @Test("training mode matches PyTorch: output, batch statistics, gradients")
    func training() throws {
        let f = try Fixture("ops/batch_norm2d_train")
        let (x, weight, bias, dy) = (try f.tensor("x"), try f.tensor("weight"), try f.tensor("bias"), try f.tensor("dy"))
        let (y, statistics) = try batchNorm2dForwardTraining(x, weight: weight, bias: bias)
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        // The batch statistics are what PyTorch folded into its running stats (momentum 0.1, unbiased var).
        let n = Float(x.shape[0] * x.shape[2] * x.shape[3])
        let expectedMean = try (10 * (try f.tensor("running_mean_after") - 0.9 * (try f.tensor("running_mean"))))
        expectClose(statistics.mean, expectedMean, rtol: 1e-3, atol: 1e-4, "mean")
        let expectedVariance = ((n - 1) / n * 10) * (try f.tensor("running_var_after") - 0.9 * (try f.tensor("running_var")))
        expectClose(statistics.variance, expectedVariance, rtol: 1e-3, atol: 1e-4, "variance")
        let (dx, dWeight, dBias) = try batchNorm2dBackward(
            dy, input: x, weight: weight, bias: bias, mean: statistics.mean, variance: statistics.variance,
            useGlobalStatistics: false)
        expectClose(dx, try f.tensor("dx"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
        expectClose(try #require(dWeight), try f.tensor("dweight"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dweight")
        expectClose(try #require(dBias), try f.tensor("dbias"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dbias")
    }

    @Test("eval mode matches PyTorch: output and gradients with running statistics")
    func evaluation() throws {
        let f = try Fixture("ops/batch_norm2d_eval")
        let (x, weight, bias, dy) = (try f.tensor("x"), try f.tensor("weight"), try f.tensor("bias"), try f.tensor("dy"))
        let (mean, variance) = (try f.tensor("running_mean"), try f.tensor("running_var"))
        let y = try batchNorm2dForwardInference(x, weight: weight, bias: bias, mean: mean, variance: variance)
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        let (dx, dWeight, dBias) = try batchNorm2dBackward(
            dy, input: x, weight: weight, bias: bias, mean: mean, variance: variance, useGlobalStatistics: true)
        expectClose(dx, try f.tensor("dx"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
        expectClose(try #require(dWeight), try f.tensor("dweight"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dweight")
        expectClose(try #require(dBias), try f.tensor("dbias"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dbias")
    }

    @Test("training-mode gradients match finite differences (input, weight, bias)")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 11)
        let x = Tensor.normal(shape: [2, 3, 3, 4], mean: 0.5, standardDeviation: 2, using: &g)
        let weight = Tensor.uniform(shape: [3], low: 0.5, high: 1.5, using: &g)
        let bias = Tensor.normal(shape: [3], using: &g)
        func run(_ x: Tensor, _ w: Tensor, _ b: Tensor) throws -> (Tensor, (Tensor) throws -> (Tensor, Tensor, Tensor)) {
            let (y, s) = try batchNorm2dForwardTraining(x, weight: w, bias: b)
            return (y, { dy in
                let r = try batchNorm2dBackward(dy, input: x, weight: w, bias: b, mean: s.mean, variance: s.variance,
                                                useGlobalStatistics: false)
                return (r.input, r.weight!, r.bias!)
            })
        }
        try checkGradient(of: { x in let (y, p) = try run(x, weight, bias); return (y, { try p($0).0 }) }, at: x,
                          epsilon: 1e-2, rtol: 2e-2, atol: 2e-3)
        try checkGradient(of: { w in let (y, p) = try run(x, w, bias); return (y, { try p($0).1 }) }, at: weight)
        try checkGradient(of: { b in let (y, p) = try run(x, weight, b); return (y, { try p($0).2 }) }, at: bias)
    }

    @Test("eval-mode input gradient matches finite differences")
    func evalFiniteDifferences() throws {
        var g = SeededGenerator(seed: 12)
        let x = Tensor.normal(shape: [2, 3, 3, 4], using: &g)
        let (w, b) = (Tensor.uniform(shape: [3], low: 0.5, high: 1.5, using: &g), Tensor.normal(shape: [3], using: &g))
        let (m, v) = (Tensor.normal(shape: [3], using: &g), Tensor.uniform(shape: [3], low: 0.5, high: 2, using: &g))
        try checkGradient(of: { x in
            (try batchNorm2dForwardInference(x, weight: w, bias: b, mean: m, variance: v), { dy in
                try batchNorm2dBackward(dy, input: x, weight: w, bias: b, mean: m, variance: v,
                                        useGlobalStatistics: true).input
            })
        }, at: x)
    }

    @Test("a parameter of the wrong size names the op and both shapes")
    func wrongSizes() throws {
        let error = #expect(throws: TensorError.self) {
            try batchNorm2dForwardTraining(Tensor(shape: [2, 3, 4, 4]), weight: Tensor(shape: [4]), bias: nil)
        }
        #expect(try #require(error).description.contains("[2, 3, 4, 4]"))
    }
}

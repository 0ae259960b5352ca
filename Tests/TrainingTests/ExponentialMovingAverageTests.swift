import NN
import Tensors
import TestSupport
import Testing
import Training

@Suite("Exponential moving average of the weights against PyTorch's AveragedModel")
struct ExponentialMovingAverageTests {
    @Test("six updates of two parameters and a running statistic reproduce AveragedModel with the warmed-up decay")
    func againstPyTorch() throws {
        let f = try Fixture("ema/warmup")
        let names = ["weight", "bias", "running_mean"]
        let parameters = try names.map { Parameter(try f.tensor($0 + "_1"), requiresGrad: $0 != "running_mean") }
        let average = ExponentialMovingAverage(parameters: parameters, decay: 0.9)
        for k in 1...6 {
            for (name, parameter) in zip(names, parameters) { parameter.value = try f.tensor("\(name)_\(k)") }
            average.update()
            for (index, name) in names.enumerated() {
                expectClose(average.averages[index], try f.tensor("avg_\(name)_\(k)"), rtol: 1e-6, atol: 1e-6, "\(name) after update \(k)")
            }
        }
        #expect(average.updates == 6)
        #expect(average.currentDecay == Float(7) / 16)  // still the warm-up's (1 + 6) / (10 + 6): under 0.9 until 81 updates
    }

    @Test("a parameter large enough to be averaged on every thread gets the same formula at every element")
    func large() throws {
        var g = SeededGenerator(seed: 6)
        let parameter = Parameter(Tensor.normal(shape: [100_003], using: &g))
        let average = ExponentialMovingAverage(parameters: [parameter], decay: 0.9)
        average.update()  // the first update copies
        var expected = parameter.value.scalars
        parameter.value = Tensor.normal(shape: [100_003], using: &g)
        let d = average.currentDecay
        average.update()
        for (i, v) in parameter.value.scalars.enumerated() { expected[i] = d * expected[i] + (1 - d) * v }
        #expect(average.averages[0].scalars == expected)
    }

    @Test("integer buffers are copied; exchanging swaps values and averages in the parameters' own storage, twice restores both")
    func exchangeAndIntegers() throws {
        let weight = Parameter(try Tensor(shape: [2], scalars: [1, 2]))
        let counter = Parameter(try Tensor(shape: [1], scalars: [3]), requiresGrad: false, isInteger: true)
        let average = ExponentialMovingAverage(parameters: [weight, counter], decay: 0.5)
        average.update()  // copies
        weight.value = try Tensor(shape: [2], scalars: [3, 6])
        counter.value = try Tensor(shape: [1], scalars: [7])
        average.update()  // d = min(0.5, 2 / 11)
        let d: Float = 2.0 / 11
        #expect(average.averages[0].scalars == [d * 1 + (1 - d) * 3, d * 2 + (1 - d) * 6])
        #expect(average.averages[1].scalars == [7])
        let storage = weight.value.withUnsafeMutableBufferPointer { $0.baseAddress }
        average.exchange()
        #expect(average.isExchanged)
        #expect(weight.value.scalars == [d * 1 + (1 - d) * 3, d * 2 + (1 - d) * 6])
        #expect(average.averages[0].scalars == [3, 6])
        #expect(weight.value.withUnsafeMutableBufferPointer { $0.baseAddress } == storage)
        average.exchange()
        #expect(!average.isExchanged)
        #expect(weight.value.scalars == [3, 6])
        #expect(average.averages[0].scalars == [d * 1 + (1 - d) * 3, d * 2 + (1 - d) * 6])
    }

    @Test("the state restores averages and update count; a state of other shapes or without a count is refused")
    func stateRoundTrip() throws {
        let weight = Parameter(try Tensor(shape: [2], scalars: [1, 2]))
        let average = ExponentialMovingAverage(parameters: [weight], decay: 0.99)
        average.update()
        weight.value = try Tensor(shape: [2], scalars: [5, 5])
        average.update()
        let restored = ExponentialMovingAverage(parameters: [weight], decay: 0.99)
        try restored.restore(average.state)
        #expect(restored.updates == 2 && restored.averages == average.averages)
        let other = ExponentialMovingAverage(parameters: [Parameter(Tensor(shape: [3]))], decay: 0.99)
        #expect(throws: TensorError.self) { try other.restore(average.state) }
        var noCount = average.state
        noCount.numbers = [:]
        #expect(throws: TensorError.self) { try restored.restore(noCount) }
    }
}

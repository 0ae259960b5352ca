import DNNL
@testable import Execution
import Tensors
import TestSupport
import Testing

@Suite("Convolution step of the compiled path")
struct ConvolutionStepTests {
    /// One 3x3 convolution, 64 → 64 channels on (2, 64, 12, 12), forward and backward in `context` on fixed
    /// random data: the output, the input gradient and the weight gradient, plain float32.
    func run(_ context: PlanContext) throws -> (step: ConvolutionStep, y: Tensor, dx: Tensor, dw: Tensor) {
        let shape = [2, 64, 12, 12]
        let step = try ConvolutionStep(
            .init(inputShape: shape, outputChannels: 64, kernelSize: 3, padding: 1, inputGradient: true, bias: true),
            context: context)
        try context.allocate()
        var g = SeededGenerator(seed: 21)
        let w = Tensor.normal(shape: step.weightShape, standardDeviation: 0.05, using: &g)
        let b = Tensor.normal(shape: [64], using: &g)
        let x = Tensor.normal(shape: shape, using: &g)
        let dy = Tensor.normal(shape: step.outputShape, using: &g)
        let (source, destination) = (try Memory(step.source), try Memory(step.destination))
        let (diffSource, diffDestination) = (try Memory(step.source), try Memory(step.destination))
        try step.loadWeights(w, view: try .whole(w.shape), bias: b)
        try x.copy(try .whole(shape), to: source)
        try step.forward(source, destination)
        try dy.copy(try .whole(dy.shape), to: diffDestination)
        try step.loadBackwardDataWeights(w, view: try .whole(w.shape))
        try step.backwardData(diffDestination, diffSource)
        try step.backwardWeights(source, diffDestination)
        var (y, dx, dw) = (Tensor.empty(shape: step.outputShape), Tensor.empty(shape: shape), Tensor.empty(shape: w.shape))
        try y.assign(try .whole(y.shape), from: destination)
        try dx.assign(try .whole(shape), from: diffSource)
        try dw.withUnsafeMutableBufferPointer {
            try step.storeWeightGradient(rows: 0..<64, into: $0.baseAddress!, view: try .whole(w.shape))
        }
        return (step, y, dx, dw)
    }

    static func norm(_ t: Tensor) -> Float { t.map { $0 * $0 }.sum().squareRoot() }

    /// An fp32 level of a bf16 plan whose fp32 Winograd weight gradient would not fit the scratchpad limit
    /// computes that gradient in bf16 from bf16 copies of its inputs, placed in the workspace between the
    /// weight gradient and the scratchpad; forward and backward data stay fp32. bf16 rounding of the inputs
    /// moves the gradient by 0.24% of its norm; a copy overlapping the gradient or the scratchpad, or read
    /// in the wrong type, moves it by far more.
    @Test("fp32 level of a bf16 plan: weight gradient in bf16, near the fp32 one; forward and input gradient fp32", .enabled(if: CPUISA.supportsBF16, "needs oneDNN bf16 kernels (AVX-512)"))
    func bf16WeightGradient() throws {
        let expected = try run(PlanContext(precision: .fp32, training: true))
        let mixed = try run(PlanContext(precision: .bf16, training: true, winogradScratchLimit: 0).with(precision: .fp32))
        let implementation = try #require(mixed.step.backwardWeightsPrimitive).descriptor.implementationName
        #expect(implementation.contains("bf16"), "\(implementation)")
        expectClose(mixed.y, expected.y, rtol: 1e-4, atol: 1e-4, "y")
        expectClose(mixed.dx, expected.dx, rtol: 1e-4, atol: 1e-4, "dx")
        let error = Self.norm(try mixed.dw - expected.dw)
        #expect(error < 0.02 * Self.norm(expected.dw), "weight gradient: error \(error)")
    }
}

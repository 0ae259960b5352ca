import DNNL
@testable import Execution
import Kernels
import NN
import Tensors
import TestSupport
import Testing

@Suite("Transposed convolution of the compiled path")
struct TransposedConvolutionStepTests {
    /// Runs the step forward and backward on plain tensors through the activation layout a plan of these widths
    /// uses: blocks of this CPU's channel block (16 or 8), or NHWC.
    func run(cin: Int, cout: Int, precision: Precision) throws -> (y: Tensor, dx: Tensor, layer: ConvTranspose2d, x: Tensor, dy: Tensor) {
        var g = SeededGenerator(seed: UInt64(cin * 100 + cout))
        let layer = ConvTranspose2d(inputChannels: cin, outputChannels: cout, kernelSize: 2, stride: 2, generator: &g)
        let x = Tensor.normal(shape: [2, cin, 5, 7], using: &g)
        let context = PlanContext(precision: precision, training: true, channelMultiple: cout)
        let step = try TransposedConvolutionStep(inputShape: x.shape, outputChannels: cout, context: context)
        try context.allocate()
        try step.loadParameters(layer)
        let type: DataType = precision == .bf16 ? .bf16 : .f32
        let source = try Memory(MemoryDescriptor(dims: x.shape, dataType: type, format: context.activationFormat))
        let destination = try Memory(MemoryDescriptor(dims: step.outputShape, dataType: type, format: context.activationFormat))
        try x.copy(try .whole(x.shape), to: source)
        try step.forward(source, destination)
        var y = Tensor.empty(shape: step.outputShape)
        try y.assign(try .whole(y.shape), from: destination)
        let dy = Tensor.normal(shape: step.outputShape, using: &g)
        let diffDestination = try Memory(destination.descriptor)
        let diffSource = try Memory(source.descriptor)
        try dy.copy(try .whole(dy.shape), to: diffDestination)
        try step.backward(source: source, diffDestination, diffSource, layer, gradients: GradientSink())
        var dx = Tensor.empty(shape: x.shape)
        try dx.assign(try .whole(dx.shape), from: diffSource)
        return (y, dx, layer, x, dy)
    }

    @Test("1x1 convolution + depth-to-space agrees with the reference kernel, blocked and NHWC",
          arguments: [(32, 16), (64, 32), (16, 8), (8, 4)])
    func fp32(channels: (Int, Int)) throws {
        let r = try run(cin: channels.0, cout: channels.1, precision: .fp32)
        let w = r.layer.weight.value, b = r.layer.bias!.value
        expectClose(r.y, try convTranspose2dForward(r.x, weight: w, bias: b, stride: 2), rtol: 1e-4, atol: 1e-5, "y")
        expectClose(r.dx, try convTranspose2dBackwardData(r.dy, weight: w, inputShape: r.x.shape, stride: 2),
                    rtol: 1e-3, atol: 1e-4, "dx")
        let (dw, db) = try convTranspose2dBackwardWeights(r.dy, input: r.x, weightShape: w.shape, withBias: true, stride: 2)
        expectClose(r.layer.weight.grad, dw, rtol: 1e-3, atol: 1e-4, "dweight")
        expectClose(r.layer.bias!.grad, try #require(db), rtol: 1e-3, atol: 1e-4, "dbias")
    }
}

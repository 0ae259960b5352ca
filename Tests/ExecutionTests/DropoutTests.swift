import DNNL
import Execution
import Graph
import NN
import Tensors
import TestSupport
import Testing

/// `Op.dropout` (`torch.nn.Dropout`, timm's `DropPath`), whose masks are random and so have no PyTorch fixture: what
/// PyTorch's training-mode dropout guarantees is checked instead. Each value is 0 or `x / (1 − rate)`, about `rate` of
/// them 0; backward scales the gradient by the same mask; the next forward draws another; a whole image's map for
/// `drop_path`; the identity in an inference network. Maps of 3 channels run channels-last, of 16 blocked.
@Suite("Dropout and drop path")
struct DropoutTests {
    /// A `(N, C, H, W)` map of nonzero values.
    static func map(_ shape: [Int]) -> Tensor { Tensor(shape: shape) { Float(1 + $0 % 7) * 0.25 * ($0 % 3 == 0 ? -1 : 1) } }

    /// The input → dropout → 1x1 convolution whose weight is the identity, so the output shows the mask and the weight's
    /// gradient `Σ dy ⊗ dropout(x)` shows the mask backward saw (kept or made again).
    static func network(_ shape: [Int], rate: Float, perSample: Bool = false, training: Bool = true, precision: Precision = .fp32,
                        passes: Set<Pass> = Set(Pass.allCases), recompute: Bool? = nil, seed: UInt64 = 7) throws
        -> (CompiledNetwork, Parameter)
    {
        let channels = shape[1]
        let weight = Parameter(Tensor(shape: [channels, channels, 1, 1]) { $0 % (channels + 1) == 0 ? 1 : 0 })
        let b = GraphBuilder(inputShape: shape)
        let dropped = try b.dropout(b.input, rate: rate, perSample: perSample, name: "drop")
        let y = try b.conv2d(dropped, Conv2dAttributes(weight: "conv.weight", outputChannels: channels, kernel: 1), name: "conv")
        let network = try CompiledNetwork(graph: b.graph(output: y), parameters: [("conv.weight", weight)], precision: precision,
                                          training: training, passes: passes, recomputesConvolutions: recompute,
                                          inputGradient: training, randomSeed: seed)
        return (network, weight)
    }

    @Test("each value is 0 or x / (1 - rate), about rate of them 0; backward scales by the same mask; the next forward draws another",
          arguments: [3, 16], [false, true])
    func values(channels: Int, passes: Bool) throws {
        let shape = [2, channels, 17, 19]
        let rate: Float = 0.3
        let (network, weight) = try Self.network(shape, rate: rate, passes: passes ? Set(Pass.allCases) : [])
        let x = Self.map(shape)
        let y = try network.forward(x)
        var zeros = 0
        for i in 0..<x.count {
            if y[flat: i] == 0 { zeros += 1 } else { #expect(abs(y[flat: i] - x[flat: i] / (1 - rate)) <= 1e-5, "value \(i)") }
        }
        let fraction = Double(zeros) / Double(x.count)
        #expect(abs(fraction - Double(rate)) < 0.05, "\(zeros) of \(x.count) zeroed")
        let dy = Tensor(shape: shape) { Float($0 % 5) - 1.5 }
        try network.backward(dy)
        let dx = try #require(network.inputGradient)
        for i in 0..<x.count {
            let expected = y[flat: i] == 0 ? 0 : dy[flat: i] / (1 - rate)
            #expect(abs(dx[flat: i] - expected) <= 1e-5, "gradient \(i)")
        }
        // The weight's gradient Σ_{n,h,w} dy[n, o] · y[n, i]: the mask backward used is forward's.
        let plane = shape[2] * shape[3]
        for o in 0..<channels {
            for i in 0..<channels {
                var sum: Float = 0
                for n in 0..<shape[0] {
                    for p in 0..<plane { sum += dy[flat: (n * channels + o) * plane + p] * y[flat: (n * channels + i) * plane + p] }
                }
                #expect(abs(weight.grad[flat: o * channels + i] - sum) <= 1e-3 * max(1, abs(sum)), "dW[\(o), \(i)]")
            }
        }
        let again = try network.forward(x)
        #expect(again.scalars != y.scalars, "the second forward drew the same mask")
    }

    @Test("drop path zeroes or scales each image's whole map")
    func dropPath() throws {
        let shape = [16, 16, 5, 6]
        let (network, _) = try Self.network(shape, rate: 0.5, perSample: true)
        let x = Self.map(shape)
        let y = try network.forward(x)
        let size = x.count / shape[0]
        var dropped = 0
        for n in 0..<shape[0] {
            let zeros = (0..<size).filter { y[flat: n * size + $0] == 0 }.count
            #expect(zeros == 0 || zeros == size, "image \(n): \(zeros) of \(size) zeroed")
            if zeros == size { dropped += 1 }
            for i in 0..<size where zeros == 0 {
                #expect(abs(y[flat: n * size + i] - 2 * x[flat: n * size + i]) <= 1e-5, "image \(n) value \(i)")
            }
        }
        #expect(dropped > 0 && dropped < shape[0], "\(dropped) of \(shape[0]) images dropped")
    }

    @Test("the mask backward uses is forward's whether the map is kept or made again, and follows the seed")
    func recompute() throws {
        let shape = [2, 16, 17, 19]
        let x = Self.map(shape)
        let dy = Tensor(shape: shape) { Float($0 % 5) - 1.5 }
        var results: [(Tensor, Tensor)] = []
        for recompute in [false, true] {
            let (network, weight) = try Self.network(shape, rate: 0.4, recompute: recompute)
            let y = try network.forward(x)
            try network.backward(dy)
            results.append((y, weight.grad))
        }
        #expect(results[0].0.scalars == results[1].0.scalars)
        expectClose(results[0].1, results[1].1, rtol: 1e-5, atol: 1e-5, "weight gradient")
        let (other, _) = try Self.network(shape, rate: 0.4, seed: 8)
        #expect(try other.forward(x).scalars != results[0].0.scalars, "another seed drew the same mask")
    }

    @Test("an inference network has no dropout: the identity")
    func inference() throws {
        let shape = [2, 16, 5, 6]
        let (network, _) = try Self.network(shape, rate: 0.5, training: false)
        #expect(!network.graph.nodes.contains { if case .dropout = $0.op { true } else { false } })
        let x = Self.map(shape)
        #expect(try network.forward(x).scalars == x.scalars)
    }

    @Test("bf16: each value is 0 or x / (1 - rate) in bf16; drop path zeroes or doubles each image's map at rate 0.5",
          .enabled(if: CPUISA.supportsBF16, "needs oneDNN bf16 kernels (AVX-512)"))
    func bf16() throws {
        let shape = [2, 16, 17, 19]
        let (network, _) = try Self.network(shape, rate: 0.25, precision: .bf16)
        let x = Self.map(shape)
        let y = try network.forward(x)
        let zeros = (0..<x.count).filter { y[flat: $0] == 0 }.count
        #expect(abs(Double(zeros) / Double(x.count) - 0.25) < 0.05, "\(zeros) of \(x.count) zeroed")
        for i in 0..<x.count where y[flat: i] != 0 {
            #expect(abs(y[flat: i] - x[flat: i] / 0.75) <= 1e-2 * abs(x[flat: i] / 0.75), "value \(i)")
        }
        // Values exact in bf16 (multiples of 0.25 up to 1.75), doubled exactly: the vector loop's and its tail's.
        let images = [8, 3, 3, 7]
        let (path, _) = try Self.network(images, rate: 0.5, perSample: true, precision: .bf16)
        let z = Self.map(images)
        let out = try path.forward(z)
        let size = z.count / images[0]
        var dropped = 0
        for n in 0..<images[0] {
            let kept = (0..<size).allSatisfy { out[flat: n * size + $0] == 2 * z[flat: n * size + $0] }
            let zeroed = (0..<size).allSatisfy { out[flat: n * size + $0] == 0 }
            #expect(kept != zeroed, "image \(n)")
            if zeroed { dropped += 1 }
        }
        #expect(dropped > 0 && dropped < images[0], "\(dropped) of \(images[0]) images dropped")
    }

    @Test("a rate outside [0, 1) is refused naming the node")
    func rate() {
        let b = GraphBuilder(inputShape: [1, 2, 3, 3])
        #expect(throws: GraphError.self) { try b.dropout(b.input, rate: 1, name: "drop") }
        #expect(throws: GraphError.self) { try b.dropout(b.input, rate: -0.1, name: "drop") }
    }
}

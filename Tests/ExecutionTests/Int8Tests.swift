import DNNL
import Foundation
import Execution
import Graph
import Inference
import Models
import NN
import Tensors
import TestSupport
import Testing

/// int8 convolutions (`Quantization`): one convolution against its quantized arithmetic computed here element by
/// element, whole networks against float32, and the tables a network refuses.
@Suite("int8 convolutions")
struct Int8Tests {
    /// `x → identity 1x1 (fp32, the first) → conv 3x3 (int8) [→ ReLU] → identity 1x1 (fp32, the last)`: the network's
    /// output is the int8 convolution's.
    static func network(x: Tensor, weight: Tensor, bias: Tensor, relu: Bool, groups: Int = 1) throws -> (Graph, [(String, Parameter)]) {
        let (channels, outputs) = (x.shape[1], weight.shape[0])
        func identity(_ n: Int) -> Tensor { Tensor(shape: [n, n, 1, 1]) { $0 / n == $0 % n ? 1 : 0 } }
        let b = GraphBuilder(inputShape: x.shape)
        let first = try b.conv2d(b.input, Conv2dAttributes(weight: "first.weight", bias: nil, outputChannels: channels, kernel: 1), name: "first")
        var y = try b.conv2d(first, Conv2dAttributes(weight: "middle.weight", bias: "middle.bias", outputChannels: outputs, kernel: 3,
                                                     padding: 1, groups: groups), name: "middle")
        if relu { y = try b.relu(y, name: "relu") }
        let last = try b.conv2d(y, Conv2dAttributes(weight: "last.weight", bias: nil, outputChannels: outputs, kernel: 1), name: "last")
        let parameters = [("first.weight", Parameter(identity(channels))), ("middle.weight", Parameter(weight)),
                          ("middle.bias", Parameter(bias)), ("last.weight", Parameter(identity(outputs)))]
        return (b.graph(output: last), parameters)
    }

    /// Every pass but the one that runs an int8 network's float32 edges in bf16 where the CPU has native bf16: the
    /// arithmetic tests' first and last convolutions copy values exactly.
    static let float32Edges = Set(Pass.allCases).subtracting([.precisionRegions])

    /// The int8 convolution's result computed here: the input rounded to its range's steps (saturating), each
    /// weight to its channel's step (7 bits for unsigned inputs without VNNI; for signed ones without VNNI, halved
    /// again with rounding to even, as oneDNN's weight reorder does), summed exactly, plus the bias. With `groups`,
    /// output channel `k` reads input channels `g·C/G ..< (g+1)·C/G` of its group `g = k / (O/G)`.
    static func expected(x: Tensor, weight: Tensor, bias: Tensor, range: Quantization.InputRange, relu: Bool, groups: Int = 1) -> Tensor {
        let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let (o, c) = (weight.shape[0], weight.shape[1])
        let step = range.scale
        let (low, high): (Float, Float) = range.signed ? (-128, 127) : (0, 255)
        let xq = Tensor(shape: x.shape) { min(max((x[flat: $0] / step).rounded(.toNearestOrEven), low), high) * step }
        let limit: Float = range.signed || CPUISA.hasVNNI ? 127 : 63
        let perRow = c * 9
        var wq = weight
        for row in 0..<o {
            let largest = (0..<perRow).map { abs(weight[flat: row * perRow + $0]) }.max()!
            let s = largest / limit
            for j in row * perRow..<(row + 1) * perRow {
                var q = (weight[flat: j] / s).rounded()
                if range.signed && !CPUISA.hasVNNI { q = (q / 2).rounded(.toNearestOrEven) * 2 }
                wq[flat: j] = q * s
            }
        }
        return Tensor(shape: [n, o, h, w]) { index in
            let (b, k, i, j) = (index / (o * h * w), index / (h * w) % o, index / w % h, index % w)
            var sum = Double(bias[flat: k])
            let first = k / (o / groups) * c
            for ci in 0..<c {
                for p in 0..<3 {
                    for q in 0..<3 {
                        let (y, xx) = (i + p - 1, j + q - 1)
                        guard y >= 0, y < h, xx >= 0, xx < w else { continue }
                        sum += Double(xq[flat: ((b * c * groups + first + ci) * h + y) * w + xx])
                            * Double(wq[flat: ((k * c + ci) * 3 + p) * 3 + q])
                    }
                }
            }
            return relu ? Float(max(sum, 0)) : Float(sum)
        }
    }

    @Test("one convolution computes its quantized arithmetic: unsigned and signed inputs, bias, clipping, ReLU; grouped (4 groups) and depthwise (32)",
          arguments: [(false, true, 1), (false, false, 1), (true, false, 1), (true, true, 1), (false, true, 4), (true, false, 4),
                      (false, true, 32), (true, false, 32)])
    func quantizedArithmetic(signed: Bool, relu: Bool, groups: Int) throws {
        var g = SeededGenerator(seed: 21)
        let channels = groups == 1 ? 16 : 32
        let outputs = groups == 1 ? 24 : 32
        let normal = Tensor.normal(shape: [2, channels, 9, 11], using: &g)
        let x = signed ? normal : Tensor(shape: normal.shape) { abs(normal[flat: $0]) }
        // Depthwise weights are larger: 9 taps each instead of 144.
        let weight = Tensor.normal(shape: [outputs, channels / groups, 3, 3], standardDeviation: groups == 1 ? 0.2 : 0.5, using: &g)
        let bias = Tensor.normal(shape: [outputs], using: &g)
        let largest = (0..<x.count).map { abs(x[flat: $0]) }.max()!
        // The range clips the largest fifth of the magnitudes' span.
        let range = Quantization.InputRange(limit: largest * 0.8, signed: signed)
        let (graph, parameters) = try Self.network(x: x, weight: weight, bias: bias, relu: relu, groups: groups)
        // The fuse-activations pass names a convolution with its ReLU after both.
        let name = relu ? "middle+relu" : "middle"
        let table = Quantization(rule: "test", images: 1, inputs: [name: range])
        let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Self.float32Edges,
                                          quantization: table)
        #expect(network.int8Convolutions[name].map { !$0.hasPrefix("ref") } == true, "\(network.convolutionImplementations)")
        let y = try network.forward(x)
        let reference = Self.expected(x: x, weight: weight, bias: bias, range: range, relu: relu, groups: groups)
        expectClose(y, reference, rtol: 1e-4, atol: 1e-4, "int8 against its arithmetic")
        // And the float32 network differs from it by about the quantization error, no more.
        let fp32 = try CompiledNetwork(graph: graph, parameters: parameters, training: false).forward(x)
        let error = Self.relativeRMS(y, fp32)
        #expect(error > 1e-4 && error < 0.05, "relative RMS error against fp32: \(error)")
    }

    @Test("a wide int8 convolution of unsigned inputs runs oneDNN's int8 Winograd: near direct int8 and float32; without the winograd pass, direct")
    func winograd() throws {
        var g = SeededGenerator(seed: 8)
        let normal = Tensor.normal(shape: [2, 256, 12, 10], using: &g)
        let x = Tensor(shape: normal.shape) { abs(normal[flat: $0]) }
        let weight = Tensor.normal(shape: [256, 256, 3, 3], standardDeviation: 0.02, using: &g)
        let bias = Tensor.normal(shape: [256], using: &g)
        let (graph, parameters) = try Self.network(x: x, weight: weight, bias: bias, relu: true)
        let largest = (0..<x.count).map { x[flat: $0] }.max()!
        let table = Quantization(rule: "test", images: 1, inputs: ["middle+relu": Quantization.InputRange(limit: largest, signed: false)])
        let winograd = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Self.float32Edges,
                                           quantization: table)
        let direct = try CompiledNetwork(graph: graph, parameters: parameters, training: false,
                                         passes: Self.float32Edges.subtracting([.winograd]), quantization: table)
        let implementation = try #require(winograd.int8Convolutions["middle+relu"])
        #expect(implementation.contains("wino") == CPUISA.hasVNNI, "\(implementation)")
        #expect(direct.int8Convolutions["middle+relu"].map { !$0.contains("wino") && !$0.hasPrefix("ref") } == true,
                "\(direct.convolutionImplementations)")
        let (y, exact) = (try winograd.forward(x), try direct.forward(x))
        expectClose(exact, Self.expected(x: x, weight: weight, bias: bias, range: table.inputs["middle+relu"]!, relu: true),
                    rtol: 1e-4, atol: 1e-4, "direct int8 against its arithmetic")
        let fp32 = try CompiledNetwork(graph: graph, parameters: parameters, training: false).forward(x)
        // Winograd rounds its transforms to 8 bits again: a few times direct int8's error, still a few percent.
        let (error, directError) = (Self.relativeRMS(y, fp32), Self.relativeRMS(exact, fp32))
        #expect(error > 1e-4 && error < 0.05 && directError < 0.02, "relative RMS against fp32: \(error), direct int8 \(directError)")
        #expect(Self.relativeRMS(y, exact) < 0.05)
    }

    /// `x → identity 1x1 (fp32, the first) → "one" 3x3 + `activation` named "relu1" (int8) → between → "two" 3x3 [+ ReLU]
    /// (int8) → identity 1x1 (fp32, the last)`, random weights and biases from `seed`.
    struct TwoConvolutions {
        let x: Tensor
        let (w1, b1, w2, b2): (Tensor, Tensor, Tensor, Tensor)
        let graph: Graph
        let parameters: [(String, Parameter)]

        init(seed: UInt64, shape: [Int], reluAfterTwo: Bool, activation: Activation = .relu,
             between: (GraphBuilder, Graph.Value) throws -> Graph.Value = { $1 }) throws {
            var g = SeededGenerator(seed: seed)
            x = Tensor.normal(shape: shape, using: &g)
            (w1, w2) = (Tensor.normal(shape: [16, 16, 3, 3], standardDeviation: 0.2, using: &g),
                        Tensor.normal(shape: [16, 16, 3, 3], standardDeviation: 0.2, using: &g))
            (b1, b2) = (Tensor.normal(shape: [16], using: &g), Tensor.normal(shape: [16], using: &g))
            let b = GraphBuilder(inputShape: x.shape)
            let identity = Tensor(shape: [16, 16, 1, 1]) { $0 / 16 == $0 % 16 ? 1 : 0 }
            let first = try b.conv2d(b.input, Conv2dAttributes(weight: "first.weight", bias: nil, outputChannels: 16, kernel: 1), name: "first")
            let convolved = try b.conv2d(first, Conv2dAttributes(weight: "one.weight", bias: "one.bias", outputChannels: 16, kernel: 3,
                                                                  padding: 1), name: "one")
            let one = switch activation {
            case .relu: try b.relu(convolved, name: "relu1")
            case .relu6: try b.relu6(convolved, name: "relu1")
            case .silu: try b.silu(convolved, name: "relu1")
            case .leakyReLU(let slope): try b.leakyReLU(convolved, slope: slope, name: "relu1")
            }
            var two = try b.conv2d(try between(b, one), Conv2dAttributes(weight: "two.weight", bias: "two.bias", outputChannels: 16,
                                                                         kernel: 3, padding: 1), name: "two")
            if reluAfterTwo { two = try b.relu(two, name: "relu2") }
            let last = try b.conv2d(two, Conv2dAttributes(weight: "last.weight", bias: nil, outputChannels: 16, kernel: 1), name: "last")
            parameters = [("first.weight", Parameter(identity)), ("one.weight", Parameter(w1)), ("one.bias", Parameter(b1)),
                          ("two.weight", Parameter(w2)), ("two.bias", Parameter(b2)), ("last.weight", Parameter(identity))]
            graph = b.graph(output: last)
        }
    }

    @Test("two int8 convolutions in a row: the first writes 8 bits in the second's range, which quantizes nothing; its ReLU6 or SiLU in those steps",
          arguments: [Activation.relu, .relu6, .silu])
    func chainedConvolutions(activation: Activation) throws {
        let net = try TwoConvolutions(seed: 33, shape: [1, 16, 10, 12], reluAfterTwo: true, activation: activation)
        let r1 = Quantization.InputRange(limit: 2.5, signed: true)
        let sums = Self.expected(x: net.x, weight: net.w1, bias: net.b1, range: r1, relu: false)
        let middle = Tensor(shape: sums.shape) { i in
            let v = sums[flat: i]
            return switch activation {
            case .relu6: min(max(v, 0), 6)
            case .silu: v / (1 + exp(-v))
            default: max(v, 0)
            }
        }
        let values = (0..<middle.count).map { middle[flat: $0] }
        // ReLU6 must clip: the range reaches past 6.
        #expect(activation != .relu6 || values.contains(6))
        let r2 = Quantization.InputRange(limit: values.max()! * 0.9, signed: values.min()! < 0)
        let table = Quantization(rule: "test", images: 1, inputs: ["one+relu1": r1, "two+relu2": r2])
        let network = try CompiledNetwork(graph: net.graph, parameters: net.parameters, training: false, passes: Self.float32Edges,
                                          quantization: table)
        let plan = network.memoryPlan.table
        #expect(plan.components(separatedBy: "int8 input").count == 2, "\(plan)")
        let eightBits = r2.signed ? " s8 " : " u8 "
        #expect(plan.split(separator: "\n").contains { $0.contains(eightBits) && $0.contains("one+relu1") && !$0.contains("int8 input") }, "\(plan)")
        let y = try network.forward(net.x)
        let reference = Self.expected(x: middle, weight: net.w2, bias: net.b2, range: r2, relu: true)
        expectClose(y, reference, rtol: 1e-4, atol: 1e-4, "two int8 convolutions against their arithmetic")
    }

    @Test("an int8 map passes through max pooling and nearest up-sampling in 8 bits, with the result of rounding after them")
    func throughPoolingAndUpsampling() throws {
        let (n, c, h, w) = (2, 16, 12, 10)
        let net = try TwoConvolutions(seed: 35, shape: [n, c, h, w], reluAfterTwo: false) { b, one in
            try b.upsample(try b.maxPool(one, PoolAttributes(kernel: 2), name: "pool"), scale: 2, mode: .nearest, name: "up")
        }
        let r1 = Quantization.InputRange(limit: 2.5, signed: true)
        let middle = Self.expected(x: net.x, weight: net.w1, bias: net.b1, range: r1, relu: true)
        // Max pooling 2x2, then each pixel repeated 2x2, in float32 here.
        let moved = Tensor(shape: middle.shape) { index in
            let (plane, i, j) = (index / (h * w), index / w % h, index % w)
            let (top, left) = (i / 2 * 2, j / 2 * 2)
            return [(0, 0), (0, 1), (1, 0), (1, 1)].map { middle[flat: plane * h * w + (top + $0.0) * w + left + $0.1] }.max()!
        }
        let largest = (0..<moved.count).map { moved[flat: $0] }.max()!
        let r2 = Quantization.InputRange(limit: largest * 0.9, signed: false)
        let table = Quantization(rule: "test", images: 1, inputs: ["one+relu1": r1, "two": r2])
        // The up-sampled map itself: the second convolution not read as phases of the map before it.
        let network = try CompiledNetwork(graph: net.graph, parameters: net.parameters, training: false,
                                          passes: Self.float32Edges.subtracting([.upsampledAsPhases]), quantization: table)
        let plan = network.memoryPlan.table.split(separator: "\n")
        #expect(plan.filter { $0.contains("int8 input") }.count == 1, "\(network.memoryPlan.table)")
        for value in ["one+relu1", "pool", "up"] {
            #expect(plan.contains { $0.contains(" u8 ") && $0.contains(value) && !$0.contains("int8 input") }, "\(value): \(network.memoryPlan.table)")
        }
        let y = try network.forward(net.x)
        let reference = Self.expected(x: moved, weight: net.w2, bias: net.b2, range: r2, relu: false)
        expectClose(y, reference, rtol: 1e-4, atol: 1e-4, "int8 through pooling and up-sampling against its arithmetic")
    }

    @Test("a squeeze-and-excitation's product read by an int8 convolution is written in its 8 bits: the gate, then the rounding")
    func gatedIntoEightBits() throws {
        let net = try TwoConvolutions(seed: 37, shape: [2, 16, 10, 12], reluAfterTwo: false) { b, one in
            try b.multiply(one, try b.sigmoid(try b.globalAvgPool(one, name: "pool"), name: "gate"), name: "excite")
        }
        let r1 = Quantization.InputRange(limit: 2.5, signed: true)
        let middle = Self.expected(x: net.x, weight: net.w1, bias: net.b1, range: r1, relu: true)
        // Each channel of each image times the sigmoid of its mean, in float32 here.
        let plane = 10 * 12
        let gates = (0..<(2 * 16)).map { c in
            let mean = (0..<plane).reduce(Float(0)) { $0 + middle[flat: c * plane + $1] } / Float(plane)
            return 1 / (1 + exp(-mean))
        }
        let gated = Tensor(shape: middle.shape) { middle[flat: $0] * gates[$0 / plane] }
        let largest = (0..<gated.count).map { gated[flat: $0] }.max()!
        let r2 = Quantization.InputRange(limit: largest * 0.9, signed: false)
        let table = Quantization(rule: "test", images: 1, inputs: ["one+relu1": r1, "two": r2])
        let network = try CompiledNetwork(graph: net.graph, parameters: net.parameters, training: false, passes: Self.float32Edges,
                                          quantization: table)
        let plan = network.memoryPlan.table.split(separator: "\n")
        // Only the first convolution quantizes its input; the product is u8 and the map it gates stays float32.
        #expect(plan.filter { $0.contains("int8 input") }.count == 1, "\(network.memoryPlan.table)")
        #expect(plan.contains { $0.contains(" u8 ") && $0.contains("excite  [") }, "\(network.memoryPlan.table)")
        #expect(plan.contains { $0.contains(" f32 ") && $0.contains("one+relu1  [") }, "\(network.memoryPlan.table)")
        let y = try network.forward(net.x)
        // The product rounds as (x / step) · g rather than (x · g) / step, which may move a value at a tie by one step.
        let reference = Self.expected(x: gated, weight: net.w2, bias: net.b2, range: r2, relu: false)
        expectClose(y, reference, rtol: 1e-4, atol: 0.01 * r2.limit, "a gated product in 8 bits against its arithmetic")
    }

    @Test("squeeze-and-excitation residual streams stay in 8 bits between blocks: each gated residual reads its residual and writes its sum in the steps the next int8 convolution takes, rescaling between them")
    func gatedResidualStreams() throws {
        var g = SeededGenerator(seed: 43)
        let x = Tensor.normal(shape: [2, 16, 10, 12], using: &g)
        let identity = Tensor(shape: [16, 16, 1, 1]) { $0 / 16 == $0 % 16 ? 1 : 0 }
        let b = GraphBuilder(inputShape: x.shape)
        var parameters: [(String, Parameter)] = [("first.weight", Parameter(identity)), ("last.weight", Parameter(identity))]
        // x0 = ReLU(first(x)); block k: y = conv(x), x' = ReLU(y · sigmoid(pool(y)) + x); the last convolution reads x3.
        var stream = try b.relu(try b.conv2d(b.input, Conv2dAttributes(weight: "first.weight", outputChannels: 16, kernel: 1), name: "first"),
                                name: "first.relu")
        for block in ["a", "b", "c"] {
            parameters.append(("\(block).weight", Parameter(Tensor.normal(shape: [16, 16, 3, 3], standardDeviation: 0.15, using: &g))))
            let y = try b.conv2d(stream, Conv2dAttributes(weight: "\(block).weight", outputChannels: 16, kernel: 3, padding: 1), name: block)
            let gate = try b.sigmoid(try b.globalAvgPool(y, name: "\(block).pool"), name: "\(block).gate")
            stream = try b.relu(try b.add(try b.multiply(y, gate, name: "\(block).excite"), stream, name: "\(block).sum"), name: "\(block).relu")
        }
        let graph = b.graph(output: try b.conv2d(stream, Conv2dAttributes(weight: "last.weight", outputChannels: 16, kernel: 1), name: "last"))
        let (network, table, error) = try Self.calibratedAgainstFloat(graph, parameters, x)
        // The stream grows from block to block: the steps differ, so a sum left in its residual's steps would be off.
        let (limitB, limitC) = (try #require(table.inputs["b"]).limit, try #require(table.inputs["c"]).limit)
        #expect(table.inputs.keys.sorted() == ["a", "b", "c"] && limitC > 1.2 * limitB, "\(table.inputs)")
        let plan = network.memoryPlan.table.split(separator: "\n")
        // a's sum is b's input and b's residual, b's is c's; c's is the float last convolution's.
        for (sum, type) in [("a.sum", " u8 "), ("b.sum", " u8 "), ("c.sum", " f32 ")] {
            #expect(plan.contains { $0.contains(type) && $0.contains("\(sum)  [") }, "\(sum): \(network.memoryPlan.table)")
        }
        // Only a quantizes its input (the first convolution's float map): b and c read the sums as they are.
        #expect(plan.filter { $0.contains("int8 input") }.count == 1, "\(network.memoryPlan.table)")
        #expect(error > 1e-4 && error < 0.02, "relative RMS error against float32: \(error)")
    }

    @Test("ResNet residual streams stay in 8 bits between blocks: each convolution adding into its residual in place reads it in its steps and writes the sum in the next int8 convolution's, by its sum post-op's scale")
    func residualStreams() throws {
        var g = SeededGenerator(seed: 47)
        let x = Tensor.normal(shape: [2, 16, 10, 12], using: &g)
        let identity = Tensor(shape: [16, 16, 1, 1]) { $0 / 16 == $0 % 16 ? 1 : 0 }
        let b = GraphBuilder(inputShape: x.shape)
        var parameters: [(String, Parameter)] = [("first.weight", Parameter(identity)), ("last.weight", Parameter(identity))]
        func convolution(_ input: Graph.Value, _ name: String) throws -> Graph.Value {
            parameters.append(("\(name).weight", Parameter(Tensor.normal(shape: [16, 16, 3, 3], standardDeviation: 0.15, using: &g))))
            return try b.conv2d(input, Conv2dAttributes(weight: "\(name).weight", outputChannels: 16, kernel: 3, padding: 1), name: name)
        }
        // The stream starts at an int8 convolution (z) and ends at one (d) before the float last convolution; block k:
        // x' = ReLU(k2(ReLU(k1(x))) + x).
        let first = try b.conv2d(b.input, Conv2dAttributes(weight: "first.weight", outputChannels: 16, kernel: 1), name: "first")
        var stream = try b.relu(try convolution(first, "z"), name: "z.relu")
        for block in ["a", "b", "c"] {
            let h = try b.relu(try convolution(stream, "\(block)1"), name: "\(block)1.relu")
            stream = try b.relu(try b.add(try convolution(h, "\(block)2"), stream, name: "\(block).sum"), name: "\(block).relu")
        }
        let d = try b.relu(try convolution(stream, "d"), name: "d.relu")
        let graph = b.graph(output: try b.conv2d(d, Conv2dAttributes(weight: "last.weight", outputChannels: 16, kernel: 1), name: "last"))
        let (network, table, error) = try Self.calibratedAgainstFloat(graph, parameters, x)
        // The stream grows from block to block: the steps differ, so a residual read in the sum's steps would be off.
        let (limitB, limitD) = (try #require(table.inputs["b1+b1.relu"]).limit, try #require(table.inputs["d+d.relu"]).limit)
        #expect(limitD > 1.2 * limitB, "\(table.inputs)")
        let plan = network.memoryPlan.table.split(separator: "\n")
        // The three sums add into z's output in place: one u8 buffer from z to d, and only z quantizes its input (the
        // first convolution's float map).
        #expect(network.graph.nodes.filter { if case .conv2d(let a) = $0.op { a.accumulates } else { false } }.count == 3)
        #expect(plan.contains { $0.contains(" u8 ") && $0.contains("z+z.relu  [z+z.relu: forward -> d+d.relu: forward]") },
                "\(network.memoryPlan.table)")
        #expect(plan.filter { $0.contains("int8 input") }.count == 1, "\(network.memoryPlan.table)")
        // The int8 convolutions alone, with the stream in float32, come within 2.5% here.
        #expect(error > 1e-4 && error < 0.03, "relative RMS error against float32: \(error)")
    }

    @Test("an instance norm read by an int8 convolution writes its 8 bits itself: its statistics, affine, activation and rounding",
          arguments: [(true, 20), (false, 32)])
    func instanceNormIntoEightBits(signed: Bool, channels: Int) throws {
        var g = SeededGenerator(seed: 41)
        // 9x11 pixels: a run of 64 and one of 35; 20 channels: a block of 16 and 4 more.
        let x = Tensor.normal(shape: [2, channels, 9, 11], mean: 0.7, using: &g)
        let (gamma, beta) = (Tensor.normal(shape: [channels], mean: 1, using: &g), Tensor.normal(shape: [channels], standardDeviation: 0.5, using: &g))
        let weight = Tensor.normal(shape: [16, channels, 3, 3], standardDeviation: 0.2, using: &g)
        let bias = Tensor.normal(shape: [16], using: &g)
        let slope: Float = signed ? 0.1 : 0
        let b = GraphBuilder(inputShape: x.shape)
        let identity = Tensor(shape: [channels, channels, 1, 1]) { $0 / channels == $0 % channels ? 1 : 0 }
        let first = try b.conv2d(b.input, Conv2dAttributes(weight: "first.weight", bias: nil, outputChannels: channels, kernel: 1), name: "first")
        let normed = try b.instanceNorm(first, InstanceNormAttributes(affinePrefix: "norm."), name: "norm")
        let activated = signed ? try b.leakyReLU(normed, slope: slope, name: "act") : try b.relu(normed, name: "act")
        let middle = try b.conv2d(activated, Conv2dAttributes(weight: "middle.weight", bias: "middle.bias", outputChannels: 16, kernel: 3,
                                                              padding: 1), name: "middle")
        let last = try b.conv2d(middle, Conv2dAttributes(weight: "last.weight", bias: nil, outputChannels: 16, kernel: 1), name: "last")
        let parameters = [("first.weight", Parameter(identity)), ("norm.weight", Parameter(gamma)), ("norm.bias", Parameter(beta)),
                          ("middle.weight", Parameter(weight)), ("middle.bias", Parameter(bias)),
                          ("last.weight", Parameter(Tensor(shape: [16, 16, 1, 1]) { $0 / 16 == $0 % 16 ? 1 : 0 }))]
        let normalized = Self.instanceNormed(x, gamma: gamma, beta: beta, slope: slope)
        let largest = (0..<normalized.count).map { abs(normalized[flat: $0]) }.max()!
        let range = Quantization.InputRange(limit: largest * 0.8, signed: signed)
        let table = Quantization(rule: "test", images: 1, inputs: ["middle": range])
        let network = try CompiledNetwork(graph: b.graph(output: last), parameters: parameters, training: false, passes: Self.float32Edges,
                                          quantization: table)
        let rows = network.memoryPlan.table.split(separator: "\n")
        #expect(!rows.contains { $0.contains("int8 input") }, "\(network.memoryPlan.table)")
        #expect(rows.contains { $0.contains(signed ? " s8 " : " u8 ") && $0.contains("norm+act  [") }, "\(network.memoryPlan.table)")
        let y = try network.forward(x)
        Self.expectNormThenConvolution(y, normalized: normalized, weight: weight, bias: bias, range: range)
        // Read by a float32 op too, the norm runs as oneDNN's in float32 and the convolution quantizes its input.
        _ = try b.sigmoid(activated, name: "also")
        let float32Norm = try CompiledNetwork(graph: b.graph(output: last), parameters: parameters, training: false,
                                              passes: Self.float32Edges, quantization: table)
        #expect(float32Norm.memoryPlan.table.components(separatedBy: "int8 input").count == 2, "\(float32Norm.memoryPlan.table)")
        let other = try float32Norm.forward(x)
        #expect((0..<y.count).filter { abs(y[flat: $0] - other[flat: $0]) > 1e-4 }.count * 100 <= y.count)
    }

    @Test("an int8 convolution read only by an 8-bit instance norm writes bf16 on a CPU with native bf16: the norm reads it as float32 would",
          arguments: [true, false])
    func instanceNormOfBF16(signed: Bool) throws {
        var g = SeededGenerator(seed: 59)
        let channels = 20
        let x = try Self.sixteenths(shape: [2, channels, 9, 11], mean: 0.7, using: &g)  // so the map the norm reads is x
        let (gamma, beta) = (Tensor.normal(shape: [channels], mean: 1, using: &g), Tensor.normal(shape: [channels], standardDeviation: 0.5, using: &g))
        let weight = Tensor.normal(shape: [16, channels, 3, 3], standardDeviation: 0.2, using: &g)
        let bias = Tensor.normal(shape: [16], using: &g)
        let slope: Float = signed ? 0.1 : 0
        let identity = Tensor(shape: [channels, channels, 1, 1]) { $0 / channels == $0 % channels ? 1 : 0 }
        let b = GraphBuilder(inputShape: x.shape)
        let image = try b.conv2d(b.input, Conv2dAttributes(weight: "image.weight", bias: nil, outputChannels: channels, kernel: 1), name: "image")
        let first = try b.conv2d(image, Conv2dAttributes(weight: "first.weight", bias: nil, outputChannels: channels, kernel: 1), name: "first")
        let normed = try b.instanceNorm(first, InstanceNormAttributes(affinePrefix: "norm."), name: "norm")
        let activated = signed ? try b.leakyReLU(normed, slope: slope, name: "act") : try b.relu(normed, name: "act")
        let middle = try b.conv2d(activated, Conv2dAttributes(weight: "middle.weight", bias: "middle.bias", outputChannels: 16, kernel: 3,
                                                              padding: 1), name: "middle")
        let last = try b.conv2d(middle, Conv2dAttributes(weight: "last.weight", bias: nil, outputChannels: 16, kernel: 1), name: "last")
        _ = try b.sigmoid(middle, name: "also")  // two readers: the logits' convolution stays a float32 one
        let parameters = [("image.weight", Parameter(identity)), ("first.weight", Parameter(identity)), ("norm.weight", Parameter(gamma)),
                          ("norm.bias", Parameter(beta)), ("middle.weight", Parameter(weight)), ("middle.bias", Parameter(bias)),
                          ("last.weight", Parameter(Tensor(shape: [16, 16, 1, 1]) { $0 / 16 == $0 % 16 ? 1 : 0 }))]
        let normalized = Self.instanceNormed(x, gamma: gamma, beta: beta, slope: slope)
        let largest = (0..<normalized.count).map { abs(normalized[flat: $0]) }.max()!
        let range = Quantization.InputRange(limit: largest * 0.8, signed: signed)
        let table = Quantization(rule: "test", images: 1, inputs: ["first": Quantization.InputRange(limit: 127.0 / 16, signed: true), "middle": range])
        let network = try CompiledNetwork(graph: b.graph(output: last), parameters: parameters, training: false, quantization: table)
        #expect(network.valuePrecision(first) == (CPUISA.hasNativeBF16 ? .bf16 : .fp32))
        #expect(network.memoryPlan.table.split(separator: "\n").contains { $0.contains(signed ? " s8 " : " u8 ") && $0.contains("norm+act  [") },
                "\(network.memoryPlan.table)")
        let y = try network.forward(x)
        Self.expectNormThenConvolution(y, normalized: normalized, weight: weight, bias: bias, range: range)
        // Without the precision pass the map stays float32, with the same result.
        let float32Map = try CompiledNetwork(graph: b.graph(output: last), parameters: parameters, training: false,
                                             passes: Self.float32Edges, quantization: table)
        #expect(float32Map.valuePrecision(first) == .fp32)
        let other = try float32Map.forward(x)
        #expect((0..<y.count).filter { abs(y[flat: $0] - other[flat: $0]) > 1e-4 }.count * 100 <= y.count)
    }

    @Test("an int8 network's instance norm read only by the logits' convolution writes bf16 on a CPU with native bf16, which that convolution reads",
          arguments: [true, false])
    func instanceNormIntoBF16(leaky: Bool) throws {
        var g = SeededGenerator(seed: 67)
        let channels = 20
        let x = try Self.sixteenths(shape: [2, channels, 9, 11], mean: 0.3, using: &g)  // so the int8 convolution reads x
        let weight = Tensor.normal(shape: [16, channels, 3, 3], standardDeviation: 0.2, using: &g)
        let bias = Tensor.normal(shape: [16], using: &g)
        let (gamma, beta) = (Tensor.normal(shape: [16], mean: 1, using: &g), Tensor.normal(shape: [16], standardDeviation: 0.5, using: &g))
        let (headWeight, headBias) = (Tensor.normal(shape: [3, 16, 1, 1], standardDeviation: 0.3, using: &g), Tensor.normal(shape: [3], using: &g))
        let slope: Float = leaky ? 0.01 : 0
        let identity = Tensor(shape: [channels, channels, 1, 1]) { $0 / channels == $0 % channels ? 1 : 0 }
        let b = GraphBuilder(inputShape: x.shape)
        let first = try b.conv2d(b.input, Conv2dAttributes(weight: "first.weight", bias: nil, outputChannels: channels, kernel: 1), name: "first")
        let middle = try b.conv2d(first, Conv2dAttributes(weight: "middle.weight", bias: "middle.bias", outputChannels: 16, kernel: 3,
                                                          padding: 1), name: "middle")
        let normed = try b.instanceNorm(middle, InstanceNormAttributes(affinePrefix: "norm."), name: "norm")
        let activated = leaky ? try b.leakyReLU(normed, slope: slope, name: "act") : try b.relu(normed, name: "act")
        let head = try b.conv2d(activated, Conv2dAttributes(weight: "head.weight", bias: "head.bias", outputChannels: 3, kernel: 1), name: "head")
        let parameters = [("first.weight", Parameter(identity)), ("middle.weight", Parameter(weight)), ("middle.bias", Parameter(bias)),
                          ("norm.weight", Parameter(gamma)), ("norm.bias", Parameter(beta)), ("head.weight", Parameter(headWeight)),
                          ("head.bias", Parameter(headBias))]
        let range = Quantization.InputRange(limit: 127.0 / 16, signed: true)
        let table = Quantization(rule: "test", images: 1, inputs: ["middle": range])
        let normalized = Self.instanceNormed(Self.expected(x: x, weight: weight, bias: bias, range: range, relu: false), gamma: gamma,
                                             beta: beta, slope: slope)
        let plane = 9 * 11
        let reference = Tensor(shape: [2, 3, 9, 11]) { index in
            let (image, k, p) = (index / (3 * plane), index / plane % 3, index % plane)
            return (0..<16).reduce(headBias[flat: k]) { $0 + headWeight[flat: k * 16 + $1] * normalized[flat: (image * 16 + $1) * plane + p] }
        }
        let network = try CompiledNetwork(graph: b.graph(output: head), parameters: parameters, training: false, quantization: table)
        #expect(network.stepNames.contains { $0.hasSuffix("forward into bf16") } == CPUISA.hasNativeBF16, "\(network.stepNames)")
        // bf16 keeps 8 bits of each normalized value and of each head weight: a few hundredths on logits of about 1.
        expectClose(try network.forward(x), reference, rtol: 0.02, atol: 0.05, "the norm into bf16 and the head in bf16")
        // Without the precision pass the norm runs as oneDNN's in float32, and so does the head.
        let float32Head = try CompiledNetwork(graph: b.graph(output: head), parameters: parameters, training: false,
                                              passes: Self.float32Edges, quantization: table)
        #expect(!float32Head.stepNames.contains { $0.hasSuffix("forward into bf16") })
        expectClose(try float32Head.forward(x), reference, rtol: 1e-3, atol: 1e-3, "the norm and the head in float32")
    }

    /// Normal values of `mean` and standard deviation 1 rounded to multiples of 1/16 within ±127/16: exact in bf16 and in
    /// the signed int8 range of limit 127/16.
    static func sixteenths(shape: [Int], mean: Float, using g: inout SeededGenerator) throws -> Tensor {
        try Tensor(shape: shape, scalars: Tensor.normal(shape: shape, mean: mean, using: &g).scalars
            .map { min(max(($0 * 16).rounded(), -127), 127) / 16 })
    }

    /// Instance norm of `x` (N, C, H, W) as PyTorch defines it (biased variance, eps 1e-5), with `gamma` and `beta`,
    /// then a leaky ReLU of `slope` (0: ReLU), computed in double.
    static func instanceNormed(_ x: Tensor, gamma: Tensor, beta: Tensor, slope: Float) -> Tensor {
        let (channels, plane) = (x.shape[1], x.shape[2] * x.shape[3])
        return Tensor(shape: x.shape) { index in
            let (image, c) = (index / (channels * plane), index / plane % channels)
            let values = (0..<plane).map { Double(x[flat: (image * channels + c) * plane + $0]) }
            let mean = values.reduce(0, +) / Double(plane)
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(plane)
            let y = (Double(x[flat: index]) - mean) / (variance + 1e-5).squareRoot() * Double(gamma[flat: c]) + Double(beta[flat: c])
            return Float(y > 0 ? y : y * Double(slope))
        }
    }

    /// Expects `y`, an int8 convolution of `weight` and `bias` over `normalized` in `range` followed by an identity 1x1
    /// convolution, to match `expected`: where a value sits on a rounding boundary, float32 against double may pick the
    /// step next to it, so a few outputs move by a step times a weight.
    static func expectNormThenConvolution(_ y: Tensor, normalized: Tensor, weight: Tensor, bias: Tensor, range: Quantization.InputRange) {
        let reference = expected(x: normalized, weight: weight, bias: bias, range: range, relu: false)
        let largestWeight = (0..<weight.count).map { abs(weight[flat: $0]) }.max()!
        let differences = (0..<y.count).map { abs(y[flat: $0] - reference[flat: $0]) }
        #expect(differences.filter { $0 > 1e-4 }.count * 100 <= y.count, "\(differences.filter { $0 > 1e-4 }.count) of \(y.count) differ")
        #expect(differences.max()! < 3 * range.scale * largestWeight, "largest difference \(differences.max()!)")
    }

    /// A network under construction from an input of 16 channels, 12x10 pixels, batch 2: "first", an identity 1x1
    /// convolution (float32, the first), then `conv` adds 3x3 convolutions of 16 outputs with random weights and biases
    /// from `seed`, and `end` ends it with "last", another identity 1x1 convolution.
    final class ConvolutionChain {
        var generator: SeededGenerator
        let x: Tensor
        let builder: GraphBuilder
        private(set) var parameters: [(String, Parameter)]
        let first: Graph.Value
        private var last: Graph.Value?

        init(seed: UInt64) throws {
            generator = SeededGenerator(seed: seed)
            x = Tensor.normal(shape: [2, 16, 12, 10], using: &generator)
            builder = GraphBuilder(inputShape: x.shape)
            let identity = Tensor(shape: [16, 16, 1, 1]) { $0 / 16 == $0 % 16 ? 1 : 0 }
            parameters = [("first.weight", Parameter(identity)), ("last.weight", Parameter(identity))]
            first = try builder.conv2d(builder.input, Conv2dAttributes(weight: "first.weight", bias: nil, outputChannels: 16, kernel: 1),
                                       name: "first")
        }

        /// A 3x3 convolution `name` of `input` (`inputs` channels), with a ReLU named `name_relu` where `relu`.
        func conv(_ input: Graph.Value, _ name: String, inputs: Int = 16, relu: Bool = false) throws -> Graph.Value {
            parameters += [("\(name).weight", Parameter(Tensor.normal(shape: [16, inputs, 3, 3], standardDeviation: 0.2, using: &generator))),
                           ("\(name).bias", Parameter(Tensor.normal(shape: [16], using: &generator)))]
            let y = try builder.conv2d(input, Conv2dAttributes(weight: "\(name).weight", bias: "\(name).bias", outputChannels: 16, kernel: 3,
                                                               padding: 1), name: name)
            return relu ? try builder.relu(y, name: "\(name)_relu") : y
        }

        /// Ends the network with "last", an identity 1x1 convolution of `output`.
        func end(_ output: Graph.Value) throws {
            last = try builder.conv2d(output, Conv2dAttributes(weight: "last.weight", bias: nil, outputChannels: 16, kernel: 1), name: "last")
        }

        /// The network as built so far, ending in "last", compiled in int8 with `ranges`, its edges in float32.
        func network(_ ranges: [String: Quantization.InputRange]) throws -> CompiledNetwork {
            let last = try #require(last)
            return try CompiledNetwork(graph: builder.graph(output: last), parameters: parameters, training: false,
                                       passes: Int8Tests.float32Edges, quantization: Quantization(rule: "test", images: 1, inputs: ranges))
        }
    }

    /// The quantizing steps of `network` (float32 inputs an int8 convolution rounds to its range).
    static func quantizing(_ network: CompiledNetwork) -> Int { network.memoryPlan.table.components(separatedBy: "int8 input").count - 1 }

    @Test("int8 convolutions of different ranges reading one map share the widest range where it costs each at most a bit")
    func sharedRange() throws {
        let chain = try ConvolutionChain(seed: 45)
        let b = chain.builder
        let one = try chain.conv(chain.first, "one", relu: true)
        // `one` is read by "two" directly and by "three" through max pooling.
        let two = try chain.conv(one, "two")
        let three = try b.upsample(try chain.conv(try b.maxPool(one, PoolAttributes(kernel: 2), name: "pool"), "three"), scale: 2,
                                   mode: .nearest, name: "up")
        try chain.end(try b.add(two, three, name: "sum"))
        func network(_ two: Float, _ three: Float) throws -> CompiledNetwork {
            try chain.network(["one+one_relu": .init(limit: 2.5, signed: true), "two": .init(limit: two, signed: false),
                               "three": .init(limit: three, signed: false)])
        }
        // 1.5x apart: `one` is written in u8 in the wider range, and both read it so (the one quantizing step left is
        // `one`'s own input's); the same as both having that range.
        let (shared, same) = (try network(2, 3), try network(3, 3))
        #expect(Self.quantizing(shared) == 1 && Self.quantizing(same) == 1, "\(shared.memoryPlan.table)")
        #expect(shared.memoryPlan.table.split(separator: "\n").contains { $0.contains(" u8 ") && $0.contains("one+one_relu  [") })
        expectClose(try shared.forward(chain.x), try same.forward(chain.x), rtol: 1e-6, atol: 1e-6, "a shared range against that range in the table")
        // 3x apart, or one signed and the other 1.5x wider: `one` stays float32 and each convolution quantizes it in its own range.
        #expect(Self.quantizing(try network(1, 3)) == 3)
        #expect(Quantization.InputRange.shared(by: [.init(limit: 3, signed: true), .init(limit: 2, signed: false)]) == nil)
        #expect(Quantization.InputRange.shared(by: [.init(limit: 3, signed: true), .init(limit: 3, signed: false)]) == .init(limit: 3, signed: true))
    }

    @Test("a split convolution whose sum is an 8-bit map adds the first part as a post-op, as adding in place in float32 would")
    func splitIntoEightBits() throws {
        let chain = try ConvolutionChain(seed: 39)
        let (left, right) = (try chain.conv(chain.first, "left", relu: true), try chain.conv(chain.first, "right", relu: true))
        let joined = try chain.conv(try chain.builder.concat([left, right], name: "cat"), "joined", inputs: 32, relu: true)
        try chain.end(try chain.conv(joined, "after"))
        let names = ["left+left_relu", "right+right_relu", "joined+joined_relu[0..<16]", "joined+joined_relu[16..<32]", "after"]
        let ranges = Dictionary(uniqueKeysWithValues: names.enumerated().map { k, name in
            (name, Quantization.InputRange(limit: k < 2 ? 2.5 : 4 + Float(k), signed: k < 2))
        })
        let eightBits = try chain.network(ranges)
        // Read by a float32 op too, the sum stays float32: the second part adds into the first in place.
        _ = try chain.builder.sigmoid(joined, name: "also")
        let inPlace = try chain.network(ranges)
        // `left` and `right` read `first` in one range: one quantized copy for both (`Lowering.quantizedInput`).
        #expect(Self.quantizing(eightBits) == 1 && Self.quantizing(inPlace) == 2, "\(eightBits.memoryPlan.table)")
        #expect(eightBits.memoryPlan.table.split(separator: "\n").contains { $0.contains(" u8 ") && $0.contains("joined+joined_relu[16..<32]  [") },
                "\(eightBits.memoryPlan.table)")
        expectClose(try eightBits.forward(chain.x), try inPlace.forward(chain.x), rtol: 1e-4, atol: 1e-4, "8-bit sum against the in-place float32 one")
        // `unet bench --ceiling` times each convolution alone: the second part needs its post-op's addend bound.
        #expect(try eightBits.convolutionSeconds(repetitions: 1) > 0)
    }

    @Test("on a CPU with native bf16, the convolutions of the image and of the logits run in bf16, writing float32")
    func bf16Edges() throws {
        var g = SeededGenerator(seed: 37)
        let x = Tensor.normal(shape: [1, 16, 12, 10], using: &g)
        let weight = Tensor.normal(shape: [16, 16, 3, 3], standardDeviation: 0.2, using: &g)
        let bias = Tensor.normal(shape: [16], using: &g)
        let (graph, parameters) = try Self.network(x: x, weight: weight, bias: bias, relu: true)
        let table = Quantization(rule: "test", images: 1, inputs: ["middle+relu": Quantization.InputRange(limit: 3, signed: true)])
        let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false, quantization: table)
        let exact = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: Self.float32Edges,
                                        quantization: table)
        for edge in ["first", "last"] {
            let implementation = network.convolutionImplementations[edge] ?? ""
            #expect(implementation.contains("bf16") == CPUISA.hasNativeBF16, "\(edge): \(implementation)")
            #expect(!(exact.convolutionImplementations[edge] ?? "bf16").contains("bf16"))
        }
        let (y, reference) = (try network.forward(x), try exact.forward(x))
        let error = Self.relativeRMS(y, reference)
        #expect(CPUISA.hasNativeBF16 ? error > 0 && error < 0.01 : error == 0, "relative RMS against float32 edges: \(error)")
    }

    /// `graph` calibrated on `x` (rule max, float32 edges), compiled with that table, and the relative RMS error of its
    /// output against the float32 network's.
    static func calibratedAgainstFloat(_ graph: Graph, _ parameters: [(String, Parameter)], _ x: Tensor) throws
        -> (network: CompiledNetwork, table: Quantization, error: Double)
    {
        let calibrator = Int8Calibrator(rule: .max)
        let observing = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: float32Edges,
                                            observingConvolutionInputs: calibrator.observe)
        try calibrator.calibrate { _ in _ = try observing.forward(x) }
        let table = calibrator.quantization(images: x.shape[0])
        let network = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: float32Edges, quantization: table)
        let float = try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: float32Edges)
        return (network, table, relativeRMS(try network.forward(x), try float.forward(x)))
    }

    /// `√(Σ(a-b)²/Σb²)`.
    static func relativeRMS(_ a: Tensor, _ b: Tensor) -> Double {
        var (difference, size) = (0.0, 0.0)
        for i in 0..<a.count {
            difference += Double(a[flat: i] - b[flat: i]) * Double(a[flat: i] - b[flat: i])
            size += Double(b[flat: i]) * Double(b[flat: i])
        }
        return (difference / max(size, 1e-30)).squareRoot()
    }

    @Test("a calibrated U-Net in int8 stays close to float32: split concatenations, transposed convolutions, folded BN",
          arguments: [(Int8Calibrator.Rule.max, 0.03), (.percentile(99.99), 0.03)])
    func calibratedUNet(rule: Int8Calibrator.Rule, tolerance: Double) throws {
        let c = UNetConfiguration.milesial(inputChannels: 3, classes: 3, baseWidth: 16, depth: 3)
        let (model, _) = try CompiledUNetTests.models(c)
        let shape = [2, 3, 48, 40]
        var g = SeededGenerator(seed: 5)
        let calibration = (0..<3).map { _ in Tensor.normal(shape: shape, using: &g) }
        let calibrator = Int8Calibrator(rule: rule)
        let observing = try CompiledUNet(model, inputShape: shape, training: false, observingConvolutionInputs: calibrator.observe)
        try calibrator.calibrate { _ in for x in calibration { _ = try observing.forward(x) } }
        let table = calibrator.quantization(images: calibration.count)
        // Every convolution but the first and the last; the decoder's splits and transposed convolutions among them.
        let convolutions = observing.network.graph.nodes.filter { if case .conv2d = $0.op { return true } else { return false } }
        #expect(table.inputs.count == convolutions.count - 2, "\(table.inputs.keys.sorted())")
        #expect(table.inputs.keys.contains { $0.contains("[") } && table.inputs.keys.contains { $0.hasSuffix(".pointwise") })
        #expect(table.inputs.values.contains { !$0.signed } && table.inputs.values.contains { $0.signed })

        let x = Tensor.normal(shape: shape, using: &g)
        let int8 = try CompiledUNet(model, inputShape: shape, training: false, quantization: table)
        let int8Convolutions = int8.network.int8Convolutions
        #expect(int8Convolutions.count == table.inputs.count && !int8Convolutions.values.contains { $0.hasPrefix("ref") },
                "\(int8.network.convolutionImplementations)")
        let (y, reference) = (try int8.forward(x), try CompiledUNet(model, inputShape: shape, training: false).forward(x))
        let error = Self.relativeRMS(y, reference)
        #expect(error > 1e-4 && error < tolerance, "relative RMS error against fp32: \(error)")
        // The classes: all but a few pixels agree.
        let plane = shape[2] * shape[3]
        var agree = 0
        for b in 0..<shape[0] {
            for i in 0..<plane {
                func argmax(_ t: Tensor) -> Int { (0..<3).max { t[flat: (b * 3 + $0) * plane + i] < t[flat: (b * 3 + $1) * plane + i] }! }
                if argmax(y) == argmax(reference) { agree += 1 }
            }
        }
        #expect(Double(agree) / Double(shape[0] * plane) > 0.97, "\(agree) of \(shape[0] * plane) pixels agree")
    }

    @Test("the peers' U-Nets in int8 stay close to float32: residual adds, instance norm, PReLU, LeakyReLU, MONAI's transposed convolutions as int8 2x2 ones, EfficientNet's SiLU and gates, MobileNetV2's ReLU6, SE-ResNeXt's 8-bit residual streams",
          arguments: [
              Architecture.smpUNet(SMPUNetConfiguration(encoder: .resnet(.resnet18), inputChannels: 3, classes: 2)),
              .smpUNet(SMPUNetConfiguration(encoder: .efficientNet(.b0), inputChannels: 3, classes: 2)),
              .smpUNet(SMPUNetConfiguration(encoder: .mobileNetV2, inputChannels: 3, classes: 2)),
              .smpUNet(SMPUNetConfiguration(encoder: .seNet(.seResNeXt50), inputChannels: 3, classes: 2)),
              .basicUNet(BasicUNetConfiguration(inputChannels: 3, classes: 2)),
              .monaiUNet(MONAIUNetConfiguration(inputChannels: 3, classes: 2)),
              .plainConvUNet(.nnUNetDefault(stages: 5, inputChannels: 3, classes: 2)),
          ])
    func peers(architecture: Architecture) throws {
        var g = SeededGenerator(seed: 3)
        let model = try architecture.makeModel(generator: &g)
        model.eval()
        let shape = [1, 3, 64, 64]
        let calibrator = Int8Calibrator(rule: .percentile(99.99))
        let observing = try CompiledUNet(model, inputShape: shape, training: false, observingConvolutionInputs: calibrator.observe)
        let calibration = (0..<2).map { _ in Tensor.normal(shape: shape, using: &g) }
        try calibrator.calibrate { _ in for x in calibration { _ = try observing.forward(x) } }
        let table = calibrator.quantization(images: calibration.count)
        #expect(table.inputs.count >= 8, "\(table.inputs.count)")
        let x = Tensor.normal(shape: shape, using: &g)
        let int8 = try CompiledUNet(model, inputShape: shape, training: false, quantization: table)
        // smp's decoder convolutions of up-sampled maps run as four phases each, in int8.
        #expect(int8.network.int8Convolutions.count == table.readingUpsampledPhases(of: int8.network.graph).inputs.count,
                "\(int8.network.convolutionImplementations)")
        // MONAI's transposed convolutions (kernel 3, stride 2) run as 2x2 convolutions, in int8.
        #expect(!int8.network.graph.nodes.contains { if case .convTranspose2d = $0.op { true } else { false } })
        // BasicUNet's up-sampling (a transposed convolution as a 1x1 convolution and a depth-to-space) moves 8-bit values.
        if case .basicUNet = architecture {
            let rows = int8.network.memoryPlan.table.split(separator: "\n")
            let spaces = int8.network.graph.nodes.filter { if case .depthToSpace = $0.op { true } else { false } }.map(\.name)
            #expect(!spaces.isEmpty)
            for name in spaces {
                #expect(rows.contains { ($0.contains(" u8 ") || $0.contains(" s8 ")) && $0.contains("\(name)  [") }, "\(name)")
            }
        }
        // smp's head (3x3 to 2 classes on the 64x64 map) runs as 2x2 blocks, a float32 convolution of the image's edge:
        // bf16 on a CPU with native bf16.
        if case .smpUNet = architecture {
            let heads = int8.network.graph.nodes.filter { if case .conv2d(let a) = $0.op, case .narrowAsPhases = a.weightSource { true } else { false } }
            #expect(heads.count == 1)
            for head in heads {
                let implementation = int8.network.convolutionImplementations[head.name] ?? ""
                #expect(implementation.contains("bf16") == CPUISA.hasNativeBF16, "\(head.name): \(implementation)")
            }
        }
        let error = Self.relativeRMS(try int8.forward(x), try CompiledUNet(model, inputShape: shape, training: false).forward(x))
        // smp's Unets come within 0.2% (a ReLU6 clipped in the wrong steps made mobilenet_v2's 3%); the instance-normed
        // and deeper networks within 5%.
        let tolerance = if case .smpUNet = architecture { 0.01 } else { 0.05 }
        #expect(error > 1e-4 && error < tolerance, "\(architecture.description): relative RMS error against fp32 \(error)")
    }

    @Test("tables that do not fit are refused: an unknown convolution, the first or last, training, bad ranges, scales past float32")
    func refusals() throws {
        var g = SeededGenerator(seed: 2)
        let x = Tensor.normal(shape: [1, 8, 6, 6], using: &g)
        let (graph, parameters) = try Self.network(x: x, weight: Tensor.normal(shape: [8, 8, 3, 3], using: &g),
                                                   bias: Tensor(shape: [8]), relu: true)
        let range = Quantization.InputRange(limit: 1, signed: true)
        for name in ["elsewhere", "first", "last", "middle"] {
            let table = Quantization(rule: "test", images: 1, inputs: [name: range])
            #expect(throws: CompilationError.self) { try CompiledNetwork(graph: graph, parameters: parameters, training: false, quantization: table) }
        }
        let table = Quantization(rule: "test", images: 1, inputs: ["middle+relu": range])
        #expect(throws: CompilationError.self) { try CompiledNetwork(graph: graph, parameters: parameters, training: true, quantization: table) }
        #expect(throws: CompilationError.self) {
            try CompiledNetwork(graph: graph, parameters: parameters, training: true, observingConvolutionInputs: { _, _ in })
        }
        #expect(throws: CompilationError.self) {
            try CompiledNetwork(graph: graph, parameters: parameters, training: false, passes: [], quantization: table)
        }
        for limit in [Float.nan, .infinity, 0, -1, 1e31, 1e-7] {
            #expect(Quantization(rule: "max", images: 1, inputs: ["middle": .init(limit: limit, signed: false)]).problem != nil, "\(limit)")
        }
        #expect(table.problem == nil)
        // Each range and weight within bounds, their product past float32's: refused, not run into infinities.
        let wide = Quantization(rule: "test", images: 1, inputs: ["middle+relu": .init(limit: 1e29, signed: true)])
        #expect(wide.problem == nil)
        let (huge, hugeParameters) = try Self.network(x: x, weight: Tensor(shape: [8, 8, 3, 3]) { Float($0 % 7 + 1) * 1e13 },
                                                      bias: Tensor(shape: [8]), relu: true)
        #expect(throws: CompilationError.self) { try CompiledNetwork(graph: huge, parameters: hugeParameters, training: false, quantization: wide) }
        _ = try CompiledNetwork(graph: graph, parameters: parameters, training: false, quantization: wide)
    }

    @Test("calibration rules: max keeps the largest magnitude, a percentile clips the tail; signed where negatives reach past 1/64 of the range (under a percentile, more of them than it clips)")
    func calibratorRules() {
        let values = (0..<10_000).map { Float($0) / 1000 } + [-0.5, 1000]
        // The largest magnitude, 1000, makes -0.5 negligible; the 99th percentile, about 10, does not, yet one such value
        // is within the 1% the rule clips; 300 of them are not.
        let cases: [(Int8Calibrator.Rule, [Float], Float, Float, Bool)] = [
            (.max, values, 1000, 1000, false), (.percentile(99.0), values, 9.5, 10.5, false),
            (.percentile(99.0), values + Array(repeating: -0.5, count: 300), 9.5, 10.5, true),
        ]
        for (rule, values, low, high, signed) in cases {
            let calibrator = Int8Calibrator(rule: rule)
            calibrator.calibrate { _ in
                values.withUnsafeBufferPointer { calibrator.observe("a", $0) }
                [Float(0), 2, 3].withUnsafeBufferPointer { calibrator.observe("b", $0) }
            }
            let table = calibrator.quantization(images: 1)
            let a = table.inputs["a"]!
            #expect(a.limit >= low && a.limit <= high && a.signed == signed, "\(rule), \(values.count) values: \(a)")
            #expect(table.inputs["b"]?.signed == false)
        }
    }
}

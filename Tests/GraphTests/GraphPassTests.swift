import Graph
import Testing

/// The graph passes rewrite what they should and nothing else (what the rewritten graphs compute is checked
/// against the reference in the engine's tests).
@Suite("Graph passes")
struct GraphPassTests {
    /// conv → BN → ReLU, twice, the second convolution reading a concatenation of the first's output and an
    /// up-sampled map: a decoder block.
    static func decoderBlock() throws -> Graph {
        let b = GraphBuilder(inputShape: [1, 8, 8, 8])
        let skip = try b.relu(try b.conv2d(b.input, Conv2dAttributes(weight: "a.weight", outputChannels: 8, kernel: 3, padding: 1), name: "a"),
                              name: "a.relu")
        let low = try b.maxPool(skip, PoolAttributes(kernel: 2), name: "pool")
        let up = try b.convTranspose2d(low, ConvTranspose2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 8, kernel: 2, stride: 2),
                                       name: "up")
        let joined = try b.concat([skip, up], name: "cat")
        let conv = try b.conv2d(joined, Conv2dAttributes(weight: "c.weight", outputChannels: 4, kernel: 3, padding: 1), name: "c")
        let norm = try b.batchNorm(conv, BatchNormAttributes(prefix: "bn."), name: "bn")
        let output = try b.relu(norm, name: "relu")
        return b.graph(output: output)
    }

    @Test("folding batch norm, fusing activations, splitting the concatenation, the transposed convolution as depth to space")
    func pipeline() throws {
        let graph = try Self.decoderBlock()
        let folded = graph.foldingBatchNorm()
        #expect(!folded.nodes.contains { if case .batchNorm = $0.op { true } else { false } })
        let fused = folded.fusingActivations(training: false)
        #expect(!fused.nodes.contains { $0.op == .relu })
        let rewritten = fused.rewritingTransposedConvolutions(training: false, precision: .fp32)
        #expect(rewritten.nodes.contains { $0.op == .depthToSpace(block: 2) })
        let split = rewritten.splittingConcatenations()
        #expect(!split.nodes.contains { $0.op == .concat })
        let parts = split.nodes.compactMap { node -> Conv2dAttributes? in
            if case .conv2d(let a) = node.op, a.weight == "c.weight" { return a }
            return nil
        }
        #expect(parts.map(\.weightInputChannels) == [0..<8, 8..<16])
        #expect(parts.map(\.accumulates) == [false, true])
        #expect(parts.map(\.activation) == [nil, .relu], "the activation goes with the last part")
        #expect(parts.allSatisfy { $0.foldedNorm?.prefix == "bn." })
        #expect(split.producer(of: split.output).map { if case .conv2d(let a) = $0.op { a.accumulates } else { false } } == true,
                "the output is the last part's")
        #expect(split.shape(split.output) == [1, 4, 8, 8])
    }

    @Test("a kernel-3 stride-2 transposed convolution becomes a 2x2 convolution (padded at the bottom and right) and depth to space: in inference, in bf16 and int8 always, in fp32 for fewer than 16 output channels")
    func subpixel() throws {
        func graph(outputChannels: Int, kernel: Int = 3, outputPadding: Int = 1) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 8, 5, 7])
            let up = try b.convTranspose2d(b.input, ConvTranspose2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: outputChannels,
                                                                              kernel: kernel, stride: 2, padding: 1, outputPadding: outputPadding),
                                           name: "up")
            return b.graph(output: up)
        }
        let rewritten = try graph(outputChannels: 4).rewritingTransposedConvolutions(training: false, precision: .fp32)
        #expect(rewritten.nodes.map(\.op) == [
            .conv2d({
                var a = Conv2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 16, kernel: [2, 2], stride: [1, 1],
                                         padding: [0, 1, 0, 1], dilation: [1, 1], groups: 1)
                a.weightSource = .transposedAsSubpixel(outputChannels: 4)
                return a
            }()),
            .depthToSpace(block: 2),
        ])
        #expect(rewritten.shape(rewritten.output) == [1, 4, 10, 14])
        #expect(rewritten.nodes.count == 2 && rewritten.shape(rewritten.nodes[0].output) == [1, 16, 5, 7])
        func isRewritten(_ g: Graph) -> Bool { g.nodes.contains { $0.op == .depthToSpace(block: 2) } }
        #expect(!isRewritten(try graph(outputChannels: 4).rewritingTransposedConvolutions(training: true, precision: .fp32)))
        #expect(!isRewritten(try graph(outputChannels: 16).rewritingTransposedConvolutions(training: false, precision: .fp32)))
        #expect(isRewritten(try graph(outputChannels: 32).rewritingTransposedConvolutions(training: false, precision: .bf16)))
        #expect(isRewritten(try graph(outputChannels: 32).rewritingTransposedConvolutions(training: false, precision: .fp32, int8: true)))
        #expect(!isRewritten(try graph(outputChannels: 4, outputPadding: 0).rewritingTransposedConvolutions(training: false, precision: .bf16)),
                "without the output padding the output is not twice the input")
        #expect(!isRewritten(try graph(outputChannels: 4, kernel: 4, outputPadding: 0).rewritingTransposedConvolutions(training: false, precision: .bf16)))
    }

    @Test("in fp32 inference, one of 16 or more output channels becomes its four phase convolutions (1x1, 1x2, 2x1, 2x2, padded at the bottom and right by their row and column) and an interleave; in training it stays")
    func phases() throws {
        let b = GraphBuilder(inputShape: [1, 8, 5, 7])
        let up = try b.convTranspose2d(b.input, ConvTranspose2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 16, kernel: 3,
                                                                          stride: 2, padding: 1, outputPadding: 1), name: "up")
        let graph = b.graph(output: up)
        let rewritten = graph.rewritingTransposedConvolutions(training: false, precision: .fp32)
        let expected: [Op] = [(0, 0), (0, 1), (1, 0), (1, 1)].map { row, column in
            var a = Conv2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 16, kernel: [1 + row, 1 + column], stride: [1, 1],
                                     padding: [0, row, 0, column], dilation: [1, 1], groups: 1)
            a.weightSource = .transposedAsPhase(row: row, column: column, outputChannels: 16)
            return .conv2d(a)
        } + [.interleave(block: 2)]
        #expect(rewritten.nodes.map(\.op) == expected)
        #expect(rewritten.nodes.dropLast().allSatisfy { rewritten.shape($0.output) == [1, 16, 5, 7] && $0.inputs == [rewritten.input] })
        #expect(rewritten.nodes.last?.inputs == rewritten.nodes.dropLast().map(\.output))
        #expect(rewritten.shape(rewritten.output) == [1, 16, 10, 14] && rewritten.levels[rewritten.output.id] == -1)
        #expect(graph.rewritingTransposedConvolutions(training: true, precision: .fp32).nodes.map(\.op) == graph.nodes.map(\.op))
    }

    @Test("a batch norm and a leaky ReLU after a transposed convolution rewritten as phases fold into each of the four; a concatenation they all read splits in each")
    func foldAndSplitThroughInterleave() throws {
        let b = GraphBuilder(inputShape: [1, 8, 5, 7])
        let cat = try b.concat([try b.relu(b.input, name: "skip"), b.input], name: "cat")
        let up = try b.convTranspose2d(cat, ConvTranspose2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 16, kernel: 3,
                                                                      stride: 2, padding: 1, outputPadding: 1), name: "up")
        let norm = try b.batchNorm(up, BatchNormAttributes(prefix: "n."), name: "norm")
        let graph = b.graph(output: try b.leakyReLU(norm, slope: 0.25, name: "act"))
        let folded = graph.rewritingTransposedConvolutions(training: false, precision: .fp32).foldingBatchNorm().fusingActivations(training: false)
        let phases = folded.nodes.compactMap { node -> Conv2dAttributes? in if case .conv2d(let a) = node.op { a } else { nil } }
        #expect(phases.count == 4 && phases.allSatisfy { $0.foldedNorm == BatchNormAttributes(prefix: "n.") && $0.activation == .leakyReLU(slope: 0.25) })
        #expect(folded.producer(of: folded.output)?.op == .interleave(block: 2))
        let split = folded.splittingConcatenations()
        #expect(!split.nodes.contains { $0.op == .concat })
        let parts = split.nodes.compactMap { node -> Conv2dAttributes? in if case .conv2d(let a) = node.op { a } else { nil } }
        #expect(parts.map(\.weightInputChannels) == Array(repeating: [0..<8, 8..<16], count: 4).flatMap { $0 })
        #expect(parts.map(\.accumulates) == Array(repeating: [false, true], count: 4).flatMap { $0 })
        #expect(parts.map { $0.activation != nil } == Array(repeating: [false, true], count: 4).flatMap { $0 })
        // A concatenation also read by something other than a convolution stays whole.
        let shared = GraphBuilder(inputShape: [1, 8, 5, 7])
        let both = try shared.concat([try shared.relu(shared.input, name: "skip"), shared.input], name: "cat")
        let upShared = try shared.convTranspose2d(both, ConvTranspose2dAttributes(weight: "t.weight", outputChannels: 16, kernel: 3, stride: 2,
                                                                                  padding: 1, outputPadding: 1), name: "up")
        let resized = try shared.upsample(both, size: [10, 14], mode: .nearest, name: "resize")
        let mixed = shared.graph(output: try shared.add(upShared, resized, name: "sum"))
        #expect(mixed.rewritingTransposedConvolutions(training: false, precision: .fp32).splittingConcatenations().nodes.contains { $0.op == .concat })
    }

    @Test("a batch norm and a leaky ReLU after a rewritten transposed convolution fold into its 2x2 convolution, past the depth to space; not where its output is read twice")
    func foldThroughDepthToSpace() throws {
        func graph(alsoReadingExpanded: Bool = false) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 8, 5, 7])
            let up = try b.convTranspose2d(b.input, ConvTranspose2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 4,
                                                                              kernel: 3, stride: 2, padding: 1, outputPadding: 1),
                                           name: "up")
            let norm = try b.batchNorm(up, BatchNormAttributes(prefix: "n."), name: "norm")
            let act = try b.leakyReLU(norm, slope: 0.25, name: "act")
            return b.graph(output: alsoReadingExpanded ? try b.add(act, up, name: "add") : act)
        }
        let rewritten = try graph().rewritingTransposedConvolutions(training: false, precision: .bf16)
        let folded = rewritten.foldingBatchNorm().fusingActivations(training: false)
        var expected = Conv2dAttributes(weight: "t.weight", bias: "t.bias", outputChannels: 16, kernel: [2, 2], stride: [1, 1],
                                        padding: [0, 1, 0, 1], dilation: [1, 1], groups: 1)
        expected.weightSource = .transposedAsSubpixel(outputChannels: 4)
        expected.foldedNorm = BatchNormAttributes(prefix: "n.")
        expected.activation = .leakyReLU(slope: 0.25)
        #expect(folded.nodes.map(\.op) == [.conv2d(expected), .depthToSpace(block: 2)])
        #expect(folded.shape(folded.output) == [1, 4, 10, 14])
        // The transposed convolution's output is also read by the add: the depth to space's output is not the
        // convolution's alone to change, so the batch norm and activation stay.
        let shared = try graph(alsoReadingExpanded: true).rewritingTransposedConvolutions(training: false, precision: .bf16)
        #expect(shared.foldingBatchNorm().fusingActivations(training: false).nodes.count == shared.nodes.count)
    }

    @Test("a transposed convolution of a concatenation, rewritten as a 2x2 convolution, splits over the concatenated inputs in inference; as a 1x1 one it does not")
    func splitSubpixel() throws {
        func graph(kernel: Int) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 8, 5, 7])
            let skip = try b.relu(b.input, name: "skip")
            let cat = try b.concat([skip, b.input], name: "cat")
            let up = try b.convTranspose2d(cat, ConvTranspose2dAttributes(weight: "t.weight", outputChannels: 4, kernel: kernel, stride: 2,
                                                                          padding: kernel == 3 ? 1 : 0, outputPadding: kernel == 3 ? 1 : 0),
                                           name: "up")
            return b.graph(output: up)
        }
        let split = try graph(kernel: 3).rewritingTransposedConvolutions(training: false, precision: .fp32).splittingConcatenations()
        let parts = split.nodes.compactMap { node -> Conv2dAttributes? in if case .conv2d(let a) = node.op { a } else { nil } }
        #expect(!split.nodes.contains { $0.op == .concat })
        #expect(parts.map(\.weightInputChannels) == [0..<8, 8..<16] && parts.map(\.accumulates) == [false, true])
        #expect(parts.allSatisfy { $0.weightSource == .transposedAsSubpixel(outputChannels: 4) })
        let pointwise = try graph(kernel: 2).rewritingTransposedConvolutions(training: true, precision: .fp32).splittingConcatenations()
        #expect(pointwise.nodes.contains { $0.op == .concat })
    }

    @Test("a residual block's conv(y) + x becomes the convolution adding into x, where x's readers come before, with the ReLU after as its post-op; not where x is read later or is the convolution's input")
    func residualAdds() throws {
        /// x = relu(conv a(input)); y = relu(conv b(x)); out = relu(conv c(y) + x) [→ conv d(x) after it].
        func block(readLater: Bool = false, addsOwnInput: Bool = false) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 8, 6, 6])
            func conv(_ v: Graph.Value, _ name: String) throws -> Graph.Value {
                try b.conv2d(v, Conv2dAttributes(weight: "\(name).weight", bias: "\(name).bias", outputChannels: 8, kernel: 3, padding: 1),
                             name: name)
            }
            let x = try b.relu(try conv(b.input, "a"), name: "a.relu")
            let y = addsOwnInput ? x : try b.relu(try conv(x, "b"), name: "b.relu")
            var out = try b.relu(try b.add(try conv(y, "c"), x, name: "add"), name: "relu")
            if readLater { out = try b.add(out, try conv(x, "d"), name: "later") }
            return b.graph(output: out)
        }
        let fused = try block().fusingResidualAdds()
        #expect(!fused.nodes.contains { if case .add = $0.op { true } else { false } })
        #expect(!fused.nodes.contains { $0.name == "relu" })
        let c = try #require(fused.nodes.last)
        #expect(c.name == "c", "the convolution keeps its name")
        guard case .conv2d(let a) = c.op else { Issue.record("\(c.op)"); return }
        #expect(a.accumulates && a.activation == .relu && a.bias == "c.bias")
        #expect(c.inputs.count == 2 && fused.producer(of: c.inputs[1])?.name == "a.relu", "it adds into the first block's map")
        #expect(c.output == fused.output)
        for unfusable in [try block(readLater: true), try block(addsOwnInput: true)] {
            let kept = unfusable.fusingResidualAdds()
            #expect(kept.nodes.filter { $0.name == "add" }.count == 1, "\(kept.nodes.map(\.name))")
        }
    }

    @Test("inference fuses a leaky ReLU after an instance norm into it; training keeps them apart")
    func instanceNormActivation() throws {
        let b = GraphBuilder(inputShape: [1, 4, 8, 8])
        let norm = try b.instanceNorm(b.input, InstanceNormAttributes(affinePrefix: "n."), name: "norm")
        let graph = b.graph(output: try b.leakyReLU(norm, slope: 0.01, name: "act"))
        var fused = InstanceNormAttributes(affinePrefix: "n.")
        fused.activation = .leakyReLU(slope: 0.01)
        #expect(graph.fusingActivations(training: false).nodes.map(\.op) == [.instanceNorm(fused)])
        #expect(graph.fusingActivations(training: true).nodes.count == 2)
    }

    /// SiLU's backward reads its input, which a convolution with the SiLU fused does not keep: only inference fuses
    /// it, into a convolution (with the batch norm folded in), never into a batch or instance norm.
    @Test("inference fuses a SiLU after a convolution (and its folded batch norm) into it; training and norms keep it apart")
    func silu() throws {
        let b = GraphBuilder(inputShape: [1, 4, 8, 8])
        let conv = try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 4, kernel: 1), name: "conv")
        let norm = try b.batchNorm(conv, BatchNormAttributes(prefix: "bn."), name: "bn")
        let graph = b.graph(output: try b.silu(norm, name: "act"))
        let inference = graph.foldingBatchNorm().fusingActivations(training: false)
        #expect(inference.nodes.count == 1)
        if case .conv2d(let a) = inference.nodes.first?.op { #expect(a.activation == .silu && a.foldedNorm != nil) } else { Issue.record("\(inference.nodes)") }
        #expect(graph.fusingActivations(training: true).nodes.map(\.op.name) == ["conv2d", "batch_norm", "silu"])
        #expect(graph.fusingActivations(training: false).nodes.map(\.op.name) == ["conv2d", "batch_norm", "silu"])
        let n = GraphBuilder(inputShape: [1, 4, 8, 8])
        let instance = n.graph(output: try n.silu(try n.instanceNorm(n.input, InstanceNormAttributes(affinePrefix: "n."), name: "norm"), name: "act"))
        #expect(instance.fusingActivations(training: false).nodes.count == 2)
    }

    /// ReLU6's backward reads its output, so training fuses it into a convolution as it does a ReLU; oneDNN's batch
    /// norm fuses only a ReLU, and the int8 instance norm none but ReLU and leaky ReLU.
    @Test("a ReLU6 fuses into a convolution in training and inference, never into a batch or instance norm")
    func relu6() throws {
        let b = GraphBuilder(inputShape: [1, 4, 8, 8])
        let conv = try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 4, kernel: 3, padding: 1), name: "conv")
        let direct = b.graph(output: try b.relu6(conv, name: "act"))
        for training in [true, false] {
            let fused = direct.fusingActivations(training: training)
            if case .conv2d(let a) = fused.nodes.first?.op, fused.nodes.count == 1 {
                #expect(a.activation == .relu6 && fused.nodes[0].name == "conv+act")
            } else {
                Issue.record("training \(training): \(fused.nodes)")
            }
        }
        let n = GraphBuilder(inputShape: [1, 4, 8, 8])
        let norm = try n.batchNorm(try n.conv2d(n.input, Conv2dAttributes(weight: "w", outputChannels: 4, kernel: 1), name: "conv"),
                                   BatchNormAttributes(prefix: "bn."), name: "bn")
        let normed = n.graph(output: try n.relu6(norm, name: "act"))
        #expect(normed.fusingActivations(training: true).nodes.map(\.op.name) == ["conv2d", "batch_norm", "relu6"])
        #expect(normed.foldingBatchNorm().fusingActivations(training: false).nodes.map(\.op.name) == ["conv2d+bn+relu6"])
        let i = GraphBuilder(inputShape: [1, 4, 8, 8])
        let instance = i.graph(output: try i.relu6(try i.instanceNorm(i.input, InstanceNormAttributes(affinePrefix: "n."), name: "norm"), name: "act"))
        #expect(instance.fusingActivations(training: false).nodes.count == 2)
    }

    @Test("training keeps batch norm, fusing the ReLU into it; a value read twice is not fused")
    func training() throws {
        let fused = try Self.decoderBlock().fusingActivations(training: true)
        #expect(fused.nodes.contains { node in
            if case .batchNorm(let a) = node.op { return a.activation == .relu }
            return false
        })
        let b = GraphBuilder(inputShape: [1, 4, 8, 8])
        let conv = try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 4, kernel: 1), name: "conv")
        let relu = try b.relu(conv, name: "relu")
        let sum = try b.add(relu, conv, name: "add")
        let graph = b.graph(output: sum)
        #expect(graph.fusingActivations(training: true).nodes.count == 3, "the convolution's output is also read by the add")
    }

    @Test("a 3x3 convolution of a nearest 2x up-sampling becomes four 2x2 phase convolutions of the map before it (padded 1 − a above, a below, 1 − b left, b right) and an interleave; not for another size, bilinear, another kernel, or a map something else reads")
    func upsampledAsPhases() throws {
        func graph(size: [Int] = [10, 14], mode: UpsampleAttributes.Mode = .nearest, kernel: Int = 3, alsoPooled: Bool = false) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 8, 5, 7])
            let up = try b.upsample(b.input, size: size, mode: mode, name: "up")
            var y = try b.conv2d(up, Conv2dAttributes(weight: "w", bias: "b", outputChannels: 4, kernel: kernel, padding: kernel / 2), name: "conv")
            if alsoPooled { y = try b.concat([y, try b.maxPool(up, PoolAttributes(kernel: 1, stride: 1), name: "pool")], name: "cat") }
            return b.graph(output: y)
        }
        let rewritten = try graph().rewritingUpsampledConvolutions()
        let expected: [Op] = [(0, 0), (0, 1), (1, 0), (1, 1)].map { row, column in
            var a = Conv2dAttributes(weight: "w", bias: "b", outputChannels: 4, kernel: [2, 2], stride: [1, 1],
                                     padding: [1 - row, row, 1 - column, column], dilation: [1, 1], groups: 1)
            a.weightSource = .upsampledAsPhase(row: row, column: column)
            return .conv2d(a)
        } + [.interleave(block: 2)]
        #expect(rewritten.nodes.map(\.op) == expected)
        #expect(rewritten.nodes.dropLast().allSatisfy { rewritten.shape($0.output) == [1, 4, 5, 7] && $0.inputs == [rewritten.input] })
        #expect(rewritten.shape(rewritten.output) == [1, 4, 10, 14] && rewritten.levels[rewritten.output.id] == -1)
        for (label, unchanged) in [("another size", try graph(size: [11, 14])), ("bilinear", try graph(mode: .bilinear(alignCorners: false))),
                                   ("1x1", try graph(kernel: 1)), ("read by a pool too", try graph(alsoPooled: true))] {
            #expect(unchanged.rewritingUpsampledConvolutions().nodes.map(\.op) == unchanged.nodes.map(\.op), "\(label)")
        }
    }

    @Test("a stride-1 convolution to fewer than 8 channels on a 64x64 or larger map becomes a stride-r convolution to r²·C_out channels (r 4 for one channel, else 2; kernel k + r − 1, padding kept) and a depth to space; not for 8 channels, 1x1, stride 2, a small map or sides r does not divide")
    func narrowAsDepthToSpace() throws {
        func graph(size: [Int] = [64, 68], channels: Int = 2, kernel: Int = 3, stride: Int = 1) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 16] + size)
            let a = Conv2dAttributes(weight: "w", bias: "b", outputChannels: channels, kernel: kernel, stride: stride, padding: kernel / 2)
            return b.graph(output: try b.relu(try b.conv2d(b.input, a, name: "head"), name: "relu")).fusingActivations(training: false)
        }
        for (channels, kernel, r) in [(2, 3, 2), (1, 3, 4), (7, 5, 2)] {
            let rewritten = try graph(channels: channels, kernel: kernel).rewritingNarrowConvolutions()
            var expected = Conv2dAttributes(weight: "w", bias: "b", outputChannels: r * r * channels, kernel: [kernel + r - 1, kernel + r - 1],
                                            stride: [r, r], padding: Array(repeating: kernel / 2, count: 4), dilation: [1, 1], groups: 1)
            (expected.activation, expected.weightSource) = (.relu, .narrowAsPhases(block: r, outputChannels: channels))
            #expect(rewritten.nodes.map(\.op) == [.conv2d(expected), .depthToSpace(block: r)], "\(channels) channels")
            #expect(rewritten.shape(rewritten.nodes[0].output) == [1, r * r * channels, 64 / r, 68 / r] && rewritten.nodes[0].name == "head+relu")
            #expect(rewritten.shape(rewritten.output) == [1, channels, 64, 68])
        }
        for (label, unchanged) in [("8 channels", try graph(channels: 8)), ("1x1", try graph(kernel: 1)), ("stride 2", try graph(stride: 2)),
                                   ("32x32", try graph(size: [32, 32])), ("sides 4 does not divide", try graph(size: [64, 66], channels: 1))] {
            #expect(unchanged.rewritingNarrowConvolutions().nodes.map(\.op) == unchanged.nodes.map(\.op), "\(label)")
        }
    }

    @Test("a channel-gated map added to a residual, with the ReLU after, becomes one gated residual; not where the product or the sum is read elsewhere, nor for a pixel gate")
    func gatedResiduals() throws {
        /// `relu(conv(x) · sigmoid(pool(conv(x))) + x)`: a squeeze-and-excitation block's end.
        func graph(productAlsoRead: Bool = false, sumAlsoRead: Bool = false, pixelGate: Bool = false) throws -> Graph {
            let b = GraphBuilder(inputShape: [1, 8, 6, 6])
            let y = try b.conv2d(b.input, Conv2dAttributes(weight: "w", outputChannels: 8, kernel: 3, padding: 1), name: "conv")
            let gate = pixelGate
                ? try b.sigmoid(try b.conv2d(y, Conv2dAttributes(weight: "p", outputChannels: 1, kernel: 1), name: "pixels"), name: "gate")
                : try b.sigmoid(try b.globalAvgPool(y, name: "pool"), name: "gate")
            let product = try b.multiply(y, gate, name: "se")
            let sum = try b.add(b.input, product, name: "sum")
            var output = try b.relu(sum, name: "relu")
            if productAlsoRead { output = try b.add(output, product, name: "again") }
            if sumAlsoRead { output = try b.add(output, sum, name: "again") }
            return b.graph(output: output)
        }
        let original = try graph()
        let fused = original.fusingGatedResiduals()
        #expect(fused.nodes.map(\.op) == [original.nodes[0].op, .globalAvgPool, .sigmoid, .gatedResidual(activation: .relu)])
        let node = try #require(fused.nodes.last)
        // The inputs: the gated map, the residual (the network's input), the gate; named as the addition was.
        #expect(node.inputs == [fused.nodes[0].output, fused.input, fused.nodes[2].output] && node.name == "sum")
        #expect(fused.output == node.output && fused.shape(node.output) == [1, 8, 6, 6])
        for (label, unchanged) in [("product read again", try graph(productAlsoRead: true)), ("pixel gate", try graph(pixelGate: true))] {
            #expect(unchanged.fusingGatedResiduals().nodes.map(\.op) == unchanged.nodes.map(\.op), "\(label)")
        }
        // A sum read again keeps its ReLU apart.
        let apart = try graph(sumAlsoRead: true).fusingGatedResiduals()
        #expect(apart.nodes.map(\.op).contains(.gatedResidual(activation: nil)) && apart.nodes.map(\.op).contains(.relu))
    }

    @Test("with partsAddingIn, the skip's part of a split decoder convolution becomes four stride-2 phases, each adding into the up-sampled part's phase (a, b), padded 1 − a above, a below, 1 − b left, b right; one interleave of the sums")
    func partsAddingIntoPhases() throws {
        let b = GraphBuilder(inputShape: [1, 8, 5, 7])
        let skip = try b.relu(try b.conv2d(try b.upsample(b.input, scale: 2, mode: .bilinear(alignCorners: false), name: "skip_up"),
                                           Conv2dAttributes(weight: "s", outputChannels: 4, kernel: 1), name: "skip"), name: "skip_relu")
        let up = try b.upsample(b.input, scale: 2, mode: .nearest, name: "up")
        let y = try b.relu(try b.conv2d(try b.concat([up, skip], name: "cat"), Conv2dAttributes(weight: "w", outputChannels: 6, kernel: 3,
                                                                                               padding: 1), name: "conv"), name: "relu")
        let split = b.graph(output: y).fusingActivations(training: false).splittingConcatenations()
        let plain = split.rewritingUpsampledConvolutions()
        let phased = split.rewritingUpsampledConvolutions(partsAddingIn: true)
        func convolutions(_ g: Graph) -> [Conv2dAttributes] { g.nodes.compactMap { if case .conv2d(let a) = $0.op { a } else { nil } } }
        // Without it: the up-sampled part's four phases, their interleave, and the skip's part adding into it at full size.
        #expect(convolutions(plain).filter(\.accumulates).map(\.stride) == [[1, 1]])
        let parts = convolutions(phased).filter(\.accumulates)
        #expect(parts.map(\.stride) == Array(repeating: [2, 2], count: 4))
        #expect(parts.map(\.padding) == [[1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1]])
        #expect(parts.allSatisfy { $0.weightInputChannels == 8..<12 && $0.activation == .relu && $0.weightSource == .conv2d })
        let interleaves = phased.nodes.filter { $0.op == .interleave(block: 2) }
        #expect(interleaves.count == 1 && interleaves[0].output == phased.output && phased.shape(phased.output) == [1, 6, 10, 14])
        // Each part adds into the up-sampled part's phase of the same name's position, at half size.
        for (index, node) in phased.nodes.enumerated() {
            guard case .conv2d(let a) = node.op, a.accumulates, let made = phased.producer(of: node.inputs[1]) else { continue }
            #expect(made.name.hasSuffix(String(node.name.suffix(7))) && phased.shape(node.output) == [1, 6, 5, 7], "\(index): \(node.name)")
            #expect(interleaves[0].inputs.contains(node.output))
        }
    }

    @Test("an int8 table's range for a convolution read as phases goes to each phase, but for phases of the network's input (the image)")
    func int8TableForPhases() throws {
        let b = GraphBuilder(inputShape: [1, 8, 5, 7])
        let ofImage = try b.conv2d(try b.upsample(b.input, scale: 2, mode: .nearest, name: "up1"),
                                   Conv2dAttributes(weight: "w1", outputChannels: 8, kernel: 3, padding: 1), name: "first")
        let ofMap = try b.conv2d(try b.upsample(try b.relu(b.input, name: "relu"), scale: 2, mode: .nearest, name: "up2"),
                                 Conv2dAttributes(weight: "w2", outputChannels: 8, kernel: 3, padding: 1), name: "second")
        let graph = b.graph(output: try b.add(ofImage, ofMap, name: "sum")).rewritingUpsampledConvolutions()
        let (image, map) = (Quantization.InputRange(limit: 1, signed: true), Quantization.InputRange(limit: 2, signed: false))
        let other = Quantization.InputRange(limit: 3, signed: true)
        let table = Quantization(rule: "max", images: 1, inputs: ["first": image, "second": map, "elsewhere": other])
        let read = table.readingUpsampledPhases(of: graph)
        #expect(read.inputs == ["second.phase00": map, "second.phase01": map, "second.phase10": map, "second.phase11": map, "elsewhere": other])
        #expect((read.rule, read.images) == ("max", 1))
    }
}

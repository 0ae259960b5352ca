import DNNL
import Distributed
import Execution
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing

/// Every pass on computes what every pass off computes (the reference: each op its own primitive on plain NCHW,
/// nothing shared, nothing made again), on every layout and option of the classic U-Net.
@Suite("Compiled U-Net: passes on against passes off")
struct CompiledUNetTests {
    static let configurations: [(String, UNetConfiguration, [Int])] = [
        ("milesial", .milesial(inputChannels: 3, classes: 2, baseWidth: 16, depth: 3), [2, 3, 32, 48]),
        ("milesial odd size (pad)", .milesial(inputChannels: 1, classes: 2, baseWidth: 16, depth: 3), [2, 1, 37, 29]),
        ("milesial bilinear", .milesial(inputChannels: 3, classes: 1, bilinear: true, baseWidth: 16, depth: 2), [2, 3, 24, 40]),
        ("labml (crop, no BN)", .labml(inputChannels: 1, classes: 3, baseWidth: 16, depth: 2), [2, 1, 37, 41]),
        ("tutorial valid + crop", .tutorial(inputChannels: 1, classes: 2, baseWidth: 16, depth: 2, padding: .valid, merge: .crop), [1, 1, 76, 68]),
        ("narrow (base 8, NHWC activations)", .milesial(inputChannels: 3, classes: 2, baseWidth: 8, depth: 2), [2, 3, 16, 16]),
        ("wide (Winograd)", .milesial(inputChannels: 3, classes: 2, baseWidth: 32, depth: 2), [1, 3, 32, 32]),
    ]

    /// Two identical models: one for the reference (every pass off), one with every pass on. BN statistics made
    /// non-trivial.
    static func models(_ c: UNetConfiguration) throws -> (UNet, UNet) {
        var g1 = SeededGenerator(seed: 7)
        var g2 = SeededGenerator(seed: 7)
        let (reference, fast) = (try UNet(c, generator: &g1), try UNet(c, generator: &g2))
        var g = SeededGenerator(seed: 8)
        for (r, f) in zip(reference.namedParameters(), fast.namedParameters()) where r.0.contains("running") || r.0.hasSuffix(".weight") && r.1.value.rank == 1 {
            let value = r.0.contains("running_var") || r.1.value.rank == 1 && !r.0.contains("running")
                ? Tensor.uniform(shape: r.1.value.shape, low: 0.5, high: 1.5, using: &g)
                : Tensor.normal(shape: r.1.value.shape, standardDeviation: 0.1, using: &g)
            r.1.value = value
            f.1.value = value
        }
        return (reference, fast)
    }

    /// Eval-mode logits of a compiled network in `precision` and of the fp32 reference, for one random input.
    static func inferenceLogits(
        _ c: UNetConfiguration, shape: [Int], precision: Precision = .fp32, seed: UInt64
    ) throws -> (compiled: Tensor, reference: Tensor) {
        let (reference, fast) = try models(c)
        var g = SeededGenerator(seed: seed)
        let x = Tensor.normal(shape: shape, using: &g)
        let compiled = try CompiledUNet(fast, inputShape: shape, precision: precision, training: false)
        return (try compiled.forward(x), try CompiledUNet(reference, inputShape: shape, training: false, passes: []).forward(x))
    }

    @Test("inference: eval-mode logits, BN folded", arguments: configurations.indices)
    func inference(index: Int) throws {
        let (name, c, shape) = Self.configurations[index]
        let (compiled, reference) = try Self.inferenceLogits(c, shape: shape, seed: 9)
        expectClose(compiled, reference, rtol: 1e-3, atol: 1e-4, name)
    }

    @Test("the logits a caller keeps stay as they were; those it let go of are written over by the next forward")
    func outputReuse() throws {
        let (_, c, shape) = Self.configurations[0]
        let (_, fast) = try Self.models(c)
        let network = try CompiledUNet(fast, inputShape: shape, training: false)
        var g = SeededGenerator(seed: 3)
        let (x1, x2) = (Tensor.normal(shape: shape, using: &g), Tensor.normal(shape: shape, using: &g))
        let kept = try network.forward(x1)
        let copy = try Tensor(shape: kept.shape, scalars: kept.scalars)
        let second = try network.forward(x2)
        #expect(kept == copy, "a later forward wrote into logits the caller still holds")
        #expect(second != kept && second.storage !== kept.storage)
        weak var previous = second.storage
        let expected = try Tensor(shape: second.shape, scalars: second.scalars)
        _ = consume second
        let third = try network.forward(x2)
        #expect(third.storage === previous, "the next forward took new memory for the logits")
        #expect(third == expected)
    }

    /// Every pass on against every pass off (`trainingDisagreements`). Max pooling sends a window's gradient to its
    /// largest value; where two values of a window differ by less than the rounding of the convolutions before it
    /// (about 1e-6 relative), the two networks (whose kernels round differently in different layouts) may pick
    /// different ones, and parts of every gradient upstream move by a few percent. At these sizes that happens for
    /// about one network in ten and one input in ten; a wrong buffer or a missed term fails for every input.
    @Test("training: train-mode logits, every gradient, BN running statistics", arguments: configurations.indices)
    func training(index: Int) throws {
        let (name, c, shape) = Self.configurations[index]
        let failures = try Self.trainingDisagreements(c, shape: shape, passes: Set(Pass.allCases))
        #expect(failures.isEmpty, "\(name): \(failures.prefix(5))")
    }

    /// Each pass switched off alone (the others on) against every pass off: passes do not depend on each other to be
    /// right.
    @Test("training and inference with each pass switched off alone", arguments: Pass.allCases)
    func eachPassOff(pass: Pass) throws {
        let (name, c, shape) = Self.configurations[0]
        let passes = Set(Pass.allCases).subtracting([pass])
        let failures = try Self.trainingDisagreements(c, shape: shape, passes: passes)
        #expect(failures.isEmpty, "\(name) without \(pass.rawValue): \(failures.prefix(5))")
        let (reference, fast) = try Self.models(c)
        var g = SeededGenerator(seed: 9)
        let x = Tensor.normal(shape: shape, using: &g)
        expectClose(try CompiledUNet(fast, inputShape: shape, training: false, passes: passes).forward(x),
                    try CompiledUNet(reference, inputShape: shape, training: false, passes: []).forward(x), rtol: 1e-3, atol: 1e-4,
                    "\(name) without \(pass.rawValue): eval-mode logits")
    }

    /// Train-mode logits elementwise, every gradient and running statistic of a network compiled with `passes` against
    /// every pass off, for up to three random inputs, until one agrees everywhere; what disagreed for the last one.
    static func trainingDisagreements(_ c: UNetConfiguration, shape: [Int], passes: Set<Pass>) throws -> [String] {
        var failures: [String] = []
        for seed in [11, 12, 13] as [UInt64] {
            let (reference, fast) = try Self.models(c)
            var g = SeededGenerator(seed: seed)
            let x = Tensor.normal(shape: shape, using: &g)
            let compiled = try CompiledUNet(fast, inputShape: shape, training: true, passes: passes)
            let referenceNetwork = try CompiledUNet(reference, inputShape: shape, training: true, passes: [])
            let logits = try compiled.forward(x)
            expectClose(logits, try referenceNetwork.forward(x), rtol: 1e-3, atol: 1e-4, "logits")
            let dy = Tensor.normal(shape: logits.shape, using: &g)
            try referenceNetwork.backward(dy)
            try compiled.backward(dy)
            failures = []
            for ((key, r), (_, f)) in zip(reference.namedParameters(), fast.namedParameters()) {
                let (actual, wanted) = r.requiresGrad ? (f.grad, r.grad) : (f.value, r.value)
                let worst = zip(actual.scalars, wanted.scalars).map { abs($0 - $1) - (2e-3 * abs($1) + 2e-4) }.max() ?? 0
                if worst > 0 { failures.append("seed \(seed) \(key): off by \(worst) beyond the tolerance") }
            }
            if failures.isEmpty { break }
        }
        return failures
    }

    /// `SyncBatchNorm`'s path (statistics summed over the ranks, backward with them as constants plus the correction
    /// terms) over a group of one process is ordinary batch norm: the same logits, gradients and running statistics.
    @Test("synchronized batch norm over one process trains as batch norm does", arguments: [0, 5, 6])
    func synchronizedBatchNorm(index: Int) throws {
        let (name, c, shape) = Self.configurations[index]
        let (plain, synchronized) = try Self.models(c)
        var g = SeededGenerator(seed: 21)
        let x = Tensor.normal(shape: shape, using: &g)
        let plainNetwork = try CompiledUNet(plain, inputShape: shape, training: true)
        let synchronizedNetwork = try CompiledUNet(synchronized, inputShape: shape, training: true, synchronizedBatchNorm: ProcessGroup())
        let logits = try plainNetwork.forward(x)
        expectClose(try synchronizedNetwork.forward(x), logits, rtol: 1e-5, atol: 1e-6, "\(name) logits")
        let dy = Tensor.normal(shape: logits.shape, using: &g)
        try plainNetwork.backward(dy)
        try synchronizedNetwork.backward(dy)
        for ((key, p), (_, s)) in zip(plain.namedParameters(), synchronized.namedParameters()) {
            expectCloseInNorm(p.requiresGrad ? s.grad : s.value, p.requiresGrad ? p.grad : p.value, relative: 1e-5, rtol: 1e-2, "\(name) \(key)")
        }
    }

    /// Running convolutions again in backward is exact: the same primitive on the same inputs and weights
    /// gives the same map, so recomputing changes no value at all.
    @Test("fp32 training that recomputes convolutions gives bit for bit the gradients of one that keeps them",
          arguments: [0, 1, 2, 3, 4, 6])
    func recomputedConvolutions(index: Int) throws {
        let (name, c, shape) = Self.configurations[index]
        let (keeping, recomputing) = try Self.models(c)
        var g = SeededGenerator(seed: 12)
        let x = Tensor.normal(shape: shape, using: &g)
        let kept = try CompiledUNet(keeping, inputShape: shape, training: true, recomputesConvolutions: false)
        let recomputed = try CompiledUNet(recomputing, inputShape: shape, training: true, recomputesConvolutions: true)
        let logits = try kept.forward(x)
        #expect(try recomputed.forward(x) == logits, "\(name) logits")
        let dy = Tensor.normal(shape: logits.shape, using: &g)
        try kept.backward(dy)
        try recomputed.backward(dy)
        for ((key, k), (_, r)) in zip(keeping.namedParameters(), recomputing.namedParameters()) {
            #expect(k.requiresGrad ? k.grad == r.grad : k.value == r.value, "\(name) \(key)")
        }
        #expect(recomputed.recomputesConvolutions && !kept.recomputesConvolutions)
        #expect(try !CompiledUNet(keeping, inputShape: shape, training: true).recomputesConvolutions, "default: small maps are kept")
        #expect(try !CompiledUNet(keeping, inputShape: shape, training: false).recomputesConvolutions, "inference")
    }

    /// By default training makes convolution outputs again only where keeping every forward value would take more than
    /// an eighth of the machine's memory, counting each value in its precision.
    @Test("training recomputes by default only where keeping would take more than an eighth of the memory")
    func recomputeDefault() throws {
        let shape = [2, 3, 64, 64]
        var g = SeededGenerator(seed: 3)
        let model = try UNet(UNetConfiguration(layout: .milesial, inputChannels: 3, classes: 2, baseWidth: 8, depth: 3), generator: &g)
        let graph = try model.graph(inputShape: shape)
        let bytes = graph.nodes.reduce(0) { $0 + graph.shape($1.output).reduce(1, *) * 4 }
        let fp32 = [Precision](repeating: .fp32, count: graph.shapes.count)
        let bf16 = [Precision](repeating: .bf16, count: graph.shapes.count)
        #expect(CompiledNetwork.keepingIsCostly(graph, precisions: fp32, physicalMemory: UInt64(8 * bytes - 8)))
        #expect(!CompiledNetwork.keepingIsCostly(graph, precisions: fp32, physicalMemory: UInt64(8 * bytes)))
        #expect(!CompiledNetwork.keepingIsCostly(graph, precisions: bf16, physicalMemory: UInt64(8 * bytes - 8)), "bf16 maps take half")
        #expect(CompiledNetwork.keepingIsCostly(graph, precisions: bf16, physicalMemory: UInt64(4 * bytes - 8)))
    }

    static func norm(_ t: Tensor) -> Float { t.map { $0 * $0 }.sum().squareRoot() }

    /// The engine's backward (passes off and on) against finite differences of the forward, for the input and for a
    /// decoder weight, in training mode.
    /// Without batch norm: in training mode its batch statistics couple every pixel, so a finite step flips ReLUs
    /// across the whole map (the normalizations are checked against PyTorch's gradients instead).
    @Test("input and parameter gradients of a width-4 U-Net match finite differences",
          arguments: [UNetConfiguration(layout: .milesial, inputChannels: 2, classes: 2, baseWidth: 4, depth: 2, batchNorm: false,
                                        upsampling: .bilinear),
                      .labml(inputChannels: 2, classes: 2, baseWidth: 4, depth: 2),
                      UNetConfiguration(layout: .tutorial, inputChannels: 2, classes: 2, baseWidth: 4, depth: 2, merge: .crop,
                                        batchNorm: false, convolutionBias: true)])
    func finiteDifferences(configuration: UNetConfiguration) throws {
        for passes in [Set<Pass>(), Set(Pass.allCases)] {
            var g = SeededGenerator(seed: 4)
            let model = try UNet(configuration, generator: &g)
            let x = Tensor.normal(shape: [2, 2, 9, 7], using: &g)
            let network = try CompiledNetwork(graph: try model.graph(inputShape: x.shape), parameters: model.namedParameters(),
                                              training: true, passes: passes, inputGradient: true)
            try checkGradient(of: { x in
                (try network.forward(x), { dy in try network.backward(dy); return try #require(network.inputGradient) })
            }, at: x, epsilon: 1e-2, rtol: 3e-2, atol: 3e-3)
            let parameter = model.decoders[0].conv1.weight
            let original = parameter.value
            try checkGradient(of: { w in
                parameter.value = w
                return (try network.forward(x), { dy in try network.backward(dy); return parameter.grad })
            }, at: original, epsilon: 1e-2, rtol: 3e-2, atol: 3e-3)
            parameter.value = original
        }
    }

    /// bf16 activations and weights (float32 accumulation, statistics and gradients) against the float32
    /// reference. On these small random networks with random logit gradients, bf16 rounding moves each
    /// gradient by 10–45% of its norm — PyTorch's own bf16 autocast does the same on this setup — so the bound
    /// (60%) is there to catch wrong data flow (a stale or misplaced buffer gives 100% or more), not rounding.
    /// Gradients that are zero in exact arithmetic (a bias followed by training-mode batch norm) are held to a
    /// floor of 0.1% of the whole model's gradient norm.
    @Test("bf16 training: logits and every gradient near the float32 reference", .enabled(if: CPUISA.supportsBF16, "needs oneDNN bf16 kernels (AVX-512)"), arguments: [0, 2, 3, 4])
    func bf16Training(index: Int) throws {
        let (name, c, shape) = Self.configurations[index]
        try Self.expectBF16TrainingNearReference(name, c, shape: shape)
    }

    /// One bf16 training step's logits and gradients against the float32 reference's (see `bf16Training`).
    static func expectBF16TrainingNearReference(_ name: String, _ c: UNetConfiguration, shape: [Int]) throws {
        let (reference, fast) = try Self.models(c)
        var g = SeededGenerator(seed: 11)
        let x = Tensor.normal(shape: shape, using: &g)
        let compiled = try CompiledUNet(fast, inputShape: shape, precision: .bf16, training: true)
        let referenceNetwork = try CompiledUNet(reference, inputShape: shape, training: true, passes: [])
        let logits = try compiled.forward(x)
        let expected = try referenceNetwork.forward(x)
        #expect(try Self.norm(logits - expected) < 0.03 * Self.norm(expected), "\(name) logits")
        let dy = Tensor.normal(shape: logits.shape, using: &g)
        try referenceNetwork.backward(dy)
        try compiled.backward(dy)
        let pairs = zip(reference.namedParameters(), fast.namedParameters()).filter { $0.0.1.requiresGrad }
        let total = pairs.map { Self.norm($0.0.1.grad) }.reduce(0) { ($0 * $0 + $1 * $1).squareRoot() }
        for ((key, r), (_, f)) in pairs {
            let (error, size) = (Self.norm(try f.grad - r.grad), Self.norm(r.grad))
            #expect(error < 0.6 * size + 1e-3 * total, "\(name) grad \(key): error \(error), norm \(size)")
        }
    }
}

/// Where oneDNN has no bf16 kernels (CPUs without AVX-512), a bf16 network is refused with a sentence that says
/// why, not oneDNN's "unimplemented".
@Suite("bf16 on a CPU without bf16 kernels")
struct UnsupportedPrecisionTests {
    @Test("a bf16 network is one clear error", .disabled(if: CPUISA.supportsBF16, "this CPU has bf16 kernels"))
    func refused() throws {
        var g = SeededGenerator(seed: 1)
        let model = try UNet(.milesial(inputChannels: 1, classes: 2, baseWidth: 8, depth: 1), generator: &g)
        #expect {
            try CompiledUNet(model, inputShape: [1, 1, 16, 16], precision: .bf16, training: false)
        } throws: { "\($0)".hasPrefix("bf16: this CPU has no bf16 convolution kernels") }
    }
}

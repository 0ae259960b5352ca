import DNNL
import Execution
import Graph
import Models
import NN
import Tensors
import TestSupport
import Testing
import Training

/// `CompiledUNet.backward(_:applying:)`: the optimizer step fused into backward changes nothing but memory.
@Suite("Optimizer step fused into the compiled backward")
struct FusedOptimizerStepTests {
    static let cases: [(String, UNetConfiguration, [Int], Precision)] = [
        ("milesial fp32", .milesial(inputChannels: 3, classes: 2, baseWidth: 16, depth: 2), [2, 3, 32, 32], .fp32),
        ("milesial bf16", .milesial(inputChannels: 3, classes: 2, baseWidth: 16, depth: 2), [2, 3, 32, 32], .bf16),
        ("narrow NHWC, odd size", .milesial(inputChannels: 1, classes: 3, baseWidth: 8, depth: 2), [2, 1, 21, 19], .fp32),
        ("bilinear", .milesial(inputChannels: 3, classes: 1, bilinear: true, baseWidth: 16, depth: 2), [2, 3, 24, 24], .fp32),
        ("labml (crop, no BN, biases)", .labml(inputChannels: 1, classes: 2, baseWidth: 16, depth: 2), [1, 1, 37, 41], .fp32),
    ]

    static func twin(_ c: UNetConfiguration) throws -> (UNet, UNet) {
        var (g1, g2) = (SeededGenerator(seed: 21), SeededGenerator(seed: 21))
        return (try UNet(c, generator: &g1), try UNet(c, generator: &g2))
    }

    /// Default pieces (whole parameters at these sizes), and pieces of at most 300 floats (many rows apart); bf16
    /// where this CPU has bf16 kernels.
    static let arguments = cases.indices.filter { cases[$0].3 == .fp32 || CPUISA.supportsBF16 }.flatMap { [($0, 1 << 20), ($0, 300)] }

    @Test("every element of every trainable parameter is handed over once, with the gradient backward(_:) stores",
          arguments: arguments)
    func handsOverEveryGradient(index: Int, pieceLimit: Int) throws {
        let (name, c, shape, precision) = Self.cases[index]
        let (stored, handed) = try Self.twin(c)
        var g = SeededGenerator(seed: 22)
        let x = Tensor.normal(shape: shape, using: &g)
        let (a, b) = (try CompiledUNet(stored, inputShape: shape, precision: precision, training: true),
                      try CompiledUNet(handed, inputShape: shape, precision: precision, training: true))
        b.gradientPieceLimit = pieceLimit
        let logits = try a.forward(x)
        #expect(try b.forward(x) == logits, "\(name): identical networks, identical logits")
        let dy = Tensor.normal(shape: logits.shape, using: &g)
        try a.backward(dy)
        var received: [ObjectIdentifier: [Float?]] = [:]
        var pieces = 0
        try b.backward(dy) { parameter, elements, gradient in
            pieces += 1
            var values = received[ObjectIdentifier(parameter)] ?? [Float?](repeating: nil, count: parameter.value.count)
            for (k, i) in elements.enumerated() {
                #expect(values[i] == nil, "\(name): element \(i) handed over twice")
                values[i] = gradient[k]
            }
            received[ObjectIdentifier(parameter)] = values
        }
        let pairs = zip(stored.namedParameters(), handed.namedParameters()).filter { $0.0.1.requiresGrad }
        #expect(received.count == pairs.count, "\(name): every trainable parameter handed over")
        if pieceLimit < 1000 { #expect(pieces > pairs.count, "\(name): large weights come in several pieces") }
        for ((key, s), (_, h)) in pairs {
            #expect(received[ObjectIdentifier(h)] == s.grad.scalars.map { $0 }, "\(name): gradient of \(key)")
        }
    }

    @Test("Adam fused into backward leaves every parameter and buffer bit for bit where backward + update() does",
          arguments: arguments)
    func fusedAdam(index: Int, pieceLimit: Int) throws {
        let (name, c, shape, precision) = Self.cases[index]
        let (plain, fused) = try Self.twin(c)
        let (a, b) = (try CompiledUNet(plain, inputShape: shape, precision: precision, training: true),
                      try CompiledUNet(fused, inputShape: shape, precision: precision, training: true))
        b.gradientPieceLimit = pieceLimit
        let (first, second) = (Adam(parameters: plain.trainableParameters, learningRate: 1e-2, weightDecay: 1e-3),
                               Adam(parameters: fused.trainableParameters, learningRate: 1e-2, weightDecay: 1e-3))
        var g = SeededGenerator(seed: 23)
        for _ in 0..<3 {
            let x = Tensor.normal(shape: shape, using: &g)
            let logits = try a.forward(x)
            #expect(try b.forward(x) == logits, "\(name): the networks stay identical")
            let dy = Tensor.normal(shape: logits.shape, using: &g)
            try a.backward(dy)
            first.update()
            try second.step { try b.backward(dy, applying: $0) }
        }
        for ((key, p), (_, f)) in zip(plain.namedParameters(), fused.namedParameters()) {
            #expect(p.value == f.value, "\(name): \(key)")
        }
        #expect(first.firstMoments == second.firstMoments && first.secondMoments == second.secondMoments)
        #expect(fused.trainableParameters.allSatisfy { $0.grad.scalars.allSatisfy { $0 == 0 } }, "no gradient stored")
    }
}

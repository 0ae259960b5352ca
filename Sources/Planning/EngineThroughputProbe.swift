import Execution
import Foundation
import Graph
import Models
import Tensors
import Training

/// Times training steps of a candidate with the real engine: the network compiled as `unet train` compiles it, one
/// untimed step (primitive creation), then the median of `timedSteps` steps of random data (Dice + cross-entropy, Adam).
public struct EngineThroughputProbe: ThroughputProbe {
    public var timedSteps: Int
    public var precision: Precision

    public init(timedSteps: Int = 2, precision: Precision = .fp32) {
        self.timedSteps = timedSteps
        self.precision = precision
    }

    public func secondsPerStep(_ candidate: TrainingCandidate) throws -> Double {
        var generator = SeededGenerator(seed: 0)
        let model = try Architecture.unet(candidate.configuration).makeModel(generator: &generator)
        model.train()
        let shape = [candidate.batchSize, candidate.inputChannels, candidate.side, candidate.side]
        let x = Tensor(shape: shape) { _ in generator.nextUnitFloat() }
        let targets = (0..<(candidate.batchSize * candidate.side * candidate.side)).map {
            _ in Int32(generator.next() % UInt64(max(candidate.classes, 2)))
        }
        let network = try CompiledUNet(model, inputShape: shape, precision: precision, training: true)
        let optimizer = Adam(parameters: model.trainableParameters, learningRate: 1e-4)
        let step = {
            let logits = try network.forward(x)
            let (_, gradient) = try SegmentationLoss.diceCrossEntropy(logits: logits, targets: targets)
            try optimizer.step { try network.backward(gradient, applying: $0) }
        }
        try step()
        var times: [Double] = []
        for _ in 0..<max(timedSteps, 1) {
            let start = Date()
            try step()
            times.append(Date().timeIntervalSince(start))
        }
        return times.sorted()[times.count / 2]
    }
}

import ArgumentParser
import Foundation
import NN
import Tensors

/// `unet demo`: an end-to-end smoke job of the foundation on generated data — forward, backward and SGD
/// steps of a small encoder-decoder through the oneDNN kernels, then evaluation on held-out images.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Train a small encoder-decoder on generated images and report what it learned.")

    @Option(help: "Training steps.") var steps = 60
    @Option(help: "Images per step.") var batchSize = 8
    @Option(help: "Image side in pixels (even).") var size = 48
    @Option(help: "SGD learning rate.") var learningRate: Float = 0.1
    @Option(help: "Random seed for data and weights.") var seed: UInt64 = 0

    func validate() throws {
        guard steps > 0, batchSize > 1, size >= 8, size % 2 == 0, learningRate > 0 else {
            throw ValidationError("--steps and --learning-rate must be positive, --batch-size > 1, --size even and >= 8")
        }
    }

    func run() throws {
        var generator = SeededGenerator(seed: seed)
        let network = SmokeNetwork(generator: &generator)
        let parameterCount = network.trainableParameters.reduce(0) { $0 + $1.value.count }
        print("unet demo: forward + backward + SGD through the oneDNN kernels, on generated data")
        print("network: conv-BN-ReLU, max-pool, conv-BN-ReLU, up-conv, skip concat, conv-BN-ReLU, 1x1 conv "
              + "(\(parameterCount) parameters)")
        print("task: find the bright disc in \(size)x\(size) noisy grayscale images; batch \(batchSize), \(steps) steps")

        let (heldOutImages, heldOutMasks) = DiscDataset.batch(count: 16, size: size, generator: &generator)
        let before = try evaluate(network, heldOutImages, heldOutMasks)
        let clock = ContinuousClock()
        var stepTime = Duration.zero
        for step in 1...steps {
            let (images, masks) = DiscDataset.batch(count: batchSize, size: size, generator: &generator)
            let start = clock.now
            network.train()
            network.zeroGrad()
            let (logits, pullback) = try network.forward(images)
            let (loss, dLogits) = try binaryCrossEntropyWithLogits(logits, targets: masks)
            _ = try pullback(dLogits)
            for parameter in network.trainableParameters {
                try parameter.value.add(parameter.grad, scaledBy: -learningRate)
            }
            stepTime += clock.now - start
            if step == 1 || step % max(steps / 10, 1) == 0 || step == steps {
                print(String(format: "step %4d/%d  loss %.4f", step, steps, loss))
            }
        }
        let after = try evaluate(network, heldOutImages, heldOutMasks)
        print(String(format: "held-out: pixel accuracy %.3f -> %.3f, disc IoU %.3f -> %.3f",
                     before.accuracy, after.accuracy, before.iou, after.iou))
        let milliseconds = Double(stepTime.components.seconds) * 1e3 + Double(stepTime.components.attoseconds) * 1e-15
        print(String(format: "time: %.1f ms per training step (forward + backward + update)", milliseconds / Double(steps)))
    }

    /// Pixel accuracy and foreground IoU of thresholded predictions in eval mode.
    private func evaluate(_ network: SmokeNetwork, _ images: Tensor, _ masks: Tensor) throws -> (accuracy: Float, iou: Float) {
        network.eval()
        let logits = try network.forward(images).0
        var (correct, intersection, union) = (0, 0, 0)
        for i in 0..<logits.count {
            let (predicted, actual) = (logits[flat: i] > 0, masks[flat: i] > 0.5)
            correct += predicted == actual ? 1 : 0
            intersection += predicted && actual ? 1 : 0
            union += predicted || actual ? 1 : 0
        }
        return (Float(correct) / Float(logits.count), union == 0 ? 1 : Float(intersection) / Float(union))
    }
}

/// Mean binary cross-entropy of `logits` against 0/1 `targets` (PyTorch `binary_cross_entropy_with_logits`,
/// computed stably as `max(z, 0) − z·t + log(1 + e^−|z|)`), and its gradient `(σ(z) − t) / count`.
func binaryCrossEntropyWithLogits(_ logits: Tensor, targets: Tensor) throws -> (Float, Tensor) {
    guard logits.shape == targets.shape else {
        throw TensorError.shapeMismatch("binary_cross_entropy_with_logits", logits.shape, targets.shape)
    }
    var total: Double = 0
    let n = Float(logits.count)
    var gradient = Tensor.empty(shape: logits.shape)
    gradient.withUnsafeMutableBufferPointer { g in
        for i in 0..<logits.count {
            let (z, t) = (logits[flat: i], targets[flat: i])
            total += Double(max(z, 0) - z * t + log1p(exp(-abs(z))))
            g[i] = (1 / (1 + exp(-z)) - t) / n
        }
    }
    return (Float(total / Double(n)), gradient)
}

/// Generated segmentation data: grayscale noise with one brighter disc per image; the mask marks the disc.
enum DiscDataset {
    /// `count` images `(count, 1, size, size)` and masks of the same shape (1 inside the disc, else 0).
    static func batch(count: Int, size: Int, generator: inout SeededGenerator) -> (Tensor, Tensor) {
        var images = Tensor.normal(shape: [count, 1, size, size], mean: 0, standardDeviation: 0.6, using: &generator)
        var masks = Tensor(shape: [count, 1, size, size])
        for n in 0..<count {
            let radius = Float(size) * (0.12 + 0.15 * generator.nextUnitFloat())
            let cx = radius + (Float(size) - 2 * radius) * generator.nextUnitFloat()
            let cy = radius + (Float(size) - 2 * radius) * generator.nextUnitFloat()
            for y in 0..<size {
                for x in 0..<size where (Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy) <= radius * radius {
                    images[n, 0, y, x] += 1
                    masks[n, 0, y, x] = 1
                }
            }
        }
        return (images, masks)
    }
}

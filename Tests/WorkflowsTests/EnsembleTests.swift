import Checkpoints
import Datasets
import Foundation
import ImageIO
import Inference
import Models
import Tensors
import TestSupport
import Testing
import Workflows

/// nnU-Net folders with several folds predict with the average of the folds' logits, as nnU-Net does.
@Suite("nnU-Net fold ensembles")
struct EnsembleTests {
    @Test("a folder with fold_0 and fold_1 loads both; the segmenter's logits are their average")
    func twoFolds() throws {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("nnunet-folds-\(getpid())")
        try? FileManager.default.removeItem(at: copy)
        try FileManager.default.copyItem(atPath: Fixture.path("models/nnunet_folder"), toPath: copy.path)
        defer { try? FileManager.default.removeItem(at: copy) }
        let first = try ModelFile.load(path: copy.path)
        #expect(first.ensemble.isEmpty)
        // fold_1: fold_0's network with every head's bias moved by 2.
        var shifted = first.tensors.map { ($0.key, $0.tensor.floatTensor()) }
        for i in shifted.indices where shifted[i].0.hasPrefix("decoder.seg_layers.") && shifted[i].0.hasSuffix(".bias") {
            shifted[i].1 = shifted[i].1.map { $0 + 2 }
        }
        try FileManager.default.createDirectory(at: copy.appendingPathComponent("fold_1"), withIntermediateDirectories: true)
        try ModelFile.write(shifted.map { ($0.0, StoredTensor($0.1)) }, architecture: first.model.architecture, metadata: first.metadata,
                            to: copy.appendingPathComponent("fold_1/checkpoint_final.pth").path)
        let both = try ModelFile.load(path: copy.path)
        #expect(both.ensemble.count == 1 && both.report.contains { $0.contains("2 folds' logits averaged") }, "\(both.report)")

        let samples: [UInt16] = (0..<(29 * 21 * 3)).map { UInt16(($0 * 37) % 256) }
        let image = try Image(width: 29, height: 21, channels: 3, samples: samples)
        var options = PredictionOptions()
        options.tile = both.metadata.tile
        let ensemble = try ImageSegmenter(model: both.model, ensemble: both.ensemble, options: options, preprocessing: .init())
        let result = try ensemble.segment(image, path: "image", probabilities: true)
        var logits: [Tensor] = []
        for model in [both.model] + both.ensemble {
            let input = try SampleImage(image, channels: 3, path: "image")
            logits.append(try Predictor(model: model, options: options).logits(input))
        }
        let average = Float(0.5) * (try logits[0] + logits[1])
        expectClose(try #require(result.probabilities), try Probabilities.of(average).reshaped([3, 21, 29]), rtol: 1e-4, atol: 1e-5)
        #expect(logits[0] != logits[1])
    }
}

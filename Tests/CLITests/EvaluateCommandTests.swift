import Foundation
import ImageIO
import Tensors
import TestSupport
import Testing

@Suite("unet evaluate")
struct EvaluateCommandTests {
    /// Writes the planes of a `(N, H, W)` fixture tensor as 8-bit gray PNGs `<folder>/<i>.png`.
    func writeMaps(_ t: Tensor, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (n, h, w) = (t.shape[0], t.shape[1], t.shape[2])
        let s = t.scalars
        for i in 0..<n {
            let samples = s[(i * h * w)..<((i + 1) * h * w)].map { UInt16($0) }
            try ImageWriter.writePNG(try Image(width: w, height: h, channels: 1, samples: Array(samples)),
                                     to: folder.appendingPathComponent("\(i).png").path)
        }
    }

    @Test("--predictions: the JSON equals the numpy reference (ignore value, region masks, an empty class)")
    func predictionsAgainstReference() throws {
        let f = try Fixture("metrics/random_maps")
        let folder = try SyntheticData.temporaryFolder("unet-evaluate")
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeMaps(f.tensor("prediction"), to: folder.appendingPathComponent("predictions"))
        try writeMaps(f.tensor("truth"), to: folder.appendingPathComponent("truth"))
        try writeMaps(f.tensor("region"), to: folder.appendingPathComponent("regions"))
        let (status, output, error) = try CommandRunner.unet([
            "evaluate", "--predictions", folder.appendingPathComponent("predictions").path,
            "--masks", folder.appendingPathComponent("truth").path, "--regions", folder.appendingPathComponent("regions").path,
            "--classes", "4", "--ignore-index", "255", "--json"])
        #expect(status == 0, "\(error)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        func close(_ key: String, _ fixtureKey: String) throws {
            let expected = try f.tensor(fixtureKey).scalars
            let found: [Double?] = (json[key] as? [Any]).map { $0.map { $0 as? Double } } ?? [json[key] as? Double]
            #expect(found.count == expected.count, "\(key)")
            for (value, reference) in zip(found, expected) {
                if reference.isNaN { #expect(value == nil, "\(key): \(found)") } else {
                    #expect(value.map { abs($0 - Double(reference)) < 1e-5 } ?? false, "\(key): \(found) vs \(expected)")
                }
            }
        }
        try close("pixel_accuracy", "pixel_accuracy")
        try close("mean_accuracy", "mean_accuracy")
        try close("mean_iou", "mean_iou")
        try close("per_class_iou", "per_class_iou")
        try close("mean_dice", "mean_dice")
        try close("per_class_dice", "per_class_dice")
        try close("mean_dice_no_background", "mean_dice_no_background")
        let confusion = (json["confusion_matrix"] as? [[Int]])?.joined().map { Float($0) }
        #expect(confusion == (try f.tensor("confusion").scalars))

        let one = try CommandRunner.unet([
            "evaluate", "--predictions", folder.appendingPathComponent("predictions").path,
            "--masks", folder.appendingPathComponent("truth").path, "--regions", folder.appendingPathComponent("regions").path,
            "--classes", "4", "--ignore-index", "255", "--empty-class", "one"])
        #expect(one.status == 0, "\(one.error)")
        let expectedOne = try f.tensor("mean_iou_empty_one").scalars[0]
        #expect(one.output.contains(String(format: "mean IoU %.4f", expectedOne)), "\(one.output)")
        #expect(one.output.contains("confusion matrix"))
    }

    @Test("a prediction of another size and a value outside the classes are named; the exit is non-zero")
    func badPredictions() throws {
        let folder = try SyntheticData.temporaryFolder("unet-evaluate-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let truth = folder.appendingPathComponent("truth")
        let predictions = folder.appendingPathComponent("predictions")
        for f in [truth, predictions] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        let zeros = try Image(width: 8, height: 8, channels: 1, samples: [UInt16](repeating: 0, count: 64))
        try ImageWriter.writePNG(zeros, to: truth.appendingPathComponent("a.png").path)
        try ImageWriter.writePNG(zeros, to: truth.appendingPathComponent("b.png").path)
        try ImageWriter.writePNG(try Image(width: 4, height: 8, channels: 1, samples: [UInt16](repeating: 0, count: 32)),
                                 to: predictions.appendingPathComponent("a.png").path)
        try ImageWriter.writePNG(try Image(width: 8, height: 8, channels: 1, samples: [UInt16](repeating: 7, count: 64)),
                                 to: predictions.appendingPathComponent("b.png").path)
        let (status, _, error) = try CommandRunner.unet(["evaluate", "--predictions", predictions.path, "--masks", truth.path,
                                                         "--classes", "2"])
        #expect(status != 0)
        #expect(error.contains("a.png") && error.contains("b.png"), "\(error)")
        let none = try CommandRunner.unet(["evaluate", "--masks", truth.path, "--classes", "2"])
        #expect(none.status != 0 && none.error.contains("--predictions"))
    }
}

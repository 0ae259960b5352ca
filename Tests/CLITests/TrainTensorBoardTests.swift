import Foundation
import TensorBoardProto
import TestSupport
import Testing

@Suite("unet train --tensorboard")
struct TrainTensorBoardTests {
    /// The JSON objects of a metrics log.
    func records(_ log: String) throws -> [[String: Any]] {
        try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func eventFiles(_ folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix("events.out.tfevents.") }.sorted()
            .map { folder + "/" + $0 }
    }

    @Test("logs every metrics.jsonl scalar, the validation overlays and the configuration; a resumed run adds a file from its next step")
    func logsAndResumes() throws {
        let folder = try SyntheticData.temporaryFolder("unet-train-tensorboard")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 8, size: 32)
        let output = folder.appendingPathComponent("run").path
        let common = ["train", "--images", images, "--masks", masks, "--in-channels", "1", "--base", "4", "--depth", "2", "--scale", "1",
                      "-b", "2", "-v", "25", "--validate-every", "5", "--output-dir", output]
        // --tensorboard without a value, before another option (the README's example gives it last).
        let first = try CommandRunner.unet(common + ["--tensorboard", "--steps", "10"])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.error.contains("TensorBoard: \(output)/events.out.tfevents."), "\(first.error)")
        let files = try eventFiles(output)
        #expect(files.count == 1)
        let events = try EventFile.read(files[0])
        #expect(events.first?.fileVersion == "brain.Event:2")
        let scalars = EventFile.scalars(events)
        func logged(_ tag: String) -> [Int: Float] { Dictionary(scalars.filter { $0.tag == tag }.map { ($0.step, $0.value) }) { a, _ in a } }
        let log = try records(output + "/metrics.jsonl")
        let steps = log.filter { $0["kind"] as? String == "step" }
        let validations = log.filter { $0["kind"] as? String == "validation" }
        #expect(steps.count == 10 && validations.count == 2)
        for record in steps {
            let step = try #require(record["step"] as? Int)
            #expect(logged("train/loss")[step] == Float(try #require(record["loss"] as? Double)), "step \(step)")
            #expect(logged("train/learning_rate")[step] == Float(try #require(record["learningRate"] as? Double)), "step \(step)")
        }
        for record in validations {
            let step = try #require(record["step"] as? Int)
            for (tag, key) in [("validation/dice", "dice"), ("validation/miou", "meanIoU"), ("validation/pixel_accuracy", "pixelAccuracy"),
                               ("validation/loss", "loss")] {
                #expect(logged(tag)[step] == Float(try #require(record[key] as? Double)), "\(tag) at \(step)")
            }
            let perClass = try #require(record["perClassDice"] as? [Double])
            for (i, dice) in perClass.enumerated() { #expect(logged("validation/dice/class_\(i)")[step] == Float(dice)) }
            // The two validation images, each an overlay PNG of the image's size.
            let overlays = events.filter { Int($0.step) == step }.flatMap(\.summary.value).filter { $0.tag.hasPrefix("validation/overlay/") }
            #expect(overlays.count == 2 && overlays.allSatisfy { $0.image.width == 32 && $0.image.height == 32 }, "step \(step)")
        }
        let configuration = events.flatMap(\.summary.value).first { $0.tag == "configuration" }
        #expect(String(decoding: try #require(configuration).tensor.stringVal.first ?? Data(), as: UTF8.self).contains("--tensorboard"))

        // Resume to 15 steps into a folder of its own choosing: a second file, starting at step 11.
        let second = try CommandRunner.unet(common + ["--steps", "15", "--resume", output + "/last.safetensors",
                                                      "--tensorboard", folder.appendingPathComponent("tb").path])
        #expect(second.status == 0, "\(second.error)")
        let resumed = try EventFile.read(try #require(try eventFiles(folder.appendingPathComponent("tb").path).first))
        #expect(resumed[1].sessionLog.status == .start && resumed[1].step == 11)
        #expect(Set(EventFile.scalars(resumed).filter { $0.tag == "train/loss" }.map(\.step)) == Set(11...15))
        // --overwrite clears the run's events files with the rest of it.
        let replaced = try CommandRunner.unet(common + ["--steps", "2", "--overwrite"])
        #expect(replaced.status == 0, "\(replaced.error)")
        #expect(try eventFiles(output).isEmpty)
    }
}

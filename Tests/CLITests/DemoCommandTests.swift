import Foundation
import TestSupport
import Testing

@Suite("unet demo")
struct DemoCommandTests {
    @Test("a reduced demo trains, scores held-out images at mIoU >= 0.85 and writes every output")
    func reduced() throws {
        let folder = try SyntheticData.temporaryFolder("unet-demo")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("demo").path
        let (status, stdout, error) = try CommandRunner.unet([
            "demo", "--steps", "400", "--train-images", "128", "--test-images", "16", "--size", "64", "--output-dir", output])
        #expect(status == 0, "\(error)")
        #expect(stdout.contains("mean IoU") && stdout.contains("confusion matrix"))
        let data = try Data(contentsOf: URL(fileURLWithPath: output + "/metrics.json"))
        let metrics = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let miou = try #require(metrics["mean_iou"] as? Double)
        #expect(miou >= 0.85, "held-out mIoU \(miou)")
        #expect(metrics["classes"] as? [String] == ["background", "disc", "square", "triangle"])
        for name in ["best.safetensors", "last.safetensors", "training_curves.png", "predictions/0000_overlay.png",
                     "predictions/0000.png", "data/train/images/0000.png", "data/test/masks/0015.png"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + name), "\(name) missing")
        }
    }

    @Test("bad options give a one-line error naming the flag and a non-zero exit")
    func badOptions() throws {
        let (status, _, error) = try CommandRunner.unet(["demo", "--size", "40"])
        #expect(status != 0)
        #expect(error.contains("--size"))
        let unknown = try CommandRunner.unet(["demo", "--steps", "many"])
        #expect(unknown.status != 0 && unknown.error.contains("--steps"))
    }

    @Test("--help lists the subcommands")
    func help() throws {
        let (status, output, _) = try CommandRunner.unet(["--help"])
        #expect(status == 0)
        for command in ["train", "predict", "evaluate", "dataset", "demo", "convert", "info", "bench"] {
            #expect(output.contains(command), "\(command)")
        }
    }
}

import Checkpoints
import Foundation
import ImageIO
import TestSupport
import Testing

@Suite("unet quantize")
struct QuantizeCommandTests {
    @Test("quantizes a trained model; predict runs it in int8 with nearly the float32 masks, and --no-int8 in float32")
    func quantizesAndPredicts() throws {
        let folder = try SyntheticData.temporaryFolder("unet-quantize")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 6, size: 48)
        let model = try CommandRunner.trainSmallModel(images: images, masks: masks, output: folder.appendingPathComponent("run").path, base: 8)
        let int8 = folder.appendingPathComponent("int8.safetensors").path
        let quantized = try CommandRunner.unet(["quantize", model, "--calibration", images, "-o", int8, "--calibration-images", "4"])
        #expect(quantized.status == 0, "\(quantized.error)")
        #expect(quantized.output.contains("int8 convolutions on 4 images (percentile 99.99)"), "\(quantized.output)")
        #expect(quantized.output.contains("wrote \(int8)"))
        let info = try CommandRunner.unet(["info", int8])
        #expect(info.output.contains("int8:") && info.output.contains("percentile 99.99"), "\(info.output)")

        var masksOf: [String: [UInt16]] = [:]
        for (name, arguments) in [("fp32", ["-m", model]), ("int8", ["-m", int8]), ("fp32 again", ["-m", int8, "--no-int8"])] {
            let out = folder.appendingPathComponent("out-\(masksOf.count)").path
            let result = try CommandRunner.unet(["predict", "-i", images, "-o", out, "--mask-format", "indices"] + arguments)
            #expect(result.status == 0, "\(name): \(result.error)")
            masksOf[name] = try (0..<6).flatMap { try ImageReader.read(path: out + "/\($0).png").samples }
        }
        #expect(masksOf["fp32 again"] == masksOf["fp32"])
        let (a, b) = (masksOf["fp32"]!, masksOf["int8"]!)
        let agreeing = zip(a, b).filter { $0 == $1 }.count
        #expect(Double(agreeing) / Double(a.count) > 0.98, "\(agreeing) of \(a.count) pixels agree")

        // A table edited by hand: a range that is not a positive number or is below calibration's least, or a
        // convolution the network lacks.
        var file = try SafeTensorsFile.read(path: int8)
        let metadata = file.metadata["unet.metadata"]!
        guard let limit = metadata.range(of: #""limit":[0-9.e+-]+"#, options: .regularExpression),
              let name = metadata.range(of: #""inputs":\{""#, options: .regularExpression) else {
            Issue.record("no int8 table in \(metadata)")
            return
        }
        for (edited, message) in [(metadata.replacingCharacters(in: limit, with: #""limit":-1"#), "not within 1e-6...1e30"),
                                  (metadata.replacingCharacters(in: limit, with: #""limit":1e-30"#), "not within 1e-6...1e30"),
                                  (metadata.replacingCharacters(in: name, with: #""inputs":{"elsewhere"#), "which this network lacks")] {
            file.metadata["unet.metadata"] = edited
            let tampered = folder.appendingPathComponent("tampered.safetensors").path
            try file.write(to: tampered)
            let result = try CommandRunner.unet(["predict", "-m", tampered, "-i", images, "-o", folder.appendingPathComponent("t").path])
            #expect(result.status != 0 && result.error.contains(message), "\(result.error)")
            #expect(!result.error.contains("Fatal error") && !result.error.contains("backtrace"), "\(result.error)")
        }
    }

    @Test("bad flags and outputs are refused with one line naming them, and nothing is written")
    func refusals() throws {
        let folder = try SyntheticData.temporaryFolder("unet-quantize-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let model = Fixture.path("models/milesial_b2_c2.safetensors")
        let (images, _) = try SyntheticData.writeDiscs(to: folder, count: 1, size: 32)
        let output = folder.appendingPathComponent("q.safetensors").path
        let cases: [([String], String)] = [
            ([model, "--calibration", images, "-o", folder.appendingPathComponent("q.pth").path], "--output must end in .safetensors"),
            ([model, "-o", output], "--calibration"),
            ([model, "--calibration", folder.appendingPathComponent("nowhere").path, "-o", output], "nowhere: no such file or folder"),
            ([model, "--calibration", images, "-o", output, "--percentile", "20"], "--percentile"),
            ([model, "--calibration", images, "-o", output, "--calibration-images", "0"], "--calibration-images"),
            ([model, "--calibration", images, "-o", output, "--rule", "mse"], "--rule"),
            ([model, "--calibration", images, "-o", model], "is the model file"),
        ]
        for (arguments, message) in cases {
            let result = try CommandRunner.unet(["quantize"] + arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
            #expect(!result.error.contains("Fatal error") && !result.error.contains("backtrace"), "\(result.error)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

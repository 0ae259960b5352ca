import Foundation
import TestSupport
import Testing

@Suite("unet export")
struct ExportCommandTests {
    static let model = Fixture.path("models/milesial_b2_c2.pth")

    @Test("writes an ONNX file (and its external data with --external-data) and says what it wrote")
    func writes() throws {
        let folder = try SyntheticData.temporaryFolder("unet-export")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("model.onnx").path
        let fixed = try CommandRunner.unet(["export", Self.model, "-o", output, "--size", "48x32", "--batch-size", "2"])
        #expect(fixed.status == 0, "\(fixed.error)")
        #expect(fixed.output.contains("wrote \(output) (opset 17, input 2x3x32x48)"), "\(fixed.output)")
        let inline = try Data(contentsOf: URL(fileURLWithPath: output))
        #expect(inline.count > 30_754 * 4)

        let split = folder.appendingPathComponent("split.onnx").path
        let external = try CommandRunner.unet(["export", Self.model, "-o", split, "--dynamic", "--fold-bn", "--opset", "21", "--external-data"])
        #expect(external.status == 0, "\(external.error)")
        #expect(external.output.contains("input batch x 3 x height x width, weights in \(split).data"), "\(external.output)")
        let model = try Data(contentsOf: URL(fileURLWithPath: split))
        let data = try Data(contentsOf: URL(fileURLWithPath: split + ".data"))
        #expect(model.count < inline.count / 4 && data.count > 30_000 * 4)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        #expect(!names.contains { $0.hasSuffix(".tmp") }, "\(names)")
    }

    @Test("bad flags and outputs are refused with one line naming them, and nothing is written")
    func refusals() throws {
        let folder = try SyntheticData.temporaryFolder("unet-export-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("model.onnx").path
        let cases: [([String], String)] = [
            (["-o", folder.appendingPathComponent("model.txt").path], "--output must end in .onnx"),
            (["-o", output, "--opset", "14"], "--opset"),
            (["-o", output, "--size", "64x"], "--size: '64x' is not N or WxH"),
            (["-o", output, "--dynamic", "--size", "64"], "--dynamic"),
            (["-o", output, "--size", "8"], "--size:"),
            (["-o", output, "--batch-size", "0"], "--batch-size"),
        ]
        for (arguments, message) in cases {
            let result = try CommandRunner.unet(["export", Self.model] + arguments)
            #expect(result.status != 0 && result.error.contains(message), "\(arguments): \(result.error)")
            #expect(!result.error.contains("Fatal error") && !result.error.contains("backtrace"), "\(result.error)")
        }
        // The input itself, and a folder that cannot hold the file: refused, no partial file anywhere.
        let copy = folder.appendingPathComponent("weights.onnx").path
        try FileManager.default.copyItem(atPath: Self.model, toPath: copy)
        let same = try CommandRunner.unet(["export", copy, "-o", copy])
        #expect(same.status != 0 && same.error.contains("is the input file"), "\(same.error)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == Data(contentsOf: URL(fileURLWithPath: Self.model)))
        let blocker = folder.appendingPathComponent("file").path
        FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        let unwritable = try CommandRunner.unet(["export", Self.model, "-o", blocker + "/model.onnx", "--external-data"])
        #expect(unwritable.status != 0 && unwritable.error.contains(blocker + "/model.onnx"), "\(unwritable.error)")
        #expect(unwritable.error.split(separator: "\n").count == 1, "\(unwritable.error)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names == ["file", "weights.onnx"], "\(names)")
    }
}

import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing

@Suite("unet convert and unet info")
struct ConvertCommandTests {
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("pth -> safetensors -> pth reports the layout and keeps every tensor bit-identical")
    func roundTrip() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = Fixture.path("models/milesial_bilinear_b2_c1.pth")
        let native = folder.appendingPathComponent("m.safetensors").path
        let back = folder.appendingPathComponent("m.pth").path
        let first = try CommandRunner.unet(["convert", source, "-o", native])
        #expect(first.status == 0, "\(first.error)")
        #expect(first.output.contains("layout: milesial") && first.output.contains("up-sampling: bilinear"))
        #expect(first.output.contains("parameters: "))
        let second = try CommandRunner.unet(["convert", native, "-o", back])
        #expect(second.status == 0, "\(second.error)")
        let (a, b) = (try Checkpoint.read(path: source), try Checkpoint.read(path: back))
        #expect(a.tensors.map(\.key) == b.tensors.map(\.key) && a.tensors.map(\.tensor) == b.tensors.map(\.tensor))
    }

    @Test("info --json describes the model as one JSON object")
    func infoJSON() throws {
        let result = try CommandRunner.unet(["info", Fixture.path("models/milesial_training_checkpoint.pth"), "--json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let configuration = try #require(object["configuration"] as? [String: Any])
        #expect(configuration["layout"] as? String == "milesial" && configuration["classes"] as? Int == 2)
        #expect((object["metadata"] as? [String: Any])?["maskValues"] as? [[Int]] == [[0], [255]])
        #expect(object["parameters"] as? Int == 30754)
    }

    @Test("the model is the argument or -m/--model, as predict takes it; one of them, once")
    func modelFlag() throws {
        let source = Fixture.path("models/milesial_bilinear_b2_c1.pth")
        let byArgument = try CommandRunner.unet(["info", source, "--json"])
        for arguments in [["info", "-m", source, "--json"], ["info", "--model", source, "--json"], ["info", source, "-m", source, "--json"]] {
            let result = try CommandRunner.unet(arguments)
            #expect(result.status == 0 && result.output == byArgument.output, "\(arguments): \(result.error)")
        }
        let missing = try CommandRunner.unet(["info"])
        #expect(missing.status != 0 && missing.error.contains("Missing the model"))
        let two = try CommandRunner.unet(["export", source, "-m", "other.pth", "-o", "x.onnx"])
        #expect(two.status != 0 && two.error.contains("Two models: '\(source)' and -m 'other.pth'"))
    }

    @Test("a foreign U-Net converts with architecture flags and --match-by-shape, or --map")
    func foreign() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = Fixture.path("models/custom_depth3.pth")
        let byShape = try CommandRunner.unet([
            "convert", source, "-o", folder.appendingPathComponent("a.safetensors").path, "--match-by-shape",
            "--in-channels", "3", "--classes", "2", "--base", "2", "--depth", "3",
        ])
        #expect(byShape.status == 0, "\(byShape.error)")
        #expect(byShape.output.contains("keys matched or renamed"))
        let mapped = try CommandRunner.unet([
            "convert", source, "-o", folder.appendingPathComponent("b.pth").path, "--map",
            Fixture.path("models/custom_depth3.map"),
        ])
        #expect(mapped.status == 0, "\(mapped.error)")
        let a = try Checkpoint.read(path: folder.appendingPathComponent("a.safetensors").path)
        let b = try Checkpoint.read(path: folder.appendingPathComponent("b.pth").path)
        #expect(a.tensors.map(\.key) == b.tensors.map(\.key) && a.tensors.map(\.tensor) == b.tensors.map(\.tensor))
    }

    @Test("bad input: one line naming the file, a non-zero exit, and nothing written")
    func badInput() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let truncated = folder.appendingPathComponent("truncated.pth").path
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("models/labml_b2.pth")))
        FileManager.default.createFile(atPath: truncated, contents: bytes.prefix(bytes.count / 3))
        // Neither a known layout nor the shapes of a classic U-Net (a classifier).
        let classifier = folder.appendingPathComponent("classifier.pth").path
        try TorchCheckpoint.write([("features.0.weight", StoredTensor(Tensor(shape: [8, 3, 3, 3]))),
                                   ("fc.weight", StoredTensor(Tensor(shape: [10, 8])))], to: classifier)
        let output = folder.appendingPathComponent("out.safetensors").path
        let cases: [([String], String)] = [
            (["convert", Fixture.path("models/evil.pth"), "-o", output], "posix.system"),
            (["convert", truncated, "-o", output], "truncated.pth"),
            (["convert", Fixture.path("models/complex.pth"), "-o", output], "'weight'"),
            (["convert", "/nonexistent/model.pth", "-o", output], "/nonexistent/model.pth"),
            (["convert", classifier, "-o", output], "--match-by-shape"),
            (["convert", Fixture.path("models/labml_b2.pth"), "-o", folder.appendingPathComponent("x.onnx").path], "--output"),
            (["info", Fixture.path("models/labml_b2.pth"), "--match-by-shape"], "--match-by-shape"),
            (["info", Fixture.path("models/custom_depth3.pth"), "--match-by-shape", "--depth", "4", "--base", "2"],
             "cannot match tensors by shape"),
        ]
        for (arguments, fragment) in cases {
            let result = try CommandRunner.unet(arguments)
            #expect(result.status != 0, "\(arguments)")
            let lines = result.error.split(separator: "\n").filter { !$0.hasPrefix("Usage") && !$0.hasPrefix("  See") && !$0.isEmpty }
            #expect(lines.count == 1 && result.error.contains(fragment), "\(arguments): \(result.error)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["classifier.pth", "truncated.pth"])
    }
}

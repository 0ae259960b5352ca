import Checkpoints
import Foundation
import Models
import Tensors
import TestSupport
import Testing

@Suite("Model files: native safetensors, .pth export, bad checkpoints")
struct ModelFileTests {
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("a saved native model describes itself: architecture, mask values, normalisation, weights")
    func nativeRoundTrip() throws {
        var g = SeededGenerator(seed: 3)
        let model = try UNet(.tutorial(inputChannels: 1, classes: 3, baseWidth: 4, depth: 2, padding: .valid, merge: .crop),
                             generator: &g)
        let metadata = ModelMetadata(maskValues: [[0, 0, 0], [255, 0, 0], [0, 255, 0]], classNames: ["bg", "a", "b"],
                                     normalization: .init(mean: [0.5], std: [0.25]))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path
        try ModelFile.save(model, metadata: metadata, to: path)
        let loaded = try ModelFile.load(path: path)
        #expect(try #require(loaded.model.architecture.unetConfiguration) == model.configuration)
        #expect(loaded.metadata == metadata)
        #expect(loaded.model.stateDict() == model.stateDict())
        #expect(loaded.tensors.first { $0.key.hasSuffix("num_batches_tracked") }?.tensor.elementType == .int64)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    }

    @Test(".pth -> safetensors -> .pth through the model layer keeps every tensor bit-identical")
    func exportRoundTrip() throws {
        let source = try Checkpoint.read(path: Fixture.path("models/labml_b2.pth"))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let native = folder.appendingPathComponent("m.safetensors").path
        let exported = folder.appendingPathComponent("m.pth").path
        let loaded = try ModelFile.load(path: Fixture.path("models/labml_b2.pth"))
        try ModelFile.write(loaded.tensors, architecture: loaded.model.architecture, metadata: loaded.metadata, to: native)
        let again = try ModelFile.load(path: native)
        try ModelFile.write(again.tensors, architecture: again.model.architecture, metadata: again.metadata, to: exported)
        let back = try Checkpoint.read(path: exported)
        #expect(back.tensors.map(\.key) == source.tensors.map(\.key))
        #expect(back.tensors.map(\.tensor) == source.tensors.map(\.tensor))
    }

    /// Writes the milesial fixture with `edit` applied, then loads it.
    func loadEdited(_ edit: (inout [(key: String, tensor: StoredTensor)]) -> Void) throws -> String {
        var tensors = try Checkpoint.read(path: Fixture.path("models/milesial_b2_c2.pth")).tensors
        edit(&tensors)
        let folder = try temporaryFolder()
        let path = folder.appendingPathComponent("edited.pth").path
        try TorchCheckpoint.write(tensors, to: path)
        defer { try? FileManager.default.removeItem(at: folder) }
        let error = #expect(throws: UNetError.self) { try ModelFile.load(path: path) }
        return try #require(error).description
    }

    @Test("missing, unexpected and mis-shaped keys name the file and the key, expected vs found")
    func badKeys() throws {
        let missing = try loadEdited { $0.removeAll { $0.key == "up2.conv.double_conv.3.weight" } }
        #expect(missing.contains("edited.pth") && missing.contains("missing keys: up2.conv.double_conv.3.weight"))
        let unexpected = try loadEdited { $0.append(("up9.extra.weight", StoredTensor(Tensor(shape: [2])))) }
        #expect(unexpected.contains("unexpected keys: up9.extra.weight"))
        let shape = try loadEdited { tensors in
            let i = tensors.firstIndex { $0.key == "outc.conv.bias" }!
            tensors[i].tensor = StoredTensor(Tensor(shape: [3]))
        }
        #expect(shape.contains("size mismatches: outc.conv.bias (expected [2], found [3])"))
        for text in [missing, unexpected, shape] { #expect(!text.contains("\n")) }
    }

    @Test("a failed write leaves nothing behind")
    func failedWrite() throws {
        let loaded = try ModelFile.load(path: Fixture.path("models/labml_b2.pth"))
        for path in ["/nonexistent/dir/m.safetensors", "/nonexistent/dir/m.pth"] {
            #expect(throws: CheckpointError.self) {
                try ModelFile.write(loaded.tensors, architecture: loaded.model.architecture, metadata: loaded.metadata,
                                    to: path)
            }
        }
    }
}

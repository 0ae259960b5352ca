import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing

@Suite("PyTorch .pth reading")
struct TorchCheckpointTests {
    let reference: SafeTensorsFile

    init() throws {
        reference = try SafeTensorsFile.read(path: Fixture.path("models/milesial_b2_c2_weights.safetensors"))
    }

    func read(_ name: String) throws -> Checkpoint {
        try Checkpoint.read(path: Fixture.path("models/" + name))
    }

    @Test("a torch.save state dict reads back bit-identical, in PyTorch's key order, int64 counters included")
    func zipFormat() throws {
        let checkpoint = try read("milesial_b2_c2.pth")
        #expect(checkpoint.format == .torchZip)
        #expect(Set(checkpoint.tensors.map(\.key)) == Set(reference.tensors.map(\.key)))
        for (key, tensor) in checkpoint.tensors { #expect(tensor == reference[key], "\(key)") }
        #expect(checkpoint["inc.double_conv.1.num_batches_tracked"]?.elementType == .int64)
        #expect(checkpoint.tensors.first?.key == "inc.double_conv.0.weight")
        #expect(checkpoint.tensors.last?.key == "outc.conv.bias")
    }

    @Test("the legacy (pre-1.6) format reads the same tensors")
    func legacy() throws {
        let checkpoint = try read("milesial_legacy.pth")
        #expect(checkpoint.format == .torchLegacy)
        #expect(checkpoint.tensors.count == reference.tensors.count)
        for (key, tensor) in checkpoint.tensors { #expect(tensor == reference[key], "\(key)") }
    }

    @Test("wrapped checkpoints: state_dict, model, network_weights (with numpy scalars alongside)",
          arguments: [("wrapped_state_dict.pth", "state_dict"), ("wrapped_model.pth", "model"),
                      ("wrapped_network_weights.pth", "network_weights")])
    func wrapped(name: String, wrapper: String) throws {
        let checkpoint = try read(name)
        #expect(checkpoint.notes.contains("state dict found under '\(wrapper)'"))
        #expect(checkpoint.tensors.count == reference.tensors.count)
        for (key, tensor) in checkpoint.tensors { #expect(tensor == reference[key], "\(key)") }
    }

    @Test("milesial's training checkpoints carry mask_values, kept as metadata")
    func maskValues() throws {
        let checkpoint = try read("milesial_training_checkpoint.pth")
        #expect(checkpoint.metadata["mask_values"] == "[0, 255]")
        #expect(checkpoint.tensors.count == reference.tensors.count)
        #expect(try read("milesial_b2_c2.pth").metadata["mask_values"] == nil)
    }

    @Test("half, bfloat16 and double storages keep their type and convert to float32",
          arguments: [("milesial_half.pth", ElementType.float16, Float(1e-3)),
                      ("milesial_bfloat16.pth", .bfloat16, 8e-3), ("milesial_double.pth", .float64, 0)])
    func dtypes(name: String, type: ElementType, tolerance: Float) throws {
        let checkpoint = try read(name)
        let weight = try #require(checkpoint["inc.double_conv.0.weight"])
        #expect(weight.elementType == type)
        #expect(checkpoint["inc.double_conv.1.num_batches_tracked"]?.elementType == .int64)
        for (key, tensor) in checkpoint.tensors {
            let expected = try #require(reference[key]).floatTensor()
            expectClose(tensor.floatTensor(), expected, rtol: tolerance, atol: tolerance * 1e-2, key)
        }
    }

    @Test("strided views and slices of a shared storage are copied out correctly")
    func views() throws {
        let checkpoint = try read("views.pth")
        #expect(checkpoint["whole"]?.floatTensor().scalars == (0..<24).map(Float.init))
        let transposed = try #require(checkpoint["transposed"]).floatTensor()
        #expect(transposed.shape == [6, 4])
        let expected: [Float] = (0..<24).map { (i: Int) -> Float in Float((i % 4) * 6 + i / 4) }
        #expect(transposed.scalars == expected)
        #expect(checkpoint["slice"]?.floatTensor().scalars == [8, 9, 10, 14, 15, 16])
    }

    @Test("a pickle naming os.system is refused and nothing is executed")
    func malicious() throws {
        let marker = "/tmp/unet-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        let error = #expect(throws: CheckpointError.self) { try read("evil.pth") }
        let text = try #require(error).description
        #expect(text.contains("evil.pth") && text.contains("posix.system") && text.contains("not allowed"))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test("an unsupported dtype names the key and the type")
    func complex() throws {
        let error = #expect(throws: CheckpointError.self) { try read("complex.pth") }
        let text = try #require(error).description
        #expect(text.contains("'weight'") && text.contains("torch.ComplexFloatStorage"))
    }

    @Test("truncated and corrupted archives give one-line errors naming the file")
    func damaged() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.path("models/milesial_b2_c2.pth")))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-pth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var corrupted = bytes
        corrupted[bytes.count / 2] ^= 0xFF  // inside some storage's data
        let cases: [(String, Data, String)] = [
            ("half.pth", bytes.prefix(bytes.count / 2), "truncated"),
            ("tail.pth", bytes.prefix(bytes.count - 30), "truncated"),
            ("flipped.pth", corrupted, "corrupt"),
            ("empty.pth", Data(), "safetensors"),
            ("text.pth", Data("hello, this is not a model".utf8), "safetensors"),
        ]
        for (name, data, fragment) in cases {
            let path = folder.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: data)
            let error = #expect(throws: CheckpointError.self, "\(name)") { try Checkpoint.read(path: path) }
            let text = try #require(error).description
            #expect(text.hasPrefix(path) && text.contains(fragment) && !text.contains("\n"), "\(name): \(text)")
        }
    }
}

@Suite("PyTorch .pth writing")
struct TorchExportTests {
    @Test(".pth -> .pth and .pth -> safetensors -> .pth keep every tensor bit-identical")
    func roundTrips() throws {
        let original = try Checkpoint.read(path: Fixture.path("models/milesial_b2_c2.pth"))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let direct = folder.appendingPathComponent("direct.pth").path
        try TorchCheckpoint.write(original.tensors, to: direct)
        let safetensors = folder.appendingPathComponent("model.safetensors").path
        try SafeTensorsFile(tensors: original.tensors).write(to: safetensors)
        let back = folder.appendingPathComponent("back.pth").path
        try TorchCheckpoint.write(try Checkpoint.read(path: safetensors).tensors, to: back)
        for path in [direct, back] {
            let read = try Checkpoint.read(path: path)
            #expect(read.format == .torchZip)
            #expect(read.tensors.map(\.key) == original.tensors.map(\.key))
            #expect(read.tensors.map(\.tensor) == original.tensors.map(\.tensor))
        }
        // Other element types survive too.
        let half = try Checkpoint.read(path: Fixture.path("models/milesial_bfloat16.pth"))
        let halfPath = folder.appendingPathComponent("bf16.pth").path
        try TorchCheckpoint.write(half.tensors, to: halfPath)
        #expect(try Checkpoint.read(path: halfPath).tensors.map(\.tensor) == half.tensors.map(\.tensor))
    }

    @Test("the archive is laid out as torch.save lays it out: one prefix, 64-byte aligned storages")
    func layout() throws {
        let tensors: [(key: String, tensor: StoredTensor)] = [
            ("a.weight", StoredTensor(Tensor(shape: [3, 5], repeating: 1.5))),
            ("a.num_batches_tracked", StoredTensor(int64: Tensor(shape: [], repeating: 4))),
        ]
        let bytes = try TorchCheckpoint.encode(tensors)
        let text = String(decoding: bytes, as: UTF8.self)
        for name in ["archive/data.pkl", "archive/data/0", "archive/data/1", "archive/version", "archive/byteorder"] {
            #expect(text.contains(name), "\(name)")
        }
        // Storage 0 (15 floats of 1.5) begins on a 64-byte boundary.
        let pattern: [UInt8] = [0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0xC0, 0x3F]
        let start = try #require((0..<(bytes.count - 8)).first { Array(bytes[$0..<($0 + 8)]) == pattern })
        #expect(start % 64 == 0)
    }
}

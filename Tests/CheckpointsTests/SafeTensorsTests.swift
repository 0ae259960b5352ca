import Checkpoints
import Foundation
import Tensors
import TestSupport
import Testing

@Suite("safetensors reading and writing")
struct SafeTensorsTests {
    func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("unet-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("reads every dtype PyTorch wrote and converts to float32")
    func dtypes() throws {
        let f = try Fixture("formats/dtypes")
        let expected = try f.tensor("expected")
        for key in ["f32", "f16", "bf16", "f64"] { #expect(try f.tensor(key) == expected, "\(key)") }
        for key in ["i64", "i32"] { #expect(try f.tensor(key) == (try f.tensor("expected_int")), "\(key)") }
        #expect(try f.tensor("u8") == (try f.tensor("expected_u8")))
        #expect(f.file["bf16"]?.elementType == .bfloat16 && f.file["i64"]?.elementType == .int64)
        #expect(f.file.metadata["note"] != nil)
    }

    @Test("write then read keeps keys in order, bytes, dtypes and metadata")
    func roundTrip() throws {
        var g = SeededGenerator(seed: 1)
        let file = SafeTensorsFile(
            tensors: [("z.weight", StoredTensor(Tensor.normal(shape: [3, 2, 3, 3], using: &g))),
                      ("a.bias", StoredTensor(Tensor.normal(shape: [3], using: &g))),
                      ("m.num_batches_tracked", StoredTensor(int64: Tensor(shape: [], repeating: 7)))],
            metadata: ["architecture": "{\"depth\":4}", "classes": "2"])
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("model.safetensors").path
        try file.write(to: path)
        let read = try SafeTensorsFile.read(path: path)
        #expect(read == file)
        #expect(read.tensors.map(\.key) == ["z.weight", "a.bias", "m.num_batches_tracked"])
        #expect(read.stateDict()["m.num_batches_tracked"]?.scalars == [7])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["model.safetensors"])
    }

    @Test("truncated, corrupt and inconsistent files give one-line errors naming the file and key")
    func badFiles() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = SafeTensorsFile(tensors: [("w", StoredTensor(Tensor(shape: [4, 4], repeating: 1)))]).encoded()
        func header(_ json: String) -> Data {
            var data = Data()
            withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { data.append(contentsOf: $0) }
            return data + Data(json.utf8) + Data(count: 16)
        }
        let cases: [(String, Data, String)] = [
            ("truncated", good.prefix(good.count - 10), "'w'"),
            ("short", Data([1, 2, 3]), "shorter than 8 bytes"),
            ("huge header", Data([255, 255, 255, 255, 0, 0, 0, 0]) + Data(count: 8), "header length"),
            ("not json", header("{not json"), "JSON"),
            ("bad dtype", header("{\"w\":{\"dtype\":\"C64\",\"shape\":[2],\"data_offsets\":[0,16]}}"), "unsupported dtype C64"),
            ("shape vs bytes", header("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}"), "'w'"),
            ("negative shape", header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}"), "'w'"),
            ("metadata", header("{\"__metadata__\":{\"a\":1}}"), "__metadata__"),
        ]
        for (name, data, fragment) in cases {
            let path = folder.appendingPathComponent(name + ".safetensors").path
            FileManager.default.createFile(atPath: path, contents: data)
            let error = #expect(throws: CheckpointError.self, "\(name)") { try SafeTensorsFile.read(path: path) }
            let text = try #require(error).description
            #expect(text.hasPrefix(path) && text.contains(fragment), "\(name): \(text)")
            #expect(!text.contains("\n"))
        }
        #expect(throws: CheckpointError.self) { try SafeTensorsFile.read(path: "/nonexistent/model.safetensors") }
    }

    @Test("a failed write leaves the existing file intact")
    func failedWrite() throws {
        let file = SafeTensorsFile(tensors: [("w", StoredTensor(Tensor(shape: [2], repeating: 1)))])
        let error = #expect(throws: CheckpointError.self) { try file.write(to: "/nonexistent/dir/m.safetensors") }
        #expect(try #require(error).description.contains("/nonexistent/dir/m.safetensors"))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("m.safetensors").path
        try file.write(to: path)
        // Make the folder read-only: the next write must fail and keep the old file as it was.
        chmod(folder.path, 0o500)
        defer { chmod(folder.path, 0o700) }
        if getuid() != 0 {  // root ignores permissions
            let other = SafeTensorsFile(tensors: [("w", StoredTensor(Tensor(shape: [2], repeating: 2)))])
            #expect(throws: CheckpointError.self) { try other.write(to: path) }
            #expect(try SafeTensorsFile.read(path: path) == file)
        }
    }
}

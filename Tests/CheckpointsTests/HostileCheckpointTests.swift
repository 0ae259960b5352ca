@testable import Checkpoints
import Foundation
import Testing

/// Crafted checkpoints, each a few hundred bytes, that once trapped, recursed without end, never finished or
/// asked for terabytes. Each must now fail with one line naming the file, quickly and in little memory.
@Suite("Hostile checkpoints")
struct HostileCheckpointTests {
    // MARK: - Building crafted files

    /// Pickle opcodes (protocol 2), written out by hand.
    struct Pickle {
        var bytes: [UInt8] = [0x80, 2]
        mutating func op(_ code: Character) { bytes.append(UInt8(ascii: code.unicodeScalars.first!)) }
        mutating func op(_ code: UInt8) { bytes.append(code) }
        mutating func string(_ s: String) { bytes += [0x8C, UInt8(s.utf8.count)] + Array(s.utf8) }
        mutating func int(_ i: Int) { bytes += [UInt8(ascii: "J")] + le(i, 4) }
        mutating func long(_ i: Int) { bytes += [0x8A, 8] + le(i, 8) }
        mutating func global(_ module: String, _ name: String) { bytes += [UInt8(ascii: "c")] + Array("\(module)\n\(name)\n".utf8) }
        /// `_rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, OrderedDict())`.
        mutating func tensor(key: String, numel: Int, offset: Int = 0, size: [Int], stride: [Int]) {
            global("torch._utils", "_rebuild_tensor_v2")
            op("(")
            op("("); string("storage"); global("torch", "FloatStorage"); string(key); string("cpu"); long(numel); op("t")
            op("Q")
            long(offset)
            op("("); for s in size { long(s) }; op("t")
            op("("); for s in stride { long(s) }; op("t")
            op(0x89)
            global("collections", "OrderedDict"); op(")"); op("R")
            op("t"); op("R")
        }
        mutating func stop() -> [UInt8] { op("."); return bytes }
        func le(_ value: Int, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    }

    /// A `torch.save` zip holding `pickle` as data.pkl and `storages` as data/<key>.
    func zip(_ pickle: [UInt8], storages: [String: [UInt8]] = [:]) throws -> [UInt8] {
        var writer = ZipWriter()
        try writer.add("archive/data.pkl", pickle)
        for (key, bytes) in storages.sorted(by: { $0.key < $1.key }) { try writer.add("archive/data/\(key)", bytes) }
        return writer.finish()
    }

    /// The one-line error reading `bytes` gives, within a few seconds.
    func failure(_ bytes: [UInt8], _ name: String = "crafted.pth") throws -> String {
        let clock = ContinuousClock()
        let start = clock.now
        let error = #expect(throws: CheckpointError.self) { try Checkpoint.decode(bytes, path: name) }
        let text = try #require(error).description
        #expect(clock.now - start < .seconds(5), "took \(clock.now - start)")
        #expect(text.hasPrefix(name + ": ") && !text.contains("\n") && text.count < 600, "\(text)")
        return text
    }

    // MARK: - Recursion and exponential structures

    @Test("a list nested 30,000 deep is refused at the depth limit, without recursing")
    func deepList() throws {
        var p = Pickle()
        for _ in 0..<30_000 { p.op("]") }
        for _ in 0..<29_999 { p.op("a") }
        #expect(try failure(try zip(p.stop())).contains("more than 100 levels deep"))
    }

    @Test("a list inside itself, as a key or as mask_values, is refused (6 bytes of pickle once recursed forever)")
    func selfReferentialList() throws {
        var key = Pickle()
        key.op("}"); key.op("]"); key.op("q"); key.op(0); key.op("h"); key.op(0); key.op("a"); key.int(1); key.op("s")
        #expect(try failure(try zip(key.stop())).contains("inside itself"))
        var mask = Pickle()
        mask.op("}"); mask.string("mask_values"); mask.op("]"); mask.op("q"); mask.op(0); mask.op("h"); mask.op(0); mask.op("a")
        mask.op("s")
        #expect(try failure(try zip(mask.stop())).contains("inside itself"))
        // Two lists inside each other: the first is sealed once nested, so the second append is refused.
        var pair = Pickle()
        pair.op("]"); pair.op("q"); pair.op(0); pair.op("]"); pair.op("q"); pair.op(1)
        pair.op("a")  // list 1 into list 0
        pair.op("h"); pair.op(1); pair.op("h"); pair.op(0); pair.op("a")  // list 0 into list 1
        #expect(try failure(try zip(pair.stop())).contains("after placing it inside another value"))
    }

    @Test("80 DUP + TUPLE2 pairs (a 2^80-node tuple in 160 bytes) are refused before anything walks them")
    func exponentialTuple() throws {
        var p = Pickle()
        p.op("}"); p.op("N")
        for _ in 0..<80 { p.op("2"); p.op(0x86) }
        p.op("N"); p.op("s")
        #expect(try failure(try zip(p.stop())).contains("repeated references"))
    }

    @Test("a pickle of millions of values is refused at the allocation limit")
    func manyValues() throws {
        var p = Pickle()
        p.bytes += [UInt8](repeating: UInt8(ascii: "N"), count: (1 << 22) + 10)
        #expect(try failure(try zip(p.stop())).contains("more than 4194304 values"))
    }

    // MARK: - Sizes, strides and offsets

    @Test("a view whose size product overflows is refused, not trapped")
    func overflowingView() throws {
        var p = Pickle()
        p.op("}"); p.string("w"); p.tensor(key: "0", numel: 4, size: [1 << 62, 4], stride: [4, 1]); p.op("s")
        let text = try failure(try zip(p.stop(), storages: ["0": [UInt8](repeating: 0, count: 16)]))
        #expect(text.contains("more elements than memory can hold"))
        var q = Pickle()
        q.op("}"); q.string("w"); q.tensor(key: "0", numel: 4, offset: Int.max - 2, size: [2, 2], stride: [Int.max / 2, 1]); q.op("s")
        #expect(try failure(try zip(q.stop(), storages: ["0": [UInt8](repeating: 0, count: 16)])).contains("exceeds its storage"))
    }

    @Test("stride-0 views of a small storage cannot ask for 40 GB")
    func overlappingViews() throws {
        var p = Pickle()
        p.op("}"); p.string("w"); p.tensor(key: "0", numel: 10, size: [100_000, 100_000], stride: [0, 0]); p.op("s")
        let text = try failure(try zip(p.stop(), storages: ["0": [UInt8](repeating: 0, count: 40)]))
        #expect(text.contains("more bytes than the file holds"))
    }

    @Test("pickled module objects stay inert: a class called, an object given arguments, built twice or put inside itself is refused")
    func moduleObjects() throws {
        var called = Pickle()
        called.global("subprocess", "Popen"); called.op("("); called.string("ls"); called.op("t"); called.op("R")
        let call = try failure(try zip(called.stop()))
        #expect(call.contains("pickle calls 'subprocess.Popen'") && call.contains("not allowed"), "\(call)")

        var arguments = Pickle()
        arguments.global("torch.nn.modules.conv", "Conv2d"); arguments.op("("); arguments.int(3); arguments.op("t"); arguments.op(0x81)
        #expect(try failure(try zip(arguments.stop())).contains("not allowed"))

        // obj = Conv2d.__new__(); obj.__dict__ = {"_modules": {"self": obj}}: the object inside its own state.
        var cyclic = Pickle()
        cyclic.global("torch.nn.modules.conv", "Conv2d"); cyclic.op(")"); cyclic.op(0x81); cyclic.op("q"); cyclic.bytes.append(0)
        cyclic.op("}"); cyclic.string("_modules"); cyclic.op("}"); cyclic.string("self"); cyclic.op("h"); cyclic.bytes.append(0)
        cyclic.op("s"); cyclic.op("s"); cyclic.op("b")
        let text = try failure(try zip(cyclic.stop()))
        #expect(text.contains("after placing it inside another value") || text.contains("inside itself"), "\(text)")

        var twice = Pickle()
        twice.global("torch.nn.modules.conv", "Conv2d"); twice.op(")"); twice.op(0x81)
        twice.op("}"); twice.op("b"); twice.op("}"); twice.op("b")
        #expect(try failure(try zip(twice.stop())).contains("object"))
    }

    @Test("a storage whose element count overflows its byte size is refused")
    func overflowingStorage() throws {
        var p = Pickle()
        p.op("}"); p.string("w"); p.tensor(key: "0", numel: Int.max / 2, size: [1], stride: [1]); p.op("s")
        #expect(try failure(try zip(p.stop(), storages: ["0": [0, 0, 0, 0]])).contains("storage data/'0' holds 4 bytes"))
    }

    @Test("a legacy file of 200 bytes declaring a 4.4 TB storage is refused before allocating")
    func legacyAmplification() throws {
        var header = Pickle()
        header.bytes = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, UInt8(ascii: ".")]
        var version = Pickle(); version.int(1001)
        var info = Pickle(); info.op("}")
        var object = Pickle()
        object.op("}"); object.string("w")
        object.global("torch._utils", "_rebuild_tensor_v2")
        object.op("(")
        object.op("("); object.string("storage"); object.global("torch", "FloatStorage"); object.string("0"); object.string("cpu")
        object.long(1_100_000_000_000); object.op("N"); object.op("t"); object.op("Q")
        object.long(0); object.op("("); object.long(1); object.op("t"); object.op("("); object.long(1); object.op("t"); object.op(0x89)
        object.op("N"); object.op("t"); object.op("R"); object.op("s")
        var keys = Pickle(); keys.op("]"); keys.string("0"); keys.op("a")
        var bytes: [UInt8] = header.bytes
        bytes += version.stop()
        bytes += info.stop()
        bytes += object.stop()
        bytes += keys.stop()
        bytes += [UInt8](repeating: 0, count: 8)
        #expect(bytes.count < 300)
        #expect(try failure(bytes).contains("more bytes than the file holds"))
    }

    @Test("a zip entry offset of 2^63 - 1 (zip64) is a corrupt archive, not a trap")
    func hugeZipOffset() throws {
        var empty = Pickle()
        var archive = try zip(empty.stop())
        // Point the central directory entry's local header offset at 0xFFFFFFFF with a zip64 extra of Int.max.
        let directory = try #require((0..<(archive.count - 4)).first { archive[$0..<($0 + 4)] == [0x50, 0x4B, 0x01, 0x02] })
        archive.replaceSubrange((directory + 42)..<(directory + 46), with: [0xFF, 0xFF, 0xFF, 0xFF])
        let text = try failure(archive)
        #expect(text.contains("zip"))
    }

    // MARK: - safetensors and .npy

    func safetensors(_ header: String, data: Int) -> [UInt8] {
        var json = Array(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return (0..<8).map { UInt8(truncatingIfNeeded: json.count >> (8 * $0)) } + json + [UInt8](repeating: 0, count: data)
    }

    @Test("a safetensors shape whose product overflows is refused")
    func overflowingShape() throws {
        let bytes = safetensors(#"{"w":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,16]}}"#, data: 16)
        #expect(try failure(bytes, "crafted.safetensors").contains("more elements than memory can hold"))
    }

    @Test("safetensors entries that overlap, each asking for the whole data, are refused before copying")
    func overlappingEntries() throws {
        let entries = (0..<2000).map { #""w\#($0)":{"dtype":"F32","shape":[262144],"data_offsets":[0,1048576]}"# }
        let bytes = safetensors("{" + entries.joined(separator: ",") + "}", data: 1 << 20)
        #expect(try failure(bytes, "crafted.safetensors").contains("data overlaps"))
    }

    @Test("a .npy shape whose product overflows is refused")
    func overflowingNumpy() throws {
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }".utf8)
        header += [UInt8](repeating: 0x20, count: (64 - (10 + header.count + 1) % 64) % 64) + [0x0A]
        let bytes = NumpyArray.magic + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
        let error = #expect(throws: CheckpointError.self) { try NumpyArray.decode(bytes, path: "crafted.npy") }
        #expect(try #require(error).description.contains("malformed shape"))
    }

    // MARK: - Descriptions

    @Test("values that appear in messages are described in at most 200 characters")
    func boundedDescriptions() {
        let list = PickleList((0..<1_000_000).map { .int($0) })
        #expect(PickleValue.list(list).description.count <= PickleValue.descriptionLimit + 1)
        #expect(PickleValue.string(String(repeating: "x", count: 100_000)).description.count <= PickleValue.descriptionLimit + 1)
    }
}

@Suite("ByteReader")
struct ByteReaderTests {
    @Test("reads at offsets near Int.max throw instead of overflowing")
    func hugeOffsets() {
        for offset in [Int.max, Int.max - 3, -1, 5] {
            var reader = ByteReader([1, 2, 3, 4], offset: offset)
            #expect(throws: ByteReader.OutOfBounds.self) { try reader.uint32() }
            #expect(throws: ByteReader.OutOfBounds.self) { try reader.take(1) }
        }
    }
}

import Foundation
import Tensors

/// A safetensors file (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
/// a JSON header `{key: {dtype, shape, data_offsets}, "__metadata__": {string: string}}`, then the raw
/// tensor bytes. This is the native model format: `__metadata__` carries the architecture and
/// preprocessing so a saved model describes itself.
public struct SafeTensorsFile: Sendable, Equatable {
    /// Tensors in file order (by data offset), which for files we write is the state dict's order.
    public var tensors: [(key: String, tensor: StoredTensor)]
    /// The `__metadata__` strings.
    public var metadata: [String: String]

    public init(tensors: [(key: String, tensor: StoredTensor)], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor under `key`, if any.
    public subscript(key: String) -> StoredTensor? {
        tensors.first { $0.key == key }?.tensor
    }

    public static func == (lhs: SafeTensorsFile, rhs: SafeTensorsFile) -> Bool {
        lhs.metadata == rhs.metadata && lhs.tensors.map(\.key) == rhs.tensors.map(\.key)
            && lhs.tensors.map(\.tensor) == rhs.tensors.map(\.tensor)
    }

    // MARK: - Reading

    /// Reads and validates a safetensors file.
    /// - Throws: `CheckpointError` naming the file (and key) for a missing, truncated or malformed file.
    public static func read(path: String) throws(CheckpointError) -> SafeTensorsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        return try parse(data, path: path)
    }

    /// Parses safetensors bytes; `path` only labels errors.
    public static func parse(_ data: Data, path: String) throws(CheckpointError) -> SafeTensorsFile {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw CheckpointError(path, "not a safetensors file (shorter than 8 bytes)") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw CheckpointError(path, "truncated or not a safetensors file (header length \(headerLength) exceeds file)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) as? [String: Any] else {
            throw CheckpointError(path, "not a safetensors file (header is not a JSON object)")
        }
        var metadata: [String: String] = [:]
        var entries: [(key: String, tensor: StoredTensor, offset: Int)] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let strings = value as? [String: String] else {
                    throw CheckpointError(path, "__metadata__ must map strings to strings")
                }
                metadata = strings
                continue
            }
            let (tensor, offset) = try parseEntry(key, value, bytes, dataStart, path)
            entries.append((key, tensor, offset))
        }
        entries.sort { $0.offset < $1.offset }
        return SafeTensorsFile(tensors: entries.map { ($0.key, $0.tensor) }, metadata: metadata)
    }

    private static func parseEntry(_ key: String, _ value: Any, _ bytes: [UInt8], _ dataStart: Int, _ path: String)
        throws(CheckpointError) -> (StoredTensor, Int)
    {
        guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
            let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
        else { throw CheckpointError(path, "key '\(key)': malformed header entry") }
        guard let type = ElementType(rawValue: dtype) else {
            throw CheckpointError(path, "key '\(key)': unsupported dtype \(dtype)")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end, end <= bytes.count - dataStart else {
            throw CheckpointError(path, "key '\(key)': data offsets \(offsets) outside the file (truncated?)")
        }
        do {
            let tensor = try StoredTensor(
                elementType: type, shape: shape, bytes: Array(bytes[(dataStart + begin)..<(dataStart + end)]))
            return (tensor, begin)
        } catch {
            throw CheckpointError(path, "key '\(key)': \(error)")
        }
    }

    // MARK: - Writing

    /// The file's bytes: header (keys in `tensors` order, padded with spaces to 8 bytes), then data.
    public func encoded() -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for (key, tensor) in tensors {
            header[key] = ["dtype": tensor.elementType.rawValue, "shape": tensor.shape,
                           "data_offsets": [offset, offset + tensor.bytes.count]] as [String: Any]
            offset += tensor.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = (try? JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])) ?? Data("{}".utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out = Data()
        out.reserveCapacity(8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, tensor) in tensors { out.append(contentsOf: tensor.bytes) }
        return out
    }

    /// Writes the file atomically (temporary file, then rename).
    public func write(to path: String) throws(CheckpointError) {
        try AtomicFile.write(encoded(), to: path)
    }

    /// The tensors converted to float32, in order.
    public func stateDict() -> StateDict {
        StateDict(tensors.map { ($0.key, $0.tensor.floatTensor()) })
    }
}

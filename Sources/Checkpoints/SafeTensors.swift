import Files
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
        try parse(try TorchCheckpoint.readBytes(path), path: path)
    }

    /// The largest header read (the format's own limit, 100 MB).
    public static let headerLimit = 100_000_000

    /// Parses safetensors bytes; `path` only labels errors.
    public static func parse(_ data: Data, path: String) throws(CheckpointError) -> SafeTensorsFile {
        try parse([UInt8](data), path: path)
    }

    /// Parses safetensors bytes; `path` only labels errors. The tensors' byte ranges must not overlap (the
    /// format's rule), so that the tensors together never need more memory than the file.
    public static func parse(_ bytes: [UInt8], path: String) throws(CheckpointError) -> SafeTensorsFile {
        guard bytes.count >= 8 else { throw CheckpointError(path, "not a safetensors file (shorter than 8 bytes)") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw CheckpointError(path, "truncated or not a safetensors file (header length \(headerLength) exceeds file)")
        }
        guard headerLength <= UInt64(headerLimit) else {
            throw CheckpointError(path, "safetensors header of \(headerLength) bytes, above the format's limit of \(headerLimit)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) as? [String: Any] else {
            throw CheckpointError(path, "not a safetensors file (header is not a JSON object)")
        }
        var metadata: [String: String] = [:]
        var entries: [Entry] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let strings = value as? [String: String] else {
                    throw CheckpointError(path, "__metadata__ must map strings to strings")
                }
                metadata = strings
                continue
            }
            entries.append(try Entry(key, value, dataBytes: bytes.count - dataStart, path))
        }
        entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
        for (previous, next) in zip(entries, entries.dropFirst()) where next.begin < previous.end {
            throw CheckpointError(path, "key \(CheckpointError.quote(next.key)): data overlaps key \(CheckpointError.quote(previous.key))")
        }
        var tensors: [(key: String, tensor: StoredTensor)] = []
        for entry in entries {
            do {
                let data = Array(bytes[(dataStart + entry.begin)..<(dataStart + entry.end)])
                tensors.append((entry.key, try StoredTensor(elementType: entry.type, shape: entry.shape, bytes: data)))
            } catch {
                throw CheckpointError(path, "key \(CheckpointError.quote(entry.key)): \(error)")
            }
        }
        return SafeTensorsFile(tensors: tensors, metadata: metadata)
    }

    /// One tensor's header entry, checked against the data section's size.
    private struct Entry {
        let key: String
        let type: ElementType
        let shape: [Int]
        let begin: Int
        let end: Int

        init(_ key: String, _ value: Any, dataBytes: Int, _ path: String) throws(CheckpointError) {
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2
            else { throw CheckpointError(path, "key \(CheckpointError.quote(key)): malformed header entry") }
            guard let type = ElementType(rawValue: dtype) else {
                throw CheckpointError(path, "key \(CheckpointError.quote(key)): unsupported dtype \(dtype.prefix(32))")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataBytes else {
                throw CheckpointError(path, "key \(CheckpointError.quote(key)): data offsets \(offsets) outside the file (truncated?)")
            }
            (self.key, self.type, self.shape, self.begin, self.end) = (key, type, shape, begin, end)
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
        do { try AtomicFile.write(encoded(), to: path) } catch { throw CheckpointError(error) }
    }

    /// The tensors converted to float32, in order.
    public func stateDict() -> StateDict {
        StateDict(tensors.map { ($0.key, $0.tensor.floatTensor()) })
    }
}

/// The stream format of `torch.save` before PyTorch 1.6 (`_use_new_zipfile_serialization=False`): five
/// pickles (magic number, protocol version, system info, the object, the list of storage keys) followed by
/// each storage as an int64 element count and its raw little-endian bytes.
enum LegacyTorchFormat {
    /// The pickled magic number 0x1950a86a20f9469cfc6c, as the file begins.
    private static let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    static func isLegacy(_ bytes: [UInt8]) -> Bool { bytes.starts(with: magic) }

    /// One storage reference: `('storage', type, root key, location, numel, view metadata)`.
    private struct Reference {
        let typeName: String
        let type: ElementType?
        let root: String
        let count: Int
        /// `(view key, element offset, element count)` when the storage is a view of `root`.
        let view: (key: String, offset: Int, count: Int)?
        /// `count` elements of `type`, checked not to overflow.
        let byteCount: Int
    }

    private static func reference(_ id: PickleValue) throws(PickleReader.Failure) -> Reference {
        guard case .tuple(let f) = id, f.count == 6, f[0].string == "storage", case .global(let typeName) = f[1],
            let root = f[2].string, case .int(let count) = f[4], count >= 0
        else { throw PickleReader.Failure(reason: "malformed legacy storage reference \(id)") }
        var view: (String, Int, Int)?
        if case .tuple(let v) = f[5], v.count == 3, let key = v[0].string, case .int(let o) = v[1], case .int(let c) = v[2] {
            view = (key, o, c)
        }
        let type = PickleReader.storageType(typeName) ?? nil
        guard let byteCount = Checked.product([count, type?.byteWidth ?? 0]) else {
            throw PickleReader.Failure(reason: "legacy storage \(CheckpointError.quote(root)) declares \(count) elements, more than memory can hold")
        }
        return Reference(typeName: typeName, type: type, root: root, count: count, view: view, byteCount: byteCount)
    }

    static func read(_ bytes: [UInt8]) throws -> PickleValue {
        var offset = 0
        let noStorage: PickleReader.PersistentLoad = { (_) throws(PickleReader.Failure) in
            throw PickleReader.Failure(reason: "unexpected storage in legacy header")
        }
        for _ in 0..<3 { _ = try PickleReader.read(bytes, offset: &offset, tensorBytes: 0, persistentLoad: noStorage) }
        // First pass over the object: learn the storages' types and sizes (tensors are built from zeros).
        let objectStart = offset
        let references = try collectReferences(bytes, &offset)
        guard case .list(let keyList) = try PickleReader.read(bytes, offset: &offset, tensorBytes: 0, persistentLoad: noStorage)
        else {
            throw PickleReader.Failure(reason: "legacy checkpoint without a storage key list")
        }
        // The raw storages, in key-list order.
        var data: [String: [UInt8]] = [:]
        var reader = ByteReader(bytes, offset: offset)
        for item in keyList.items {
            guard let key = item.string, let r = references[key] else {
                throw PickleReader.Failure(reason: "legacy storage \(item) is not referenced")
            }
            do {
                let count = Int(clamping: try reader.uint64())
                guard count == r.count else { throw PickleReader.Failure(reason: "legacy storage \(CheckpointError.quote(key)) size mismatch") }
                data[key] = Array(try reader.take(r.byteCount))
            } catch is ByteReader.OutOfBounds {
                throw PickleReader.Failure(reason: "truncated legacy checkpoint (storage \(CheckpointError.quote(key)))")
            }
        }
        // Second pass: build the tensors.
        offset = objectStart
        return try PickleReader.read(bytes, offset: &offset, tensorBytes: bytes.count) { (id) throws(PickleReader.Failure) in
            let r = try reference(id)
            guard let root = data[r.root] else { throw PickleReader.Failure(reason: "legacy storage \(CheckpointError.quote(r.root)) has no data") }
            let width = r.type?.byteWidth ?? 0
            var bytes = root
            var count = r.count
            if let view = r.view {
                guard let end = Checked.sum([view.offset, view.count]).flatMap({ Checked.product([$0, width]) }),
                    end <= root.count
                else {
                    throw PickleReader.Failure(reason: "legacy storage view \(CheckpointError.quote(view.key)) outside its storage")
                }
                bytes = Array(root[(view.offset * width)..<((view.offset + view.count) * width)])
                count = view.count
            }
            return .storage(TorchStorage(elementType: r.type, typeName: r.typeName, key: r.root, count: count, bytes: bytes))
        }
    }

    /// Walks the object pickle collecting every storage reference (the first pass). The storages' data
    /// follows the pickles, so together they cannot be larger than the file: the zeros that stand in for them
    /// here are bounded by it.
    private static func collectReferences(_ bytes: [UInt8], _ offset: inout Int) throws -> [String: Reference] {
        final class Collected {
            var references: [String: Reference] = [:]
            var bytes = 0
        }
        let collected = Collected()
        _ = try PickleReader.read(bytes, offset: &offset, tensorBytes: bytes.count) { (id) throws(PickleReader.Failure) in
            let r = try reference(id)
            if collected.references[r.root] == nil {
                collected.bytes = Checked.sum([collected.bytes, r.byteCount]) ?? Int.max
                guard collected.bytes <= bytes.count else {
                    throw PickleReader.Failure(reason: "legacy storages declare more bytes than the file holds (truncated?)")
                }
            }
            collected.references[r.root] = r
            let placeholder = [UInt8](repeating: 0, count: r.byteCount)
            return .storage(TorchStorage(elementType: r.type, typeName: r.typeName, key: r.root, count: r.count,
                                         bytes: placeholder))
        }
        return collected.references
    }
}

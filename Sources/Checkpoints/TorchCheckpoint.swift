import Files
import Foundation

/// PyTorch `.pth` files: the zip format `torch.save` writes since 1.6 (`data.pkl` plus one `data/<key>` entry
/// per storage) and the legacy stream format before it. Reading decodes the pickle without executing code
/// (`PickleReader`); writing produces a state dict that `torch.load` and `load_state_dict` accept.
public enum TorchCheckpoint {
    /// The top-level object of a `.pth` file.
    /// - Throws: `CheckpointError` naming the file for a corrupt archive, a disallowed global, a malformed pickle.
    public static func readObject(path: String) throws(CheckpointError) -> PickleValue {
        try readObject(bytes: try readBytes(path), path: path)
    }

    /// The top-level object of `.pth` bytes; `path` labels errors.
    /// - Throws: `CheckpointError` for a corrupt archive, a disallowed global, a malformed or oversized pickle.
    public static func readObject(bytes: [UInt8], path: String) throws(CheckpointError) -> PickleValue {
        do {
            if ZipArchive.isZip(bytes) { return try readZip(bytes) }
            if LegacyTorchFormat.isLegacy(bytes) { return try LegacyTorchFormat.read(bytes) }
        } catch let failure as PickleReader.Failure {
            throw CheckpointError(path, failure.reason)
        } catch let failure as ZipArchive.Failure {
            throw CheckpointError(path, failure.reason)
        } catch {
            throw CheckpointError(path, "\(error)")
        }
        throw CheckpointError(path, "not a PyTorch checkpoint (neither a zip archive nor a legacy pickle)")
    }

    /// Decodes a bare pickle (as `data.pkl` holds it) whose tensor storages cannot be resolved: for tools that
    /// look at a pickle's structure; `path` labels errors.
    /// - Throws: `CheckpointError` for a malformed or oversized pickle, a disallowed global, or a storage.
    public static func readPickle(bytes: [UInt8], path: String) throws(CheckpointError) -> PickleValue {
        var offset = 0
        do {
            return try PickleReader.read(bytes, offset: &offset, tensorBytes: 0) { (_) throws(PickleReader.Failure) in
                throw PickleReader.Failure(reason: "tensor storage outside an archive")
            }
        } catch {
            throw CheckpointError(path, error.reason)
        }
    }

    /// The largest model file read (16 GiB): far above any U-Net's, below what would exhaust memory.
    public static let fileSizeLimit = 16 << 30

    static func readBytes(_ path: String) throws(CheckpointError) -> [UInt8] {
        do { return try FileContents.read(path, limit: fileSizeLimit) } catch { throw CheckpointError(error) }
    }

    private static func readZip(_ bytes: [UInt8]) throws -> PickleValue {
        let archive = try ZipArchive(bytes)
        guard let pickleName = archive.entries.map(\.name).first(where: { $0.hasSuffix("data.pkl") }) else {
            throw ZipArchive.Failure(reason: "zip archive without data.pkl: not a torch.save file")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        guard let pickle = try archive.contents(of: pickleName) else { throw ZipArchive.Failure(reason: "missing data.pkl") }
        var storages: [String: TorchStorage] = [:]
        var offset = 0
        return try PickleReader.read(pickle, offset: &offset, tensorBytes: bytes.count) { (id) throws(PickleReader.Failure) in
            guard case .tuple(let fields) = id, fields.count >= 5, fields[0].string == "storage",
                case .global(let typeName) = fields[1], let key = fields[2].string, case .int(let count) = fields[4],
                count >= 0
            else { throw PickleReader.Failure(reason: "malformed storage reference \(id)") }
            guard key.utf8.count <= 256 else { throw PickleReader.Failure(reason: "storage key longer than 256 bytes") }
            if let known = storages[key] { return .storage(known) }
            let type = PickleReader.storageType(typeName) ?? nil
            let data: [UInt8]?
            do throws(ZipArchive.Failure) {
                data = try archive.contents(of: prefix + "data/" + key)
            } catch {
                throw PickleReader.Failure(reason: error.reason)
            }
            guard let data else { throw PickleReader.Failure(reason: "storage data/\(CheckpointError.quote(key)) missing from the archive") }
            if let type, data.count != Checked.product([count, type.byteWidth]) {
                throw PickleReader.Failure(
                    reason: "storage data/\(CheckpointError.quote(key)) holds \(data.count) bytes, not \(count) elements of \(type.byteWidth) bytes")
            }
            let storage = TorchStorage(elementType: type, typeName: typeName, key: key, count: count, bytes: data)
            storages[key] = storage
            return .storage(storage)
        }
    }

    // MARK: - Writing

    /// The bytes of a `.pth` holding `tensors` as an ordered state dict, laid out as `torch.save` lays it out.
    public static func encode(_ tensors: [(key: String, tensor: StoredTensor)]) throws(CheckpointError) -> [UInt8] {
        var zip = ZipWriter()
        do throws(ZipArchive.Failure) {
            try zip.add("archive/data.pkl", PickleWriter.stateDict(tensors))
            try zip.add("archive/.format_version", Array("1".utf8))
            try zip.add("archive/.storage_alignment", Array("64".utf8))
            try zip.add("archive/byteorder", Array("little".utf8))
            for (index, entry) in tensors.enumerated() { try zip.add("archive/data/\(index)", entry.tensor.bytes) }
            try zip.add("archive/version", Array("3\n".utf8))
        } catch {
            throw CheckpointError("archive", error.reason)
        }
        return zip.finish()
    }

    /// Writes `tensors` as a `.pth` state dict, atomically.
    public static func write(_ tensors: [(key: String, tensor: StoredTensor)], to path: String) throws(CheckpointError) {
        let bytes: [UInt8]
        do { bytes = try encode(tensors) } catch { throw CheckpointError(path, error.reason) }
        do { try AtomicFile.write(Data(bytes), to: path) } catch { throw CheckpointError(error) }
    }
}

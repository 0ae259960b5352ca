import Foundation

/// PyTorch `.pth` files: the zip format `torch.save` writes since 1.6 (`data.pkl` plus one `data/<key>` entry
/// per storage) and the legacy stream format before it. Reading decodes the pickle without executing code
/// (`PickleReader`); writing produces a state dict that `torch.load` and `load_state_dict` accept.
public enum TorchCheckpoint {
    /// The top-level object of a `.pth` file.
    /// - Throws: `CheckpointError` naming the file for a corrupt archive, a disallowed global, a malformed pickle.
    public static func readObject(path: String) throws(CheckpointError) -> PickleValue {
        let bytes = try readBytes(path)
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

    static func readBytes(_ path: String) throws(CheckpointError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        return [UInt8](data)
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
        return try PickleReader.read(pickle, offset: &offset) { (id) throws(PickleReader.Failure) in
            guard case .tuple(let fields) = id, fields.count >= 5, fields[0].string == "storage",
                case .global(let typeName) = fields[1], let key = fields[2].string, case .int(let count) = fields[4],
                count >= 0
            else { throw PickleReader.Failure(reason: "malformed storage reference \(id)") }
            if let known = storages[key] { return .storage(known) }
            let type = PickleReader.storageType(typeName) ?? nil
            let data: [UInt8]?
            do throws(ZipArchive.Failure) {
                data = try archive.contents(of: prefix + "data/" + key)
            } catch {
                throw PickleReader.Failure(reason: error.reason)
            }
            guard let data else { throw PickleReader.Failure(reason: "storage data/\(key) missing from the archive") }
            if let type, data.count != count * type.byteWidth {
                throw PickleReader.Failure(reason: "storage data/\(key) holds \(data.count) bytes, expected \(count * type.byteWidth)")
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
        try AtomicFile.write(Data(bytes), to: path)
    }
}

import Foundation
import Tensors

/// The tensors of a model file in any supported format, with what the file said about them.
public struct Checkpoint: Sendable {
    public enum Format: String, Sendable {
        case safetensors
        case torchZip = "PyTorch .pth (zip)"
        case torchLegacy = "PyTorch .pth (legacy, pre-1.6)"
    }

    /// Tensors in file order: the state dict's order for `.pth` files and files we wrote.
    public var tensors: [(key: String, tensor: StoredTensor)]
    /// safetensors `__metadata__`; for `.pth` files, `mask_values` (JSON) when the state dict carries it.
    public var metadata: [String: String]
    public var format: Format
    /// What was done to find the state dict ("state dict found under 'network_weights'", ...).
    public var notes: [String]

    /// The tensor under `key`.
    public subscript(key: String) -> StoredTensor? { tensors.first { $0.key == key }?.tensor }

    /// The tensors as float32, in order.
    public func stateDict() -> StateDict { StateDict(tensors.map { ($0.key, $0.tensor.floatTensor()) }) }

    /// The keys that `wrappedStateDict` looks under, in order, when the top level is not itself a state dict.
    public static let wrapperKeys = ["state_dict", "model_state_dict", "model", "network_weights", "net", "weights"]

    /// Reads a safetensors file or a PyTorch `.pth` (zip or legacy), choosing by content.
    /// - Throws: `CheckpointError` naming the file (and key) for anything unreadable.
    public static func read(path: String) throws(CheckpointError) -> Checkpoint {
        try decode(try TorchCheckpoint.readBytes(path), path: path)
    }

    /// Decodes the bytes of a model file in any supported format; `path` labels errors.
    /// - Throws: `CheckpointError` naming the file (and key) for anything malformed.
    public static func decode(_ bytes: [UInt8], path: String) throws(CheckpointError) -> Checkpoint {
        if ZipArchive.isZip(bytes) || LegacyTorchFormat.isLegacy(bytes) {
            let object = try TorchCheckpoint.readObject(bytes: bytes, path: path)
            var checkpoint = try stateDict(from: object, path: path)
            checkpoint.format = ZipArchive.isZip(bytes) ? .torchZip : .torchLegacy
            return checkpoint
        }
        let file = try SafeTensorsFile.parse(bytes, path: path)
        return Checkpoint(tensors: file.tensors, metadata: file.metadata, format: .safetensors, notes: [])
    }

    /// Finds the state dict in a decoded `.pth` object: the top-level dict if it holds tensors, else the first
    /// wrapper key holding a dict (`{'state_dict': ...}`, `{'model': ...}`, `{'network_weights': ...}`).
    static func stateDict(from object: PickleValue, path: String) throws(CheckpointError) -> Checkpoint {
        if case .object(let module) = object {
            let tensors = try ModuleTree.stateDict(of: module, path: path)
            return Checkpoint(tensors: tensors, metadata: [:], format: .torchZip,
                              notes: ["a whole pickled \(CheckpointError.quote(module.className)) (torch.save(model)): its parameters and "
                                + "buffers read from its modules' dicts, without its classes"])
        }
        guard case .dict(let top) = object else {
            throw CheckpointError(path, "expected a state dict (a dict of tensors), found \(kind(object))")
        }
        var dict = top
        var notes: [String] = []
        if !top.entries.contains(where: { isTensor($0.value) }) {
            guard let wrapper = wrapperKeys.first(where: { top[$0]?.dict != nil }), let inner = top[wrapper]?.dict else {
                let shown = top.entries.prefix(10).map { $0.key.description }
                let keys = shown.joined(separator: ", ") + (top.entries.count > shown.count ? ", ..." : "")
                throw CheckpointError(path, "no state dict found (top-level keys: \(keys); looked under \(wrapperKeys.joined(separator: ", ")))")
            }
            dict = inner
            notes.append("state dict found under '\(wrapper)'")
        }
        var tensors: [(key: String, tensor: StoredTensor)] = []
        var metadata: [String: String] = [:]
        for (keyValue, value) in dict.entries {
            guard let key = keyValue.string else { throw CheckpointError(path, "state dict key \(keyValue) is not a string") }
            switch value {
            case .tensor(let tensor): tensors.append((key, tensor))
            case .unsupportedTensor(let why): throw CheckpointError(path, "key \(CheckpointError.quote(key)): \(why)")
            case .list(let list) where key == "mask_values":
                guard let json = maskValuesJSON(list) else {
                    throw CheckpointError(path, "mask_values is not a list of numbers or of RGB triples: \(value)")
                }
                metadata["mask_values"] = json
            default: notes.append("ignored non-tensor entry \(CheckpointError.quote(key))")
            }
        }
        guard !tensors.isEmpty else { throw CheckpointError(path, "the state dict holds no tensors") }
        if tensors.allSatisfy({ $0.key.hasPrefix("module.") }) {
            tensors = tensors.map { (String($0.key.dropFirst("module.".count)), $0.tensor) }
            notes.append("removed the 'module.' prefix of DataParallel")
        }
        return Checkpoint(tensors: tensors, metadata: metadata, format: .torchZip, notes: notes)
    }

    /// milesial's `mask_values` (`[0, 255]` or `[[0, 0, 0], [255, 0, 0]]`) as JSON, or nil for anything else:
    /// at most 65536 entries, each an integer or a list or tuple of three.
    static func maskValuesJSON(_ list: PickleList) -> String? {
        func integer(_ value: PickleValue) -> Int? {
            switch value {
            case .int(let i): i
            case .bool(let b): b ? 1 : 0
            default: nil
            }
        }
        guard list.items.count <= 65536 else { return nil }
        var entries: [String] = []
        for item in list.items {
            if let n = integer(item) {
                entries.append("\(n)")
                continue
            }
            let components: [PickleValue]
            switch item {
            case .list(let inner): components = inner.items
            case .tuple(let inner): components = inner
            default: return nil
            }
            let numbers = components.compactMap(integer)
            guard numbers.count == components.count, numbers.count == 3 else { return nil }
            entries.append("[" + numbers.map(String.init).joined(separator: ", ") + "]")
        }
        return "[" + entries.joined(separator: ", ") + "]"
    }

    private static func isTensor(_ value: PickleValue) -> Bool {
        switch value {
        case .tensor, .unsupportedTensor: true
        default: false
        }
    }

    private static func kind(_ value: PickleValue) -> String {
        switch value {
        case .tensor: "a single tensor"
        case .list: "a list"
        case .tuple: "a tuple"
        default: "\(value)"
        }
    }
}

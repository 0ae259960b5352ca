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
        let head = try prefix(of: path)
        if head.starts(with: [0x50, 0x4B]) || LegacyTorchFormat.isLegacy(head) {
            let object = try TorchCheckpoint.readObject(path: path)
            var checkpoint = try stateDict(from: object, path: path)
            checkpoint.format = head.starts(with: [0x50, 0x4B]) ? .torchZip : .torchLegacy
            return checkpoint
        }
        let file = try SafeTensorsFile.read(path: path)
        return Checkpoint(tensors: file.tensors, metadata: file.metadata, format: .safetensors, notes: [])
    }

    private static func prefix(of path: String) throws(CheckpointError) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CheckpointError(path, FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        defer { try? handle.close() }
        return [UInt8]((try? handle.read(upToCount: 16)) ?? Data())
    }

    /// Finds the state dict in a decoded `.pth` object: the top-level dict if it holds tensors, else the first
    /// wrapper key holding a dict (`{'state_dict': ...}`, `{'model': ...}`, `{'network_weights': ...}`).
    static func stateDict(from object: PickleValue, path: String) throws(CheckpointError) -> Checkpoint {
        guard case .dict(let top) = object else {
            throw CheckpointError(path, "expected a state dict (a dict of tensors), found \(kind(object))")
        }
        var dict = top
        var notes: [String] = []
        if !top.entries.contains(where: { isTensor($0.value) }) {
            guard let wrapper = wrapperKeys.first(where: { top[$0]?.dict != nil }), let inner = top[wrapper]?.dict else {
                let keys = top.entries.map { $0.key.description }.joined(separator: ", ")
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
            case .unsupportedTensor(let why): throw CheckpointError(path, "key '\(key)': \(why)")
            case .list(let list) where key == "mask_values":
                metadata["mask_values"] = "[" + list.items.map(\.description).joined(separator: ", ") + "]"
            default: notes.append("ignored non-tensor entry '\(key)'")
            }
        }
        guard !tensors.isEmpty else { throw CheckpointError(path, "the state dict holds no tensors") }
        if tensors.allSatisfy({ $0.key.hasPrefix("module.") }) {
            tensors = tensors.map { (String($0.key.dropFirst("module.".count)), $0.tensor) }
            notes.append("removed the 'module.' prefix of DataParallel")
        }
        return Checkpoint(tensors: tensors, metadata: metadata, format: .torchZip, notes: notes)
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

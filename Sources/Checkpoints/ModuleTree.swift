/// The state dict of a whole pickled `torch.nn.Module` (`torch.save(model)`), read from the module objects'
/// `__dict__`s as `BUILD` gave them, without their classes: each module's `_parameters`, then its `_buffers` (less
/// those named in `_non_persistent_buffers_set`), then its `_modules` in order, keys joined by dots, as
/// `Module.state_dict()` lists them.
enum ModuleTree {
    /// The most modules walked (a U-Net has hundreds; shared sub-modules are walked where they appear, as PyTorch does).
    static let moduleLimit = 1 << 16

    static func stateDict(of root: PickleObject, path: String) throws(CheckpointError) -> [(key: String, tensor: StoredTensor)] {
        var tensors: [(key: String, tensor: StoredTensor)] = []
        var walked = 0
        func walk(_ module: PickleObject, _ prefix: String) throws(CheckpointError) {
            walked += 1
            guard walked <= moduleLimit else { throw CheckpointError(path, "the pickled model has more than \(moduleLimit) modules") }
            let state: PickleDict
            switch module.state {
            case .dict(let d)?: state = d
            case .tuple(let parts)? where parts.first?.dict != nil: state = parts[0].dict!
            default:
                throw CheckpointError(path, "\(prefix.isEmpty ? "the pickled model" : CheckpointError.quote(String(prefix.dropLast()))) "
                    + "(\(CheckpointError.quote(module.className))) is not a torch.nn.Module: it has no attribute dict")
            }
            var skipped = Set<String>()
            if case .list(let names)? = state["_non_persistent_buffers_set"] { skipped = Set(names.items.compactMap(\.string)) }
            for (field, isBuffer) in [("_parameters", false), ("_buffers", true)] {
                guard let value = state[field] else { continue }
                guard case .dict(let entries) = value else { throw CheckpointError(path, "\(prefix)\(field) is not a dict") }
                for (name, tensor) in entries.entries {
                    guard let name = name.string else { throw CheckpointError(path, "a \(field) name in \(prefix) is not a string") }
                    guard !(isBuffer && skipped.contains(name)) else { continue }
                    switch tensor {
                    case .tensor(let t): tensors.append((prefix + name, t))
                    case .none: continue
                    case .unsupportedTensor(let why): throw CheckpointError(path, "key \(CheckpointError.quote(prefix + name)): \(why)")
                    default: throw CheckpointError(path, "\(CheckpointError.quote(prefix + name)) is not a tensor (\(tensor))")
                    }
                }
            }
            guard case .dict(let children)? = state["_modules"] else { return }
            for (name, child) in children.entries {
                guard let name = name.string else { throw CheckpointError(path, "a module name in \(prefix) is not a string") }
                switch child {
                case .object(let o): try walk(o, prefix + name + ".")
                case .none: continue
                default: throw CheckpointError(path, "\(CheckpointError.quote(prefix + name)) is not a module (\(child))")
                }
            }
        }
        try walk(root, "")
        guard !tensors.isEmpty else { throw CheckpointError(path, "the pickled model (\(CheckpointError.quote(root.className))) holds no tensors") }
        return tensors
    }
}

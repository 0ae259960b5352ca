/// An ordered map from PyTorch `state_dict` keys to tensors, in the order PyTorch lists them.
/// Mirrors the `OrderedDict` that `torch.nn.Module.state_dict()` returns.
public struct StateDict: Sendable, Equatable {
    /// The keys in order.
    public private(set) var keys: [String] = []
    private var values: [String: Tensor] = [:]

    public init() {}

    /// A state dict from ordered pairs; a repeated key keeps its first position and last value.
    public init(_ pairs: [(String, Tensor)]) {
        for (key, tensor) in pairs { self[key] = tensor }
    }

    /// The tensor under `key`; setting a new key appends it, setting nil removes it.
    public subscript(key: String) -> Tensor? {
        get { values[key] }
        set {
            if let newValue {
                if values.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if values.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    /// Number of entries.
    public var count: Int { keys.count }

    /// The entries in order.
    public var entries: [(key: String, tensor: Tensor)] { keys.map { ($0, values[$0]!) } }
}

/// A value decoded from a Python pickle. Decoding builds data only: no Python callable is ever run; the few
/// allowed globals (`PickleReader.allowedGlobals`) are recognised by name and their effect reproduced here.
public indirect enum PickleValue: CustomStringConvertible {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, little-endian two's complement (the legacy format's magic number).
    case bigInteger([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A reference to an allowed global, e.g. `torch.FloatStorage`, never called.
    case global(String)
    /// A tensor storage named by a persistent id.
    case storage(TorchStorage)
    /// A tensor rebuilt from a storage view.
    case tensor(StoredTensor)
    /// A tensor whose element type is not supported (e.g. complex); an error if it is needed.
    case unsupportedTensor(String)
    /// `numpy.dtype(code)`, used by numpy scalars.
    case numpyDType(String)

    public var description: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "\(i)"
        case .bigInteger: "<big integer>"
        case .float(let d): "\(d)"
        case .string(let s): "'\(s)'"
        case .bytes(let b): "<\(b.count) bytes>"
        case .tuple(let t): "(" + t.map(\.description).joined(separator: ", ") + ")"
        case .list(let l): "[" + l.items.map(\.description).joined(separator: ", ") + "]"
        case .dict(let d): "{" + d.entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .global(let name): name
        case .storage(let s): "<storage \(s.key)>"
        case .tensor(let t): "<tensor \(t.elementType.rawValue) \(t.shape)>"
        case .unsupportedTensor(let why): "<tensor: \(why)>"
        case .numpyDType(let code): "dtype('\(code)')"
        }
    }

    /// The dict, if this is one.
    public var dict: PickleDict? { if case .dict(let d) = self { d } else { nil } }
    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
}

/// A mutable Python list (pickles append to lists after creating them).
public final class PickleList {
    public var items: [PickleValue] = []
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A mutable, insertion-ordered Python dict (also `collections.OrderedDict`). Keys are kept as values;
/// lookups by string key use `subscript(_:)`.
public final class PickleDict {
    public private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    init() {}

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let s = key.string {
            if let i = stringIndex[s] {
                entries[i].value = value
                return
            }
            stringIndex[s] = entries.count
        }
        entries.append((key, value))
    }

    /// The value under string key `key`.
    public subscript(key: String) -> PickleValue? {
        stringIndex[key].map { entries[$0].value }
    }
}

/// A storage referenced by a persistent id: its element type, key (file `data/<key>` in the archive) and
/// element count. The bytes come from the archive.
public struct TorchStorage {
    /// Nil for a storage type outside `ElementType` (complex, quantized), named by `typeName`.
    public let elementType: ElementType?
    public let typeName: String
    public let key: String
    public let count: Int
    public let bytes: [UInt8]
}

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
    /// An instance of a class the pickle names (`torch.save(model)`'s modules), made without the class: its name and
    /// the state `BUILD` gave it. No method of the class is ever run.
    case object(PickleObject)

    /// At most `descriptionLimit` characters: values come from files, which may hold millions of items.
    public var description: String {
        var text = ""
        describe(into: &text)
        return text.count > Self.descriptionLimit ? String(text.prefix(Self.descriptionLimit)) + "…" : text
    }

    /// The longest description, in characters.
    public static let descriptionLimit = 200

    /// Appends the description, stopping once the text is past the limit.
    private func describe(into text: inout String) {
        guard text.utf8.count <= Self.descriptionLimit else { return }
        func items(_ values: [PickleValue], _ open: String, _ close: String) {
            text += open
            for (i, value) in values.enumerated() {
                guard text.utf8.count <= Self.descriptionLimit else { break }
                if i > 0 { text += ", " }
                value.describe(into: &text)
            }
            text += close
        }
        switch self {
        case .none: text += "None"
        case .bool(let b): text += b ? "True" : "False"
        case .int(let i): text += "\(i)"
        case .bigInteger: text += "<big integer>"
        case .float(let d): text += "\(d)"
        case .string(let s): text += "'" + CheckpointError.printable(s.prefix(Self.descriptionLimit)) + "'"
        case .bytes(let b): text += "<\(b.count) bytes>"
        case .tuple(let t): items(t, "(", ")")
        case .list(let l): items(l.items, "[", "]")
        case .dict(let d):
            text += "{"
            for (i, entry) in d.entries.enumerated() {
                guard text.utf8.count <= Self.descriptionLimit else { break }
                if i > 0 { text += ", " }
                entry.key.describe(into: &text)
                text += ": "
                entry.value.describe(into: &text)
            }
            text += "}"
        case .global(let name): text += CheckpointError.printable(name.prefix(Self.descriptionLimit))
        case .storage(let s): text += "<storage \(CheckpointError.printable(s.key.prefix(Self.descriptionLimit)))>"
        case .tensor(let t): text += "<tensor \(t.elementType.rawValue) \(t.shape)>"
        case .unsupportedTensor(let why): text += "<tensor: \(why)>"
        case .numpyDType(let code): text += "dtype('\(CheckpointError.printable(code.prefix(Self.descriptionLimit)))')"
        case .object(let o): text += "<\(CheckpointError.printable(o.className.prefix(Self.descriptionLimit))) object>"
        }
    }

    /// The dict, if this is one.
    public var dict: PickleDict? { if case .dict(let d) = self { d } else { nil } }
    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
}

/// An object made by `NEWOBJ` from a class reference and given its state by one `BUILD` (see `PickleValue.object`);
/// measured and sealed like a container.
public final class PickleObject {
    public let className: String
    public internal(set) var state: PickleValue?
    var depth = 1, weight = 1
    var sealed = false
    init(className: String) { self.className = className }
}

/// A mutable Python list (pickles append to lists after creating them). `PickleReader` measures what it
/// holds and seals it once it is placed inside another value (see `PickleReader`).
public final class PickleList {
    public internal(set) var items: [PickleValue] = []
    /// Nesting levels, this list included, and nodes of the fully expanded tree.
    var depth = 1, weight = 1
    var sealed = false
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A mutable, insertion-ordered Python dict (also `collections.OrderedDict`). Keys are kept as values;
/// lookups by string key use `subscript(_:)`.
public final class PickleDict {
    public private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]
    /// Nesting levels, this dict included, and nodes of the fully expanded tree (see `PickleList`).
    var depth = 1, weight = 1
    var sealed = false

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

import Foundation
import ONNXProto

/// An ONNX graph being written: its nodes in order and its initializers (weights and constants), each under a
/// name no other node, value or initializer has.
struct ONNXGraphWriter {
    private(set) var nodes: [Onnx_NodeProto] = []
    private(set) var initializers: [Onnx_TensorProto] = []
    private var names: Set<String>

    /// `reserved`: names already taken (the graph's input and output).
    init(reserved: Set<String>) { names = reserved }

    /// `base`, or `base_2`, `base_3`, ... if taken; the name is taken from then on.
    mutating func unique(_ base: String) -> String {
        var name = base
        var suffix = 2
        while names.contains(name) {
            name = "\(base)_\(suffix)"
            suffix += 1
        }
        names.insert(name)
        return name
    }

    /// Appends an `opType` node reading `inputs` (`""`: an optional input left out) and returns the name of its
    /// output: `output` if given (already reserved), else a new name after the node's.
    @discardableResult
    mutating func node(_ opType: String, _ inputs: [String], name: String, output: String? = nil,
                       attributes: [Onnx_AttributeProto] = []) -> String {
        var node = Onnx_NodeProto()
        node.opType = opType
        node.name = unique(name)
        node.input = inputs
        node.output = [output ?? unique(node.name + ":out")]
        node.attribute = attributes
        nodes.append(node)
        return node.output[0]
    }

    /// A float32 initializer of `shape`; returns its name (`name` must be unique: a model key).
    @discardableResult
    mutating func float(_ name: String, shape: [Int], _ values: [Float]) -> String {
        precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
        var tensor = Onnx_TensorProto()
        tensor.name = unique(name)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        tensor.dims = shape.map(Int64.init)
        tensor.rawData = values.withUnsafeBytes { Data($0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// A 1-D int64 constant; returns its name.
    mutating func int64(_ values: [Int], name: String) -> String {
        var tensor = Onnx_TensorProto()
        tensor.name = unique(name)
        tensor.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        tensor.dims = [Int64(values.count)]
        tensor.rawData = values.map { Int64($0).littleEndian }.withUnsafeBytes { Data($0) }
        initializers.append(tensor)
        return tensor.name
    }

    /// Moves the data of every initializer of at least `minimumBytes` into one blob, each recorded as external data
    /// at its offset in a file named `location` (beside the model), and returns the blob.
    mutating func externalizeInitializers(location: String, minimumBytes: Int) -> Data {
        var blob = Data()
        for index in initializers.indices where initializers[index].rawData.count >= minimumBytes {
            let raw = initializers[index].rawData
            // ONNX Runtime maps external data page-aligned when it can; 4 KiB alignment lets it.
            blob.append(Data(count: (4096 - blob.count % 4096) % 4096))
            initializers[index].externalData = [
                Self.entry("location", location), Self.entry("offset", String(blob.count)), Self.entry("length", String(raw.count)),
            ]
            initializers[index].dataLocation = .external
            initializers[index].rawData = Data()
            blob.append(raw)
        }
        return blob
    }

    /// A key-value entry (external data locations, model metadata).
    static func entry(_ key: String, _ value: String) -> Onnx_StringStringEntryProto {
        var entry = Onnx_StringStringEntryProto()
        (entry.key, entry.value) = (key, value)
        return entry
    }

    static func attribute(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.ints) = (name, .ints, ints.map(Int64.init))
        return a
    }

    static func attribute(_ name: String, int: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.i) = (name, .int, Int64(int))
        return a
    }

    static func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.f) = (name, .float, float)
        return a
    }

    static func attribute(_ name: String, string: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        (a.name, a.type, a.s) = (name, .string, Data(string.utf8))
        return a
    }
}

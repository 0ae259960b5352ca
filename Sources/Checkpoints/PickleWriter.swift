/// Writes the pickle of a PyTorch state dict as `torch.save` does (protocol 2): an `OrderedDict` of
/// `_rebuild_tensor_v2` calls whose storages are persistent ids `('storage', torch.<Type>Storage, key, 'cpu',
/// numel)`, storage `key` being the archive entry `data/<key>`.
enum PickleWriter {
    static func storageTypeName(_ type: ElementType) -> String {
        switch type {
        case .float32: "FloatStorage"
        case .float16: "HalfStorage"
        case .bfloat16: "BFloat16Storage"
        case .float64: "DoubleStorage"
        case .int64: "LongStorage"
        case .int32: "IntStorage"
        case .int16: "ShortStorage"
        case .int8: "CharStorage"
        case .uint8: "ByteStorage"
        case .bool: "BoolStorage"
        }
    }

    /// The pickle of an ordered state dict; tensor `i` is stored under key `"\(i)"`.
    static func stateDict(_ tensors: [(key: String, tensor: StoredTensor)]) -> [UInt8] {
        var out: [UInt8] = [0x80, 2]
        var memo: [String: Int] = [:]
        func global(_ module: String, _ name: String) {
            let id = module + "." + name
            if let index = memo[id] {
                out += [UInt8(ascii: "j")] + le32(index)  // LONG_BINGET
            } else {
                out += [UInt8(ascii: "c")] + Array("\(module)\n\(name)\n".utf8)
                memo[id] = memo.count
                out += [UInt8(ascii: "r")] + le32(memo[id]!)  // LONG_BINPUT
            }
        }
        func string(_ s: String) { out += [UInt8(ascii: "X")] + le32(s.utf8.count) + Array(s.utf8) }
        func int(_ v: Int) {
            if v >= 0 && v < 256 {
                out += [UInt8(ascii: "K"), UInt8(v)]
            } else if v >= Int(Int32.min) && v <= Int(Int32.max) {
                out += [UInt8(ascii: "J")] + le32(v)
            } else {
                out += [0x8A, 8] + (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
            }
        }
        func tuple(_ values: [Int]) {
            out.append(UInt8(ascii: "("))
            values.forEach(int)
            out.append(UInt8(ascii: "t"))
        }
        global("collections", "OrderedDict")
        out += [UInt8(ascii: ")"), UInt8(ascii: "R"), UInt8(ascii: "(")]  // OrderedDict(), MARK
        for (index, entry) in tensors.enumerated() {
            string(entry.key)
            global("torch._utils", "_rebuild_tensor_v2")
            out.append(UInt8(ascii: "("))
            out.append(UInt8(ascii: "("))
            string("storage")
            global("torch", storageTypeName(entry.tensor.elementType))
            string("\(index)")
            string("cpu")
            int(entry.tensor.shape.reduce(1, *))
            out += [UInt8(ascii: "t"), UInt8(ascii: "Q")]  // TUPLE, BINPERSID
            int(0)
            tuple(entry.tensor.shape)
            tuple(TensorView.rowMajorStrides(entry.tensor.shape))
            out.append(0x89)  // requires_grad=False
            global("collections", "OrderedDict")
            out += [UInt8(ascii: ")"), UInt8(ascii: "R")]  // backward_hooks = OrderedDict()
            out += [UInt8(ascii: "t"), UInt8(ascii: "R")]
        }
        out += [UInt8(ascii: "u"), UInt8(ascii: ".")]  // SETITEMS, STOP
        return out
    }

    private static func le32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
}

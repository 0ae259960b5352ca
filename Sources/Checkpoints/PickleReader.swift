/// Decodes the subset of Python's pickle format that `torch.save` produces (protocol 2; the protocol 4
/// opcodes too), without executing anything. A `GLOBAL` outside `allowedGlobals` stops decoding with an
/// error naming it; the allowed ones are reproduced in Swift (see `reduce`).
struct PickleReader {
    /// Why a pickle cannot be decoded; the caller adds the file name.
    struct Failure: Error { let reason: String }

    /// Resolves a persistent id (a tensor storage reference) to a value.
    typealias PersistentLoad = (PickleValue) throws(Failure) -> PickleValue

    /// The callables a state-dict pickle may name. Storage types (`torch.FloatStorage`, ...) are also
    /// allowed as type tags (see `storageTypes`).
    static let allowedGlobals: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
        // numpy scalars (nnU-Net's training logs) and the latin-1 bytes they carry
        "numpy.dtype", "numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar", "_codecs.encode",
        // the device a checkpoint was trained on (nnU-Net's init_args)
        "torch.device",
        // the set of a pickled module's non-persistent buffers
        "builtins.set", "__builtin__.set",
    ]

    /// Storage type names and the element type of their data (nil: a type we do not read, e.g. complex).
    static func storageType(_ name: String) -> ElementType?? {
        switch name {
        case "torch.FloatStorage": .some(.float32)
        case "torch.HalfStorage": .some(.float16)
        case "torch.BFloat16Storage": .some(.bfloat16)
        case "torch.DoubleStorage": .some(.float64)
        case "torch.LongStorage": .some(.int64)
        case "torch.IntStorage": .some(.int32)
        case "torch.ShortStorage": .some(.int16)
        case "torch.CharStorage": .some(.int8)
        case "torch.ByteStorage": .some(.uint8)
        case "torch.BoolStorage": .some(.bool)
        default: name.hasPrefix("torch.") && name.hasSuffix("Storage") ? .some(nil) : nil
        }
    }

    /// Bounds on what one pickle may build, so that a small file cannot make a huge or endless structure.
    struct Limits {
        /// Nesting levels of any value (state dicts need about 6; Python's own limit is about 1000 frames).
        var depth = 100
        /// Nodes of any value's fully expanded tree: 80 `DUP` + `TUPLE2` pairs make a 2^80-node tuple from
        /// 160 bytes, which anything walking it would never finish.
        var weight = 1 << 24
        /// Values and memo entries created in all (each costs tens of bytes, each opcode one byte).
        var allocations = 1 << 22
        /// Bytes of tensor data the pickle's views may materialise in all: no more than the file holds, so
        /// overlapping (stride-0) views of one storage cannot ask for gigabytes.
        var tensorBytes: Int
    }

    /// A value on the stack or in the memo, with the measure of a tuple (lists and dicts carry their own).
    private struct Entry {
        var value: PickleValue
        var depth = 1
        var weight = 1
    }

    private var reader: ByteReader
    private let persistentLoad: PersistentLoad
    private var limits: Limits
    private var allocations = 0
    private var stack: [Entry] = []
    private var marks: [Int] = []
    private var memo: [Int: Entry] = [:]
    /// Tensors already rebuilt, by storage, offset, size and stride: a view named again (nnU-Net's aliased keys: one
    /// tensor under several names) is the same tensor, sharing its bytes, and costs the budget nothing more.
    private var views: [String: PickleValue] = [:]

    /// Decodes one pickle starting at `offset`; on return `offset` is just past its STOP opcode.
    /// - Parameter tensorBytes: the most bytes of tensor data the pickle may materialise (`Limits.tensorBytes`).
    static func read(_ bytes: [UInt8], offset: inout Int, tensorBytes: Int,
                     persistentLoad: @escaping PersistentLoad) throws(Failure) -> PickleValue {
        var machine = PickleReader(reader: ByteReader(bytes, offset: offset), persistentLoad: persistentLoad,
                                   limits: Limits(tensorBytes: tensorBytes))
        let value = try machine.run()
        offset = machine.reader.offset
        return value
    }

    private init(reader: ByteReader, persistentLoad: @escaping PersistentLoad, limits: Limits) {
        self.reader = reader
        self.persistentLoad = persistentLoad
        self.limits = limits
    }

    // MARK: - The machine

    private mutating func run() throws(Failure) -> PickleValue {
        while true {
            let position = reader.offset
            do {
                let opcode = try reader.uint8()
                if opcode == UInt8(ascii: ".") { return try pop().value }
                try execute(opcode)
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(reason: "truncated pickle (at byte \(position))")
            }
        }
    }

    private mutating func execute(_ opcode: UInt8) throws {
        switch opcode {
        case 0x80: _ = try reader.uint8()  // PROTO
        case 0x95: _ = try reader.uint64()  // FRAME
        case UInt8(ascii: "("): try count(); marks.append(stack.count)  // MARK
        case UInt8(ascii: "N"): try push(.none)
        case 0x88: try push(.bool(true))
        case 0x89: try push(.bool(false))
        case UInt8(ascii: "J"): try push(.int(Int(Int32(truncatingIfNeeded: try reader.unsigned(4)))))  // BININT
        case UInt8(ascii: "K"): try push(.int(Int(try reader.uint8())))  // BININT1
        case UInt8(ascii: "M"): try push(.int(try reader.uint16()))  // BININT2
        case 0x8A: try push(try long(Int(try reader.uint8())))  // LONG1
        case 0x8B: try push(try long(try reader.uint32()))  // LONG4
        case UInt8(ascii: "G"):  // BINFLOAT, big-endian
            try push(.float(Double(bitPattern: try reader.unsigned(8).byteSwapped)))
        case UInt8(ascii: "X"): try push(.string(try text(try reader.uint32())))  // BINUNICODE
        case 0x8C: try push(.string(try text(Int(try reader.uint8()))))  // SHORT_BINUNICODE
        case 0x8D: try push(.string(try text(Int(clamping: try reader.uint64()))))  // BINUNICODE8
        case UInt8(ascii: "T"), UInt8(ascii: "B"): try push(try byteString(try reader.uint32(), opcode))
        case UInt8(ascii: "U"), UInt8(ascii: "C"): try push(try byteString(Int(try reader.uint8()), opcode))
        case 0x8E: try push(.bytes(Array(try reader.take(Int(clamping: try reader.uint64())))))  // BINBYTES8
        case UInt8(ascii: ")"): try push(.tuple([]))
        case UInt8(ascii: "t"): try pushTuple(try popToMark())
        case 0x85: try pushTuple([try pop()])
        case 0x86: let b = try pop(); let a = try pop(); try pushTuple([a, b])
        case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); try pushTuple([a, b, c])
        case UInt8(ascii: "]"), 0x8F: try push(.list(PickleList()))  // EMPTY_LIST; EMPTY_SET, kept as a list
        case UInt8(ascii: "l"), 0x91:  // LIST; FROZENSET, kept as a list
            let list = PickleList()
            try append(try popToMark(), to: list)
            try push(.list(list))
        case UInt8(ascii: "a"): let item = try pop(); try append([item], to: try list(try top()))  // APPEND
        case UInt8(ascii: "e"), 0x90: let items = try popToMark(); try append(items, to: try list(try top()))  // APPENDS, ADDITEMS
        case UInt8(ascii: "}"): try push(.dict(PickleDict()))
        case UInt8(ascii: "d"):  // DICT
            let dict = PickleDict()
            try setItems(try popToMark(), in: dict)
            try push(.dict(dict))
        case UInt8(ascii: "s"): let v = try pop(); let k = try pop(); try setItems([k, v], in: try dict(try top()))  // SETITEM
        case UInt8(ascii: "u"): let items = try popToMark(); try setItems(items, in: try dict(try top()))  // SETITEMS
        case UInt8(ascii: "q"): try remember(Int(try reader.uint8()))  // BINPUT
        case UInt8(ascii: "r"): try remember(try reader.uint32())  // LONG_BINPUT
        case 0x94: try remember(memo.count)  // MEMOIZE
        case UInt8(ascii: "h"): try push(try recall(Int(try reader.uint8())))  // BINGET
        case UInt8(ascii: "j"): try push(try recall(try reader.uint32()))  // LONG_BINGET
        case UInt8(ascii: "c"):  // GLOBAL "module\nname\n"
            let module = try line()
            try push(try global(module + "." + (try line())))
        case 0x93: let name = try pop().value; let module = try pop().value  // STACK_GLOBAL
            guard let m = module.string, let n = name.string else { throw Failure(reason: "malformed STACK_GLOBAL") }
            try push(try global(m + "." + n))
        case UInt8(ascii: "R"): let arguments = try pop(); let callable = try pop().value  // REDUCE
            try push(try reduce(callable, arguments))
        case 0x81: let arguments = try pop(); let callable = try pop().value  // NEWOBJ
            try push(try newObject(callable, arguments))
        case UInt8(ascii: "b"): let state = try pop(); try build(state, on: try top().value)  // BUILD
        case UInt8(ascii: "Q"): try push(try persistentLoad(try pop().value))  // BINPERSID
        case UInt8(ascii: "0"): _ = try pop()  // POP
        case UInt8(ascii: "2"): try push(try top())  // DUP
        default:
            throw Failure(reason: "unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(reader.offset - 1)")
        }
    }

    // MARK: - Stack and memo

    /// Counts one more value or memo entry against `limits.allocations`.
    private mutating func count() throws(Failure) {
        allocations += 1
        guard allocations <= limits.allocations else {
            throw Failure(reason: "pickle creates more than \(limits.allocations) values, more than any checkpoint holds")
        }
    }

    private mutating func push(_ value: PickleValue) throws(Failure) { try push(Entry(value: value)) }

    private mutating func push(_ entry: Entry) throws(Failure) {
        try count()
        stack.append(entry)
    }

    private mutating func pop() throws(Failure) -> Entry {
        guard let entry = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw Failure(reason: "malformed pickle (stack underflow at byte \(reader.offset))")
        }
        return entry
    }

    private func top() throws(Failure) -> Entry {
        guard let entry = stack.last else { throw Failure(reason: "malformed pickle (empty stack)") }
        return entry
    }

    private mutating func popToMark() throws(Failure) -> [Entry] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw Failure(reason: "malformed pickle (no mark)") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private mutating func remember(_ index: Int) throws(Failure) {
        try count()
        memo[index] = try top()
    }

    private func recall(_ index: Int) throws(Failure) -> Entry {
        guard let entry = memo[index] else { throw Failure(reason: "malformed pickle (memo \(index) unset)") }
        return entry
    }

    private func list(_ entry: Entry) throws(Failure) -> PickleList {
        guard case .list(let l) = entry.value else { throw Failure(reason: "malformed pickle (append to \(entry.value))") }
        return l
    }

    private func dict(_ entry: Entry) throws(Failure) -> PickleDict {
        guard case .dict(let d) = entry.value else { throw Failure(reason: "malformed pickle (set item on \(entry.value))") }
        return d
    }

    // MARK: - Nesting
    //
    // Every value is measured as it is built: its nesting depth and the node count of its expanded tree. A list
    // or dict is sealed once it is placed inside another value and may not change after, and nothing is placed
    // inside itself; so no value can be cyclic, and every measure is exact. `torch.save` never changes a
    // container after nesting it (pickle writes each object whole where it first appears); only recursive
    // structures, which no state dict has, would need it.

    /// The measure of `entry`'s value: a container's own, else the entry's.
    private static func measure(_ entry: Entry) -> (depth: Int, weight: Int) {
        switch entry.value {
        case .list(let l): (l.depth, l.weight)
        case .dict(let d): (d.depth, d.weight)
        case .object(let o): (o.depth, o.weight)
        default: (entry.depth, entry.weight)
        }
    }

    /// Seals the containers among `children`, refusing `parent` itself, and returns their deepest depth and
    /// total weight.
    private func nest(_ children: [Entry], in parent: AnyObject?) throws(Failure) -> (depth: Int, weight: Int) {
        var (depth, weight) = (0, 0)
        for child in children {
            switch child.value {
            case .list(let l):
                guard l !== parent else { throw Failure(reason: "pickle puts a list inside itself (a cyclic structure)") }
                l.sealed = true
            case .dict(let d):
                guard d !== parent else { throw Failure(reason: "pickle puts a dict inside itself (a cyclic structure)") }
                d.sealed = true
            case .object(let o):
                guard o !== parent else { throw Failure(reason: "pickle puts an object inside itself (a cyclic structure)") }
                o.sealed = true
            default: break
            }
            let measure = Self.measure(child)
            depth = max(depth, measure.depth)
            weight = weight &+ measure.weight
            guard weight >= 0, weight <= limits.weight else { throw tooLarge() }
        }
        return (depth, weight)
    }

    /// A parent of `depth` levels and `weight` nodes, checked against the limits.
    private func checked(depth: Int, weight: Int) throws(Failure) -> (depth: Int, weight: Int) {
        guard depth <= limits.depth else {
            throw Failure(reason: "pickle nests values more than \(limits.depth) levels deep; no checkpoint does")
        }
        guard weight >= 0, weight <= limits.weight else { throw tooLarge() }
        return (depth, weight)
    }

    private func tooLarge() -> Failure {
        Failure(reason: "pickle builds a structure of more than \(limits.weight) values (repeated references)")
    }

    private mutating func pushTuple(_ items: [Entry]) throws(Failure) {
        let (depth, weight) = try nest(items, in: nil)
        let measure = try checked(depth: depth + 1, weight: weight &+ 1)
        try push(Entry(value: .tuple(items.map(\.value)), depth: measure.depth, weight: measure.weight))
    }

    private func append(_ items: [Entry], to list: PickleList) throws(Failure) {
        guard !list.sealed else { throw changedAfterNesting("list") }
        let (depth, weight) = try nest(items, in: list)
        (list.depth, list.weight) = try checked(depth: max(list.depth, depth + 1), weight: list.weight &+ weight)
        list.items += items.map(\.value)
    }

    private func setItems(_ items: [Entry], in dict: PickleDict) throws(Failure) {
        guard !dict.sealed else { throw changedAfterNesting("dict") }
        guard items.count % 2 == 0 else { throw Failure(reason: "malformed pickle (odd SETITEMS)") }
        let (depth, weight) = try nest(items, in: dict)
        (dict.depth, dict.weight) = try checked(depth: max(dict.depth, depth + 1), weight: dict.weight &+ weight)
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i].value, items[i + 1].value) }
    }

    private func changedAfterNesting(_ kind: String) -> Failure {
        Failure(reason: "pickle changes a \(kind) after placing it inside another value (a cyclic or self-changing "
            + "structure, which no state dict has)")
    }

    // MARK: - Literals

    private mutating func long(_ width: Int) throws -> PickleValue {
        let bytes = Array(try reader.take(width))
        guard width <= 8 else { return .bigInteger(bytes) }
        guard width > 0 else { return .int(0) }
        var value: UInt64 = 0
        for (i, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(i)) }
        let shift = UInt64(64 - 8 * width)
        return .int(Int(Int64(bitPattern: value << shift) >> Int64(shift)))  // sign-extend
    }

    private mutating func text(_ count: Int) throws -> String {
        String(decoding: try reader.take(count), as: UTF8.self)
    }

    private mutating func byteString(_ count: Int, _ opcode: UInt8) throws -> PickleValue {
        let bytes = Array(try reader.take(count))
        // BINSTRING/SHORT_BINSTRING are Python 2 str (text); BINBYTES/SHORT_BINBYTES are bytes.
        return opcode == UInt8(ascii: "T") || opcode == UInt8(ascii: "U")
            ? .string(String(decoding: bytes, as: UTF8.self)) : .bytes(bytes)
    }

    private mutating func line() throws -> String {
        var bytes: [UInt8] = []
        while true {
            let byte = try reader.uint8()
            if byte == UInt8(ascii: "\n") { break }
            bytes.append(byte)
            guard bytes.count < 256 else { throw Failure(reason: "malformed GLOBAL name") }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Globals

    private func global(_ name: String) throws(Failure) -> PickleValue {
        guard Self.allowedGlobals.contains(name) || Self.storageType(name) != nil || Self.isClassName(name) else {
            throw Failure(reason: "pickle names global \(CheckpointError.quote(name)), which is not allowed (only tensor data is read; nothing is executed)")
        }
        return .global(name)
    }

    /// Whether `name` reads as a class (`package.module.ClassName`): a pickled module's class, which `NEWOBJ` may
    /// instantiate as an inert `PickleValue.object` and nothing may call.
    static func isClassName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } }),
              let first = parts.last?.first else { return false }
        return first.isUppercase
    }

    /// `cls.__new__(cls)` for a class reference: an empty object of that class's name (`torch.save(model)` makes each
    /// module so, then gives it its `__dict__` by `BUILD`).
    private mutating func newObject(_ callable: PickleValue, _ arguments: Entry) throws(Failure) -> Entry {
        if case .global(let name) = callable, Self.allowedGlobals.contains(name) { return try reduce(callable, arguments) }
        guard case .global(let name) = callable, Self.isClassName(name), case .tuple(let args) = arguments.value, args.isEmpty else {
            throw Failure(reason: "pickle makes an object of \(callable) with \(arguments.value), which is not allowed")
        }
        try count()
        return Entry(value: .object(PickleObject(className: name)))
    }

    /// Reproduces the effect of calling an allowed global.
    private mutating func reduce(_ callable: PickleValue, _ arguments: Entry) throws(Failure) -> Entry {
        guard case .global(let name) = callable, case .tuple(let args) = arguments.value else {
            throw Failure(reason: "pickle calls \(callable), which is not allowed")
        }
        switch name {
        case "collections.OrderedDict":
            let dict = PickleDict()
            if case .list(let items)? = args.first {
                for item in items.items {
                    guard case .tuple(let pair) = item, pair.count == 2 else { throw Failure(reason: "malformed OrderedDict") }
                    dict.set(pair[0], pair[1])
                }
                (dict.depth, dict.weight) = (items.depth, items.weight)
            }
            return Entry(value: .dict(dict))
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard args.count >= 4, case .storage(let storage) = args[0] else { throw Failure(reason: "malformed _rebuild_tensor arguments") }
            func integers(_ value: PickleValue) -> [Int]? {
                switch value {
                case .int(let i): [i]
                case .tuple(let items): items.allSatisfy { if case .int = $0 { true } else { false } }
                    ? items.compactMap { if case .int(let i) = $0 { i } else { nil } } : nil
                default: nil
                }
            }
            let layout = args[1...3].map(integers)
            let key = layout.contains { $0 == nil } ? nil
                : "\(storage.key)|\(storage.typeName)|" + layout.map { $0!.map(String.init).joined(separator: ",") }.joined(separator: "|")
            if let key, let tensor = views[key] { return Entry(value: tensor) }
            let tensor = try TensorView.rebuild(args, budget: &limits.tensorBytes)
            if let key { views[key] = tensor }
            return Entry(value: tensor)
        case "builtins.set", "__builtin__.set":
            // A module's _non_persistent_buffers_set: its items, as a list.
            guard args.count <= 1 else { throw Failure(reason: "malformed set") }
            guard case .list(let items)? = args.first else { return Entry(value: .list(PickleList())) }
            return Entry(value: .list(items), depth: arguments.depth, weight: arguments.weight)
        case "torch.device":
            // nnU-Net's checkpoints record the training device (`torch.device('cuda', 0)`): kept as its name, inert.
            guard let type = args.first?.string, args.count <= 2 else { throw Failure(reason: "malformed torch.device") }
            return Entry(value: .string(args.count == 2 ? "\(type):\(args[1])" : type))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = args.first else { throw Failure(reason: "malformed _rebuild_parameter") }
            return Entry(value: data, depth: arguments.depth, weight: arguments.weight)
        case "numpy.dtype":
            guard let code = args.first?.string else { throw Failure(reason: "malformed numpy.dtype") }
            return Entry(value: .numpyDType(code))
        case "numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar":
            return Entry(value: try numpyScalar(args))
        case "_codecs.encode":
            guard args.count == 2, let text = args[0].string, args[1].string == "latin1",
                text.unicodeScalars.allSatisfy({ $0.value < 256 })
            else { throw Failure(reason: "malformed _codecs.encode") }
            return Entry(value: .bytes(text.unicodeScalars.map { UInt8($0.value) }))
        default:
            throw Failure(reason: "pickle calls \(CheckpointError.quote(name)), which is not allowed")
        }
    }

    /// BUILD sets attributes: an object's state (once, before it is placed anywhere), or on a state dict
    /// (`_metadata`), a tensor or a numpy dtype, nothing recorded.
    private mutating func build(_ state: Entry, on object: PickleValue) throws(Failure) {
        switch object {
        case .object(let o):
            guard !o.sealed, o.state == nil else { throw changedAfterNesting("object") }
            let (depth, weight) = try nest([state], in: o)
            (o.depth, o.weight) = try checked(depth: max(o.depth, depth + 1), weight: o.weight &+ weight)
            o.state = state.value
        case .dict, .tensor, .unsupportedTensor, .numpyDType: return
        default: throw Failure(reason: "pickle sets state on \(object), which is not allowed")
        }
    }

    private func numpyScalar(_ args: [PickleValue]) throws(Failure) -> PickleValue {
        guard args.count == 2, case .numpyDType(let code) = args[0], case .bytes(let raw) = args[1] else {
            throw Failure(reason: "malformed numpy scalar")
        }
        var reader = ByteReader(raw)
        do {
            switch code {
            case "f8": return .float(Double(bitPattern: try reader.uint64()))
            case "f4": return .float(Double(Float(bitPattern: UInt32(try reader.uint32()))))
            case "i8": return .int(Int(Int64(bitPattern: try reader.uint64())))
            case "i4": return .int(Int(Int32(truncatingIfNeeded: try reader.uint32())))
            case "b1": return .bool(try reader.uint8() != 0)
            default: throw Failure(reason: "unsupported numpy scalar type \(CheckpointError.quote(code))")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(reason: "malformed numpy scalar")
        }
    }
}

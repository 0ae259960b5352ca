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

    private var reader: ByteReader
    private let persistentLoad: PersistentLoad
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]

    /// Decodes one pickle starting at `offset`; on return `offset` is just past its STOP opcode.
    static func read(_ bytes: [UInt8], offset: inout Int, persistentLoad: @escaping PersistentLoad) throws(Failure)
        -> PickleValue
    {
        var machine = PickleReader(reader: ByteReader(bytes, offset: offset), persistentLoad: persistentLoad)
        let value = try machine.run()
        offset = machine.reader.offset
        return value
    }

    private init(reader: ByteReader, persistentLoad: @escaping PersistentLoad) {
        self.reader = reader
        self.persistentLoad = persistentLoad
    }

    // MARK: - The machine

    private mutating func run() throws(Failure) -> PickleValue {
        while true {
            let position = reader.offset
            do {
                let opcode = try reader.uint8()
                if opcode == UInt8(ascii: ".") { return try pop() }
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
        case UInt8(ascii: "("): marks.append(stack.count)  // MARK
        case UInt8(ascii: "N"): stack.append(.none)
        case 0x88: stack.append(.bool(true))
        case 0x89: stack.append(.bool(false))
        case UInt8(ascii: "J"): stack.append(.int(Int(Int32(truncatingIfNeeded: try reader.unsigned(4)))))  // BININT
        case UInt8(ascii: "K"): stack.append(.int(Int(try reader.uint8())))  // BININT1
        case UInt8(ascii: "M"): stack.append(.int(try reader.uint16()))  // BININT2
        case 0x8A: stack.append(try long(Int(try reader.uint8())))  // LONG1
        case 0x8B: stack.append(try long(try reader.uint32()))  // LONG4
        case UInt8(ascii: "G"):  // BINFLOAT, big-endian
            stack.append(.float(Double(bitPattern: try reader.unsigned(8).byteSwapped)))
        case UInt8(ascii: "X"): stack.append(.string(try text(try reader.uint32())))  // BINUNICODE
        case 0x8C: stack.append(.string(try text(Int(try reader.uint8()))))  // SHORT_BINUNICODE
        case 0x8D: stack.append(.string(try text(Int(clamping: try reader.uint64()))))  // BINUNICODE8
        case UInt8(ascii: "T"), UInt8(ascii: "B"): stack.append(try byteString(try reader.uint32(), opcode))
        case UInt8(ascii: "U"), UInt8(ascii: "C"): stack.append(try byteString(Int(try reader.uint8()), opcode))
        case 0x8E: stack.append(.bytes(Array(try reader.take(Int(clamping: try reader.uint64())))))  // BINBYTES8
        case UInt8(ascii: ")"): stack.append(.tuple([]))
        case UInt8(ascii: "t"): stack.append(.tuple(try popToMark()))
        case 0x85: stack.append(.tuple([try pop()]))
        case 0x86: let b = try pop(); let a = try pop(); stack.append(.tuple([a, b]))
        case 0x87: let c = try pop(); let b = try pop(); let a = try pop(); stack.append(.tuple([a, b, c]))
        case UInt8(ascii: "]"): stack.append(.list(PickleList()))
        case UInt8(ascii: "l"): stack.append(.list(PickleList(try popToMark())))
        case UInt8(ascii: "a"): let item = try pop(); try list(try top()).items.append(item)  // APPEND
        case UInt8(ascii: "e"): let items = try popToMark(); try list(try top()).items += items  // APPENDS
        case 0x8F: stack.append(.list(PickleList()))  // EMPTY_SET, kept as a list
        case 0x90: let items = try popToMark(); try list(try top()).items += items  // ADDITEMS
        case 0x91: stack.append(.list(PickleList(try popToMark())))  // FROZENSET
        case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))
        case UInt8(ascii: "d"): stack.append(.dict(try pairs(try popToMark(), into: PickleDict())))  // DICT
        case UInt8(ascii: "s"): let v = try pop(); let k = try pop(); try dict(try top()).set(k, v)  // SETITEM
        case UInt8(ascii: "u"): _ = try pairs(try popToMark(), into: try dict(try top()))  // SETITEMS
        case UInt8(ascii: "q"): memo[Int(try reader.uint8())] = try top()  // BINPUT
        case UInt8(ascii: "r"): memo[try reader.uint32()] = try top()  // LONG_BINPUT
        case 0x94: memo[memo.count] = try top()  // MEMOIZE
        case UInt8(ascii: "h"): stack.append(try recall(Int(try reader.uint8())))  // BINGET
        case UInt8(ascii: "j"): stack.append(try recall(try reader.uint32()))  // LONG_BINGET
        case UInt8(ascii: "c"):  // GLOBAL "module\nname\n"
            let module = try line()
            stack.append(try global(module + "." + (try line())))
        case 0x93: let name = try pop(); let module = try pop()  // STACK_GLOBAL
            guard let m = module.string, let n = name.string else { throw Failure(reason: "malformed STACK_GLOBAL") }
            stack.append(try global(m + "." + n))
        case UInt8(ascii: "R"), 0x81: let arguments = try pop(); let callable = try pop()  // REDUCE, NEWOBJ
            stack.append(try reduce(callable, arguments))
        case UInt8(ascii: "b"): try build(try pop(), on: try top())  // BUILD
        case UInt8(ascii: "Q"): stack.append(try persistentLoad(try pop()))  // BINPERSID
        case UInt8(ascii: "0"): _ = try pop()  // POP
        case UInt8(ascii: "2"): stack.append(try top())  // DUP
        default:
            throw Failure(reason: "unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(reader.offset - 1)")
        }
    }

    // MARK: - Stack helpers

    private mutating func pop() throws(Failure) -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else {
            throw Failure(reason: "malformed pickle (stack underflow at byte \(reader.offset))")
        }
        return value
    }

    private func top() throws(Failure) -> PickleValue {
        guard let value = stack.last else { throw Failure(reason: "malformed pickle (empty stack)") }
        return value
    }

    private mutating func popToMark() throws(Failure) -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw Failure(reason: "malformed pickle (no mark)") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func recall(_ index: Int) throws(Failure) -> PickleValue {
        guard let value = memo[index] else { throw Failure(reason: "malformed pickle (memo \(index) unset)") }
        return value
    }

    private func list(_ value: PickleValue) throws(Failure) -> PickleList {
        guard case .list(let l) = value else { throw Failure(reason: "malformed pickle (append to \(value))") }
        return l
    }

    private func dict(_ value: PickleValue) throws(Failure) -> PickleDict {
        guard case .dict(let d) = value else { throw Failure(reason: "malformed pickle (set item on \(value))") }
        return d
    }

    private func pairs(_ items: [PickleValue], into dict: PickleDict) throws(Failure) -> PickleDict {
        guard items.count % 2 == 0 else { throw Failure(reason: "malformed pickle (odd SETITEMS)") }
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
        return dict
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
        guard Self.allowedGlobals.contains(name) || Self.storageType(name) != nil else {
            throw Failure(reason: "pickle names global \(name), which is not allowed (only tensor data is read; nothing is executed)")
        }
        return .global(name)
    }

    /// Reproduces the effect of calling an allowed global.
    private func reduce(_ callable: PickleValue, _ arguments: PickleValue) throws(Failure) -> PickleValue {
        guard case .global(let name) = callable, case .tuple(let args) = arguments else {
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
            }
            return .dict(dict)
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return try TensorView.rebuild(args)
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = args.first else { throw Failure(reason: "malformed _rebuild_parameter") }
            return data
        case "numpy.dtype":
            guard let code = args.first?.string else { throw Failure(reason: "malformed numpy.dtype") }
            return .numpyDType(code)
        case "numpy._core.multiarray.scalar", "numpy.core.multiarray.scalar":
            return try numpyScalar(args)
        case "_codecs.encode":
            guard args.count == 2, let text = args[0].string, args[1].string == "latin1",
                text.unicodeScalars.allSatisfy({ $0.value < 256 })
            else { throw Failure(reason: "malformed _codecs.encode") }
            return .bytes(text.unicodeScalars.map { UInt8($0.value) })
        default:
            throw Failure(reason: "pickle calls \(name), which is not allowed")
        }
    }

    /// BUILD sets attributes (`_metadata` of a state dict, numpy dtype flags): recorded nowhere, checked harmless.
    private func build(_ state: PickleValue, on object: PickleValue) throws(Failure) {
        switch object {
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
            default: throw Failure(reason: "unsupported numpy scalar type \(code)")
            }
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(reason: "malformed numpy scalar")
        }
    }
}

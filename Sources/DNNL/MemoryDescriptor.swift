import CDNNL

/// Element type of a oneDNN memory.
public enum DataType: Sendable {
    case f32, bf16, f16, s32, s8, u8

    var raw: dnnl_data_type_t {
        switch self {
        case .f32: dnnl_f32
        case .bf16: dnnl_bf16
        case .f16: dnnl_f16
        case .s32: dnnl_s32
        case .s8: dnnl_s8
        case .u8: dnnl_u8
        }
    }

    init(raw: dnnl_data_type_t) {
        self = [DataType.f32, .bf16, .f16, .s32, .s8, .u8].first { $0.raw == raw } ?? .f32
    }

    /// oneDNN's name: `f32`, `bf16`, ...
    public var name: String {
        switch self {
        case .f32: "f32"
        case .bf16: "bf16"
        case .f16: "f16"
        case .s32: "s32"
        case .s8: "s8"
        case .u8: "u8"
        }
    }
}

/// A plain memory layout, named by oneDNN's letters for dimensions in logical order (`abcd` = NCHW for
/// activations or OIHW for weights), or `any` to let a primitive choose.
public enum FormatTag: Sendable {
    /// Let the primitive pick its preferred (often blocked) layout.
    case any
    /// 1-D.
    case a
    /// 2-D row-major.
    case ab
    /// 3-D row-major.
    case abc
    /// 4-D row-major: NCHW activations, OIHW weights.
    case abcd
    /// NHWC activations (`channels_last`).
    case acdb
    /// NCHW with channels in blocks of 16 innermost (`nChw16c`), the layout oneDNN's AVX-512 kernels use.
    case aBcd16b
    /// NCHW with channels in blocks of 8 innermost (`nChw8c`), the layout oneDNN's AVX2 kernels use.
    case aBcd8b
    /// 4-D with the first two logical dimensions swapped in memory: PyTorch's `ConvTranspose2d` weight
    /// `(in, out, kH, kW)` described as logical `(out, in, kH, kW)`.
    case bacd

    var raw: dnnl_format_tag_t {
        switch self {
        case .any: dnnl_format_tag_any
        case .a: dnnl_a
        case .ab: dnnl_ab
        case .abc: dnnl_abc
        case .abcd: dnnl_abcd
        case .acdb: dnnl_acdb
        case .aBcd16b: dnnl_aBcd16b
        case .aBcd8b: dnnl_aBcd8b
        case .bacd: dnnl_bacd
        }
    }
}

/// The logical dimensions, element type and memory layout of a tensor as oneDNN sees it.
/// Mirrors `dnnl_memory_desc_t`. Equality is oneDNN's (`dnnl_memory_desc_equal`).
public struct MemoryDescriptor: Equatable, @unchecked Sendable {
    var raw: dnnl_memory_desc_t

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    /// A descriptor with a plain layout `format` (or `.any`).
    public init(dims: [Int], dataType: DataType = .f32, format: FormatTag) throws(DNNLError) {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&md, Int32(d.count), d, dataType.raw, format.raw),
                  "dnnl_memory_desc_init_by_tag \(dims)")
        raw = md
    }

    /// A descriptor with explicit element strides per logical dimension.
    public init(dims: [Int], dataType: DataType = .f32, strides: [Int]) throws(DNNLError) {
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        let s = strides.map(Int64.init)
        try check(dnnl_memory_desc_init_by_strides(&md, Int32(d.count), d, dataType.raw, s),
                  "dnnl_memory_desc_init_by_strides \(dims)")
        raw = md
    }

    /// The element type.
    public var dataType: DataType { DataType(raw: raw.data_type) }

    /// The plain tag this descriptor's layout is (`abcd`, `acdb`, `aBcd16b`, `aBcd8b`), if it is one of them.
    public var layoutTag: FormatTag? {
        guard raw.ndims == 4 else { return nil }
        return [FormatTag.abcd, .acdb, .aBcd16b, .aBcd8b].first { tag in
            (try? MemoryDescriptor(dims: dims, dataType: dataType, format: tag)) == self
        }
    }

    /// The layout in oneDNN's letters (`abcd`, `acdb`, `aBcd16b`, `aBcd8b`, `a`, ...), or `blocked` for one that is
    /// none of the plain tags this package uses.
    public var layoutName: String {
        let tags: [(FormatTag, String)] = switch raw.ndims {
        case 1: [(.a, "a")]
        case 2: [(.ab, "ab")]
        case 3: [(.abc, "abc")]
        case 4: [(.abcd, "abcd"), (.acdb, "acdb"), (.aBcd16b, "aBcd16b"), (.aBcd8b, "aBcd8b"), (.bacd, "bacd")]
        default: []
        }
        for (tag, name) in tags {
            if let plain = try? MemoryDescriptor(dims: dims, dataType: dataType, format: tag), plain == self { return name }
        }
        return "blocked"
    }

    /// Logical dimensions.
    public var dims: [Int] {
        withUnsafeBytes(of: raw.dims) { bytes in
            Array(bytes.bindMemory(to: Int64.self).prefix(Int(raw.ndims))).map(Int.init)
        }
    }

    /// Bytes needed to hold the memory, padding included.
    public var byteCount: Int {
        var md = raw
        return dnnl_memory_desc_get_size(&md)
    }

    /// True for the empty descriptor oneDNN returns for an argument a primitive does not use.
    public var isEmpty: Bool { raw.ndims == 0 }

    /// True when the layout is still `any` (not yet chosen by a primitive).
    public var isFormatAny: Bool { raw.format_kind == dnnl_format_kind_any }

    /// The same descriptor with another element type (layout kept).
    public func with(dataType: DataType) -> MemoryDescriptor {
        var md = raw
        md.data_type = dataType.raw
        return MemoryDescriptor(raw: md)
    }

    /// A view of part of this memory: `dims` starting at `offsets` (`dnnl_memory_desc_init_submemory`).
    public func submemory(dims: [Int], offsets: [Int]) throws(DNNLError) -> MemoryDescriptor {
        var parent = raw
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        let o = offsets.map(Int64.init)
        try check(dnnl_memory_desc_init_submemory(&md, &parent, d, o), "dnnl_memory_desc_init_submemory \(dims)")
        return MemoryDescriptor(raw: md)
    }

    /// How many consecutive indices of logical dimension `dimension` one block of this layout holds (16 for
    /// `O` in `OIhw16i16o`; 1 for plain layouts): sub-memories along it must start at multiples of this.
    public func blockSize(ofDimension dimension: Int) -> Int {
        guard raw.format_kind == dnnl_blocked else { return 1 }
        var blocking = raw.format_desc.blocking
        let count = Int(blocking.inner_nblks)
        return withUnsafeBytes(of: &blocking.inner_blks) { sizes in
            withUnsafeBytes(of: &blocking.inner_idxs) { indices in
                (0..<count).reduce(1) { product, i in
                    let index = indices.load(fromByteOffset: i * 8, as: Int64.self)
                    return index == dimension ? product * Int(sizes.load(fromByteOffset: i * 8, as: Int64.self)) : product
                }
            }
        }
    }

    /// The same memory seen with other logical dimensions (`dnnl_memory_desc_reshape`).
    public func reshaped(_ dims: [Int]) throws(DNNLError) -> MemoryDescriptor {
        var source = raw
        var md = dnnl_memory_desc_t()
        let d = dims.map(Int64.init)
        try check(dnnl_memory_desc_reshape(&md, &source, Int32(d.count), d), "dnnl_memory_desc_reshape \(dims)")
        return MemoryDescriptor(raw: md)
    }

    public static func == (lhs: MemoryDescriptor, rhs: MemoryDescriptor) -> Bool {
        var a = lhs.raw
        var b = rhs.raw
        return dnnl_memory_desc_equal(&a, &b) != 0
    }
}

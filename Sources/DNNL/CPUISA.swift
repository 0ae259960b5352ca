import CDNNL

/// The instruction set oneDNN's kernels run on (`dnnl_get_effective_cpu_isa`), and what it implies for layouts
/// and element types.
public enum CPUISA {
    private static func has(_ isa: dnnl_cpu_isa_t) -> Bool {
        let (effective, wanted) = (dnnl_get_effective_cpu_isa().rawValue, isa.rawValue)
        return effective & wanted == wanted
    }

    /// Whether oneDNN runs bf16 convolutions on AMX tiles (Intel Xeon since Sapphire Rapids), where they are
    /// several times faster than any fp32 algorithm.
    public static var hasAMX: Bool { has(dnnl_cpu_isa_avx512_core_amx) }

    /// Whether oneDNN's kernels use AVX-512 (`avx512_core`): vectors of 16 floats.
    public static var hasAVX512: Bool { has(dnnl_cpu_isa_avx512_core) }

    /// Whether int8 convolutions multiply-add bytes in one instruction (AVX-512 VNNI, AVX-VNNI). Without it oneDNN adds
    /// pairs of unsigned-by-signed byte products in 16 bits, which can saturate unless weights keep to 7 bits.
    public static var hasVNNI: Bool { has(dnnl_cpu_isa_avx512_core_vnni) || has(dnnl_cpu_isa_avx2_vnni) }

    /// The channel block of the activation layout oneDNN's optimized convolutions run on here: 16 (`nChw16c`)
    /// with AVX-512, 8 (`nChw8c`) with AVX2, nil below AVX2. A blocked layout whose block does not match the
    /// CPU's vectors sends oneDNN 2.6 to its reference loops.
    public static var channelBlock: Int? { hasAVX512 ? 16 : has(dnnl_cpu_isa_avx2) ? 8 : nil }

    /// Whether oneDNN 2.6 has bf16 convolution kernels for this CPU (AVX-512; native with `avx512_core_bf16`,
    /// emulated on `avx512_core`). Found once by asking for a bf16 convolution.
    public static let supportsBF16: Bool = {
        guard let source = try? MemoryDescriptor(dims: [1, 16, 8, 8], dataType: .bf16, format: .any),
              let weights = try? MemoryDescriptor(dims: [16, 16, 3, 3], dataType: .bf16, format: .any) else { return false }
        return (try? PrimitiveDescriptor.convolutionForward(
            .convolution, training: true, source: source, weights: weights, bias: nil, destination: source,
            geometry: SpatialGeometry(stride: 1, padding: 1))) != nil
    }()

    /// Whether this CPU computes bf16 natively (`avx512_core_bf16` or AMX). Without it oneDNN's bf16 kernels on
    /// `avx512_core` emulate bf16 arithmetic, slower than fp32.
    public static var hasNativeBF16: Bool { has(dnnl_cpu_isa_avx512_core_bf16) || hasAMX }

    /// Why a bf16 network cannot be built on this CPU, for error messages; nil where it can.
    public static var bf16Unsupported: String? {
        supportsBF16 ? nil : "this CPU has no bf16 convolution kernels in oneDNN 2.6 (they need AVX-512)"
    }
}

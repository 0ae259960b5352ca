import CDNNL

/// The instruction set oneDNN's kernels run on (`dnnl_get_effective_cpu_isa`).
public enum CPUISA {
    /// Whether oneDNN runs bf16 convolutions on AMX tiles (Intel Xeon since Sapphire Rapids), where they are
    /// several times faster than any fp32 algorithm.
    public static var hasAMX: Bool {
        let (isa, amx) = (dnnl_get_effective_cpu_isa().rawValue, dnnl_cpu_isa_avx512_core_amx.rawValue)
        return isa & amx == amx
    }
}

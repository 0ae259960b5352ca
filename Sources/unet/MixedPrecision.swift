import DNNL
import Execution
import Graph

/// What `--amp` gives on this CPU: bf16 where the CPU computes bf16 natively (AVX-512 BF16 or AMX); elsewhere
/// fp32, with a one-line warning, so that a command written for one machine still runs on another: without bf16
/// kernels there is no bf16 network, and where oneDNN would emulate bf16 (AVX-512 without BF16) it runs slower than
/// fp32. (`unet bench --dtype bf16` still runs emulated bf16 where asked.)
enum MixedPrecision {
    static func precision(amp: Bool) -> Precision {
        guard amp else { return .fp32 }
        let emulated = "this CPU has no native bf16 (AVX-512 BF16 or AMX), where oneDNN's emulated bf16 runs slower than fp32"
        guard let reason = CPUISA.bf16Unsupported ?? (CPUISA.hasNativeBF16 ? nil : emulated) else { return .bf16 }
        Console.error("warning: --amp: \(reason); running in fp32")
        return .fp32
    }
}

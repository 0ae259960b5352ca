import DNNL
import Execution
import Graph

/// What `--amp` gives on this CPU: bf16 where oneDNN has bf16 kernels (AVX-512); elsewhere fp32, with a warning,
/// so that a command written for one machine still runs on another.
enum MixedPrecision {
    static func precision(amp: Bool) -> Precision {
        guard amp else { return .fp32 }
        if let reason = CPUISA.bf16Unsupported {
            Console.error("warning: --amp: \(reason); running in fp32")
            return .fp32
        }
        return .bf16
    }
}

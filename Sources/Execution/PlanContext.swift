import DNNL
import Foundation

/// What every step of a compiled network shares: the mode, the activation arena, and one workspace that all
/// primitives use in turn for their scratchpads (they never run concurrently) and training for the staged
/// weights and weight gradient of the convolution running. Each step runs in the context's precision; a plan
/// whose levels differ in precision builds them with `with(precision:)`, which shares everything else.
final class PlanContext {
    let precision: Precision
    /// The precision of the plan this context belongs to (`with(precision:)` keeps it): where a bf16 plan runs
    /// a level in fp32, that level's weight gradients that fp32 Winograd cannot compute within the scratchpad
    /// limit run in bf16 (`ConvolutionStep`).
    let planPrecision: Precision
    let training: Bool
    let arena: ActivationArena

    /// Storage shared between memories whose lifetimes do not overlap (see `UNetPlan` for who uses what).
    enum Slot: Int {
        /// Inference activations: the maps flowing between blocks (pooled, up-sampled, block outputs), and the
        /// hidden maps inside blocks (and 1x1 up-convolution outputs), with the skips placed above them. In
        /// training with batch norm, maps made again when backward reads them: `hidden` holds each block's inner
        /// map and each decoder's output, `flowing` each encoder's output.
        case flowing, hidden
        /// Training plans that recompute convolutions: each block's first convolution output and each
        /// up-sampled map, made again when backward reads them.
        case preNorm, upsampled
        /// Training gradients: the flowing output gradient, the block-internal one (which between blocks also
        /// holds each 1x1 up-convolution's output and its gradient, and each conversion's pooled map and its
        /// gradient), the up-sampled map's gradient (networks without batch norm; with it, the decoder's spent
        /// pre-norm map holds it), the pooled-map gradient.
        case diffFlow, diffInner, diffUpsampled, diffPooled
        /// Every primitive's scratchpad, and in training the blocked weights staged before each convolution and
        /// its weight gradient. Staged weights and weight gradients start at 0: a convolution's weight gradient
        /// is computed after its backward-data pass and handed over before the next staging, so the two are
        /// never live together. Each primitive's scratchpad starts after what stays live while it runs (its
        /// staged weights or weight gradient, `workspaceBytes`, and a bf16 weight gradient's input copies); the
        /// other primitives run between convolutions, with their scratchpads at 0. Between primitives, an
        /// up-convolution's rearranged 1x1 weight lies above its staged weights and weight gradient.
        case workspace
    }

    /// The largest scratchpad a Winograd primitive may ask for; above it the direct algorithm is used.
    /// Winograd's scratch holds transformed weights and tiles (per thread for backward-weights), which for the
    /// deepest U-Net layers runs to hundreds of MB. The limit scales with the network's largest activation
    /// (1.6x, at least 96 MiB), so the scratch stays in proportion to the activations it serves.
    let winogradScratchLimit: Int

    /// The layout of every activation between layers: channels in blocks of the CPU's vector width (`nChw16c`
    /// on AVX-512, `nChw8c` on AVX2: what oneDNN's kernels run fastest on) when every width of the network is a
    /// multiple of the block; else channels-last (NHWC), because oneDNN 2.6 has no optimized convolution for a
    /// padded block (8 channels in a block of 16) or a block the CPU's vectors do not match, and would fall
    /// back to its reference loops, 100x slower.
    let activationFormat: FormatTag
    /// The channel block of `activationFormat` (nil: NHWC).
    let channelBlock: Int?

    /// - Parameters:
    ///   - largestActivation: bytes of the network's largest activation tensor.
    ///   - channelMultiple: a number every activation's channel count is a multiple of.
    ///   - winogradScratchLimit: overrides the limit (and `UNET_WINOGRAD_SCRATCH_MB`), in bytes.
    init(precision: Precision, training: Bool, largestActivation: Int = 0, channelMultiple: Int = 64,
         winogradScratchLimit limit: Int? = nil) {
        self.precision = precision
        planPrecision = precision
        self.training = training
        arena = ActivationArena()
        channelBlock = CPUISA.channelBlock.flatMap { channelMultiple % $0 == 0 ? $0 : nil }
        activationFormat = switch channelBlock {
        case 16: .aBcd16b
        case 8: .aBcd8b
        default: .acdb
        }
        let override = ProcessInfo.processInfo.environment["UNET_WINOGRAD_SCRATCH_MB"].flatMap(Int.init)
        winogradScratchLimit = limit ?? override.map { $0 << 20 } ?? max(96 << 20, largestActivation * 8 / 5)
    }

    private init(_ shared: PlanContext, precision: Precision) {
        self.precision = precision
        (planPrecision, training, arena) = (shared.planPrecision, shared.training, shared.arena)
        (activationFormat, channelBlock, winogradScratchLimit) = (shared.activationFormat, shared.channelBlock, shared.winogradScratchLimit)
    }

    /// This context in `precision`: the same arena, workspace, layout and limits.
    func with(precision: Precision) -> PlanContext {
        precision == self.precision ? self : PlanContext(self, precision: precision)
    }

    /// Whether `winograd` (oneDNN offered it) has a scratchpad within the limit.
    func admits(winograd: PrimitiveDescriptor?) -> Bool {
        guard let winograd else { return false }
        return winograd.memoryDescriptor(.scratchpad).byteCount <= winogradScratchLimit
    }

    /// `winograd` if oneDNN offered it and its scratchpad is within the limit, else `direct`.
    func preferWinograd(_ winograd: PrimitiveDescriptor?, over direct: PrimitiveDescriptor) -> PrimitiveDescriptor {
        guard admits(winograd: winograd), let winograd else { return direct }
        return winograd
    }

    /// The element type of activations.
    var activationType: DataType { precision == .bf16 ? .bf16 : .f32 }

    /// A memory in `slot` (nil: storage of its own), `offset` bytes into it (a multiple of 64).
    func memory(_ descriptor: MemoryDescriptor, slot: Slot?, offset: Int = 0) throws -> Memory {
        try arena.memory(descriptor, slot: slot?.rawValue, offset: offset)
    }

    /// Makes `memory` (in a shared slot) start where the last of `others` (in the same slot) ends.
    func place(_ memory: Memory, after others: [Memory]) { arena.place(memory, after: others) }

    /// `bytes` rounded up to whole pages, for ranges of the workspace.
    static func workspaceBytes(_ bytes: Int) -> Int { (bytes + 4095) / 4096 * 4096 }

    /// Attributes with the user-managed scratchpad and the given post-ops.
    func attributes(_ postOps: [PrimitiveAttributes.PostOp] = []) throws -> PrimitiveAttributes {
        try PrimitiveAttributes(postOps: postOps)
    }

    /// A primitive from a descriptor made with `attributes()`, its scratchpad in the workspace from `offset`
    /// (a multiple of 64: the bytes of the workspace that stay live while it runs).
    func primitive(_ descriptor: PrimitiveDescriptor, scratchpadOffset offset: Int = 0) throws -> Primitive {
        let primitive = try Primitive(descriptor)
        if let scratch = primitive.scratchpadNeeded { primitive.scratchpad = try memory(scratch, slot: .workspace, offset: offset) }
        return primitive
    }

    /// Gives every shared slot its storage; call once, after all steps are built.
    func allocate() throws { try arena.allocate() }

    /// Bytes of every shared slot, for reports.
    var slotBytes: [Int: Int] { arena.slotBytes }
}

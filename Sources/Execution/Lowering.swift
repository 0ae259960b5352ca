import DNNL
import Distributed
import Foundation
import Graph
import NN

/// What the kernels of one compiled network share while it is built: the graph after the graph passes, the
/// layout and precision of every value, the model's parameters by key, and the buffers made so far.
final class Lowering {
    let graph: Graph
    let training: Bool
    /// Training: whether backward computes the gradient of the network's input too.
    let inputGradient: Bool
    let passes: Set<Pass>
    /// The precision the network was asked for (bf16 networks may run some regions in fp32).
    let precision: Precision
    /// Each value's precision, by `Graph.Value.id`.
    let valuePrecisions: [Precision]
    /// Each value's layout between ops, by `Graph.Value.id` (`LayoutChoice`).
    let formats: [FormatTag]
    /// The largest scratchpad a Winograd convolution may ask for; above it the direct algorithm runs. Winograd's
    /// scratch holds transformed weights and tiles (per thread in backward), hundreds of MB for a U-Net's deepest
    /// layers; the limit scales with the network's largest activation (1.6x, at least 96 MiB).
    let winogradScratchLimit: Int
    /// Training: the ranks whose batches batch norm normalises together (`SyncBatchNorm`); nil: each its own.
    let batchNormGroup: ProcessGroup?
    /// Inference: the convolutions that run in int8, with their inputs' ranges.
    let quantization: Quantization?
    /// Inference: sees the input of every convolution `Conv2dKernel.isQuantizable` admits (calibration).
    let inputObserver: ConvolutionInputObserver?
    /// What a training network's random masks (dropout) are drawn from.
    let randomSeed: UInt64
    /// int8 networks: the values kept as 8-bit integers, by `Graph.Value.id`, with their range: written by an int8
    /// convolution, by an instance norm of a float32 channels-last map (`InstanceNormInt8Kernel`), by a channel gate's
    /// multiply of one (`MultiplyKernel`, a squeeze-and-excitation before its projection) or by a gated residual
    /// (`GatedResidualKernel`, a squeeze-and-excitation block's end), and read only, as their input, by int8
    /// convolutions of that range (or one they share, `int8InputRanges`), which so need no quantizing step, as the
    /// residual of a gated residual (which takes any steps), or by ops that only pick among its values (max pooling,
    /// depth-to-space, nearest up-sampling by whole factors), whose outputs are such values too: the rounding commutes
    /// with them, so the result is the same.
    let int8Values: [Int: Quantization.InputRange]
    /// int8 networks: the partial sums of split convolutions (`Graph.splittingConcatenations`) whose sum is such an
    /// 8-bit value, by `Graph.Value.id`, with the sum's range: the first part writes its float32 partial sum in that
    /// range's steps, and the part adding in reads it as a post-op's addend (`PostOp.add`) and writes 8 bits, where a
    /// part adding into its output in place would write float32 and need a quantizing step.
    let int8PartialSums: [Int: Quantization.InputRange]
    /// int8 networks: the convolutions, by node name, that read such an 8-bit value in a range other than the table's
    /// own for them: where the int8 convolutions reading one value (directly or through ops that pick among its
    /// values) have different ranges, the value is written in one range they share (`InputRange.shared(by:)`), if there is one.
    let int8InputRanges: [String: Quantization.InputRange]
    /// int8 networks on a CPU with native bf16 (the `precision-regions` pass): the float maps kept in bf16 instead of
    /// float32, by `Graph.Value.id`: the input of an instance norm that writes 8 bits or bf16 (`InstanceNormInt8Kernel`)
    /// where only it reads the map and a convolution writes it (an int8 one but for int8 Winograd, which writes no bf16,
    /// or a bf16 edge), with the partial sums the parts of a split convolution add in place into it. Such a map is
    /// written once and read twice (moments, then the pass into 8 bits or bf16); in bf16 that traffic halves, and the
    /// normalization, whose output is rounded to an 8-bit step or to bf16, moves by a fraction of that rounding.
    let bf16Maps: Set<Int>
    private let parameters: [String: Parameter]
    private(set) var buffers: [Buffer] = []
    /// Copies the model's parameters into dedicated buffers (inference), run by `loadParameters`.
    var loaders: [() throws -> Void] = []
    /// int8 networks: each float32 value quantized for int8 convolutions, by value, range and layout
    /// (`quantizedInput(of:range:_:name:)`).
    private var quantizedInputs: [String: Buffer] = [:]
    private let placeholder: Memory
    private var inputDescriptor: MemoryDescriptor?

    init(graph: Graph, parameters: [String: Parameter], training: Bool, inputGradient: Bool, precision: Precision,
         passes: Set<Pass>, valuePrecisions: [Precision], formats: [FormatTag], winogradScratchLimit: Int? = nil,
         batchNormGroup: ProcessGroup? = nil, quantization: Quantization? = nil, inputObserver: ConvolutionInputObserver? = nil,
         randomSeed: UInt64 = 0) throws {
        (self.graph, self.parameters, self.training, self.precision) = (graph, parameters, training, precision)
        self.randomSeed = randomSeed
        (self.quantization, self.inputObserver) = training ? (nil, nil) : (quantization, inputObserver)
        (int8Values, int8PartialSums, int8InputRanges) = training ? ([:], [:], [:]) : Self.int8Values(graph, quantization, valuePrecisions, formats)
        bf16Maps = training || !passes.contains(.precisionRegions) ? []
            : Self.bf16Maps(graph, int8Values, quantization, valuePrecisions)
        self.batchNormGroup = training ? batchNormGroup : nil
        self.inputGradient = training && inputGradient
        (self.passes, self.valuePrecisions, self.formats) = (passes, valuePrecisions, formats)
        placeholder = try Memory(MemoryDescriptor(dims: [16], format: .a))
        self.winogradScratchLimit = winogradScratchLimit ?? Self.winogradScratchLimit(graph, precision: precision)
    }

    /// The default Winograd scratchpad limit: 1.6x the largest activation's bytes, at least 96 MiB, or
    /// `UNET_WINOGRAD_SCRATCH_MB`. A bf16 network's activations count at 2 bytes: its fp32 levels get the bf16
    /// network's budget, not the fp32 network's.
    static func winogradScratchLimit(_ graph: Graph, precision: Precision) -> Int {
        if let override = ProcessInfo.processInfo.environment["UNET_WINOGRAD_SCRATCH_MB"].flatMap(Int.init) { return override << 20 }
        let largest = graph.shapes.map { $0.reduce(1, *) }.max()! * (precision == .bf16 ? 2 : 4)
        return max(96 << 20, largest * 8 / 5)
    }

    // MARK: - Values

    func dataType(_ value: Graph.Value) -> DataType {
        if let range = int8Values[value.id] { return range.signed ? .s8 : .u8 }
        return valuePrecisions[value.id] == .bf16 || bf16Maps.contains(value.id) ? .bf16 : .f32
    }

    /// See `bf16Maps`.
    private static func bf16Maps(_ graph: Graph, _ values: [Int: Quantization.InputRange], _ quantization: Quantization?,
                                 _ precisions: [Precision]) -> Set<Int> {
        guard let quantization, CPUISA.hasNativeBF16 else { return [] }
        let consumers = graph.consumers
        var maps: Set<Int> = []
        for node in graph.nodes {
            guard case .instanceNorm = node.op, values[node.output.id] != nil || precisions[node.output.id] == .bf16 else { continue }
            var (value, chain) = (node.inputs[0], [Graph.Value]())
            while true {
                guard precisions[value.id] == .fp32, !graph.isOutput(value), consumers[value]?.count == 1,
                      let producer = graph.producer(of: value), case .conv2d(let a) = producer.op,
                      quantization.inputs[producer.name] != nil ? !Conv2dKernel.suitsInt8Winograd(producer, in: graph)
                          : precisions[producer.inputs[0].id] == .bf16 else { chain = []; break }
                chain.append(value)
                guard a.accumulates else { break }
                value = producer.inputs[1]
            }
            maps.formUnion(chain.map(\.id))
        }
        return maps
    }

    /// See `int8Values` and `int8PartialSums`. A split convolution's part adding in may read an 8-bit source; it writes
    /// 8 bits where it adds the only other part, an int8 convolution (a split over two inputs), and its output is
    /// read as such a value. An int8 convolution adding into a residual in place writes 8 bits where the residual is
    /// 8 bits too (a ResNet's stream from block to block), both or neither.
    private static func int8Values(_ graph: Graph, _ quantization: Quantization?, _ precisions: [Precision], _ formats: [FormatTag])
        -> (values: [Int: Quantization.InputRange], partialSums: [Int: Quantization.InputRange], inputRanges: [String: Quantization.InputRange])
    {
        guard let quantization else { return ([:], [:], [:]) }
        let consumers = graph.consumers
        func range(_ node: Graph.Node) -> Quantization.InputRange? {
            guard case .conv2d = node.op else { return nil }
            return quantization.inputs[node.name]
        }
        // `x` a float32 channels-last map (and `gate`, if any, float32) and `output` channels-last.
        func floatChannelsLast(_ x: Graph.Value, gate: Graph.Value? = nil, output: Graph.Value) -> Bool {
            ([x] + (gate.map { [$0] } ?? [])).allSatisfy { precisions[$0.id] == .fp32 } && formats[x.id] == .acdb
                && formats[output.id] == .acdb
        }
        func channelsLastInstanceNorm(_ node: Graph.Node) -> Bool {
            guard case .instanceNorm = node.op else { return false }
            return floatChannelsLast(node.inputs[0], output: node.output)
        }
        // A float32 map multiplied by a channel gate (squeeze-and-excitation): oneDNN's binary multiply writes 8 bits.
        func channelGated(_ node: Graph.Node) -> Bool {
            guard case .multiply = node.op else { return false }
            return graph.shape(node.inputs[1])[2...] == [1, 1] && floatChannelsLast(node.inputs[0], gate: node.inputs[1], output: node.output)
        }
        // A squeeze-and-excitation block's end on float32 maps: oneDNN's binary reads and writes the residual in 8 bits.
        func gatedResidual(_ node: Graph.Node) -> Bool {
            guard case .gatedResidual = node.op else { return false }
            return floatChannelsLast(node.inputs[0], gate: node.inputs[2], output: node.output)
        }
        // The partial sum an int8 part adding in reads, where an int8 part that nothing else reads wrote it.
        func addend(_ node: Graph.Node) -> Graph.Value? {
            guard case .conv2d(let a) = node.op, a.accumulates, range(node) != nil, let producer = graph.producer(of: node.inputs[1]),
                  case .conv2d(let first) = producer.op, !first.accumulates, range(producer) != nil,
                  consumers[node.inputs[1]]?.count == 1 else { return nil }
            return node.inputs[1]
        }
        // The int8 residual additions in place, by index (a ResNet block's `conv(h) + x` adding into x, not a split's
        // part), less those kept in float32: one reads and writes 8 bits where both the residual and the sum are 8-bit
        // values, rescaling the residual by its sum post-op; one whose residual and sum would differ in precision cannot
        // share storage.
        var int8Additions = Set(graph.nodes.indices.filter { index in
            let node = graph.nodes[index]
            guard case .conv2d(let a) = node.op, a.accumulates, a.weightInputChannels == nil, range(node) != nil else { return false }
            return addend(node) == nil
        })
        // The int8 convolutions that read `value` as their input, directly or through ops that pick among values, and the
        // values it reaches through those ops; nil where anything else reads it.
        func int8Readers(_ value: Graph.Value) -> (convolutions: [Graph.Node], passedTo: [Graph.Value])? {
            guard !graph.isOutput(value), let indices = consumers[value], !indices.isEmpty else { return nil }
            var (convolutions, passedTo): ([Graph.Node], [Graph.Value]) = ([], [])
            for index in indices {
                let reader = graph.nodes[index]
                if range(reader) != nil, reader.inputs[0] == value, !reader.inputs.dropFirst().contains(value) {
                    convolutions.append(reader)
                } else if gatedResidual(reader), reader.inputs[1] == value, reader.inputs[0] != value, reader.inputs[2] != value {
                    continue  // the residual, read in whatever steps the convolutions choose
                } else if int8Additions.contains(index), reader.inputs[1] == value, reader.inputs[0] != value {
                    continue  // the residual added into, likewise
                } else if reader.op.picksAmongValues(graph.shape(value), graph.shape(reader.output)), let further = int8Readers(reader.output) {
                    (convolutions, passedTo) = (convolutions + further.convolutions, passedTo + [reader.output] + further.passedTo)
                } else {
                    return nil
                }
            }
            return (convolutions, passedTo)
        }
        while true {
            var values: [Int: Quantization.InputRange] = [:]
            var partialSums: [Int: Quantization.InputRange] = [:]
            var inputRanges: [String: Quantization.InputRange] = [:]
            for (index, node) in graph.nodes.enumerated()
            where range(node) != nil || channelsLastInstanceNorm(node) || channelGated(node) || gatedResidual(node) {
                let addend = addend(node)
                if case .conv2d(let a) = node.op, a.accumulates, addend == nil, !int8Additions.contains(index) { continue }
                guard let (readers, passedTo) = int8Readers(node.output) else { continue }
                let ranges = readers.compactMap(range)
                guard let shared = Quantization.InputRange.shared(by: ranges) else { continue }
                for value in [node.output] + passedTo { values[value.id] = shared }
                for reader in readers where range(reader) != shared { inputRanges[reader.name] = shared }
                if let addend { partialSums[addend.id] = shared }
            }
            // An addition whose residual and sum came out in different precisions stays float32, and everything is
            // assigned again without it: its residual may then stay float32 in turn.
            let mixed = int8Additions.filter { index in
                let node = graph.nodes[index]
                return (values[node.inputs[1].id] == nil) != (values[node.output.id] == nil)
            }
            if mixed.isEmpty { return (values, partialSums, inputRanges) }
            int8Additions.subtract(mixed)
        }
    }

    /// The range an int8 convolution quantizes its input to (nil: it runs in float32, as every convolution in training):
    /// the table's, or the range its input is shared in (`int8InputRanges`).
    func int8Range(of node: Graph.Node) -> Quantization.InputRange? { int8InputRanges[node.name] ?? quantization?.inputs[node.name] }

    /// The layout of `value` and of its gradient (`formats`), except for an input that convolutions alone read,
    /// which takes the layout its first convolution prefers (`setInputDescriptor`; oneDNN chooses, for 1 or 3
    /// channels usually NCHW or NHWC).
    func descriptor(_ value: Graph.Value) throws -> MemoryDescriptor {
        if value == graph.input, let inputDescriptor { return inputDescriptor }
        return try MemoryDescriptor(dims: graph.shape(value), dataType: dataType(value), format: formats[value.id])
    }

    /// The channel block of `value`'s layout (nil: NCHW or NHWC).
    func channelBlock(_ value: Graph.Value) -> Int? {
        switch formats[value.id] {
        case .aBcd16b: 16
        case .aBcd8b: 8
        default: nil
        }
    }

    /// Sets the input's layout (the first convolution reading it asked oneDNN for its preferred one).
    func setInputDescriptor(_ descriptor: MemoryDescriptor) { inputDescriptor = descriptor }

    /// Whether a convolution has chosen the input's layout: the others reading it (a transposed convolution's
    /// phases, a residual unit's two branches) take that one.
    var inputLayoutChosen: Bool { inputDescriptor != nil }

    // MARK: - Resources

    func parameter(_ key: String) throws -> Parameter {
        guard let parameter = parameters[key] else {
            throw CompilationError("the model has no tensor \(key) that the network reads")
        }
        return parameter
    }

    func buffer(_ name: String, _ kind: Buffer.Kind, _ descriptor: MemoryDescriptor, dedicated: Bool = false) throws -> Buffer {
        let buffer = try Buffer(id: buffers.count, name: name, kind: kind, descriptor: descriptor,
                                dedicated: dedicated || !passes.contains(.planMemory), placeholder: placeholder)
        buffers.append(buffer)
        return buffer
    }

    /// A buffer like `value`'s, for its gradient or a copy made again.
    func buffer(_ name: String, _ kind: Buffer.Kind, like value: Graph.Value) throws -> Buffer {
        try buffer(name, kind, try descriptor(value))
    }

    /// int8 networks: the buffer holding float32 `value` quantized to `range` in `descriptor` (8 bits), one for every
    /// convolution that reads it so (the four phases of a convolution reading a skip map, a block's convolution and its
    /// shortcut): `made` is true for the first asked, whose step fills it, and the others read it.
    func quantizedInput(of value: Graph.Value, range: Quantization.InputRange, _ descriptor: MemoryDescriptor, name: String) throws
        -> (buffer: Buffer, made: Bool)
    {
        let key = "\(value.id) \(range.limit.bitPattern) \(range.signed) \(descriptor.dims) \(descriptor.dataType) \(descriptor.layoutName)"
        if let buffer = quantizedInputs[key] { return (buffer, false) }
        let buffer = try self.buffer(name + " int8 input", .activation, descriptor)
        quantizedInputs[key] = buffer
        return (buffer, true)
    }

    /// The scratchpad `primitive` needs, as a buffer of its own (nil if it needs none).
    func scratchpad(_ primitive: Primitive, _ name: String) throws -> Buffer? {
        try primitive.scratchpadNeeded.map { try buffer(name + " scratchpad", .scratchpad, $0) }
    }

    /// A fused activation as oneDNN's eltwise post-op (none for nil), applied to values in steps of `step` (an int8
    /// convolution writing 8 bits, whose output scales divide by its output's step before the post-ops run): f(s·x)/s,
    /// which is f(x) for the ReLUs but needs ReLU6's bound and SiLU's slope rescaled.
    static func postOps(_ activation: Activation?, step: Float = 1) -> [PrimitiveAttributes.PostOp] {
        switch activation {
        case .relu: [.relu]
        case .leakyReLU(let slope): [.leakyReLU(slope: slope)]
        case .silu: [.swish(alpha: step)]
        case .relu6: [.clip(lower: 0, upper: 6 / step)]
        case nil: []
        }
    }

    /// Attributes with the user-managed scratchpad and the given post-ops.
    func attributes(_ postOps: [PrimitiveAttributes.PostOp] = [], outputScales: [Float]? = nil, firstSourceScale: Float? = nil) throws
        -> PrimitiveAttributes
    {
        try PrimitiveAttributes(outputScales: outputScales.map { (mask: $0.count == 1 ? 0 : 2, values: $0) }, firstSourceScale: firstSourceScale,
                                postOps: postOps)
    }

    /// Whether `winograd` (oneDNN offered it) has a scratchpad within the limit.
    func admits(winograd: PrimitiveDescriptor?) -> Bool {
        guard passes.contains(.winograd), let winograd else { return false }
        return winograd.memoryDescriptor(.scratchpad).byteCount <= winogradScratchLimit
    }

    /// The most bytes of float Winograd weights an inference network keeps transformed (`Conv2dKernel.pretransforms`,
    /// `Conv2dKernel.suitsSmallWinograd`): 4x the weights' own size each for F(4x4, 3x3), 16/9 for F(2x2, 3x3).
    static let pretransformedWinogradLimit = 128 << 20
    private var pretransformedWinogradBytes = 0

    /// Whether `bytes` more of transformed Winograd weights fit `pretransformedWinogradLimit`; if so they are counted.
    func reservePretransformedWinograd(_ bytes: Int) -> Bool {
        guard pretransformedWinogradBytes + bytes <= Self.pretransformedWinogradLimit else { return false }
        pretransformedWinogradBytes += bytes
        return true
    }

    /// `winograd` if oneDNN offered it and its scratchpad is within the limit, else `direct`.
    func preferWinograd(_ winograd: @autoclosure () -> PrimitiveDescriptor?, over direct: PrimitiveDescriptor) -> PrimitiveDescriptor {
        guard passes.contains(.winograd), let w = winograd(), admits(winograd: w) else { return direct }
        return w
    }
}


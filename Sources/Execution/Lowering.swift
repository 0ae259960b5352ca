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
    /// int8 networks: the values kept as 8-bit integers, by `Graph.Value.id`, with their range: written by an int8
    /// convolution and read only, as their input, by int8 convolutions of that same range, which so need no
    /// quantizing step.
    let int8Values: [Int: Quantization.InputRange]
    private let parameters: [String: Parameter]
    private(set) var buffers: [Buffer] = []
    /// Copies the model's parameters into dedicated buffers (inference), run by `loadParameters`.
    var loaders: [() throws -> Void] = []
    private let placeholder: Memory
    private var inputDescriptor: MemoryDescriptor?

    init(graph: Graph, parameters: [String: Parameter], training: Bool, inputGradient: Bool, precision: Precision,
         passes: Set<Pass>, valuePrecisions: [Precision], formats: [FormatTag], winogradScratchLimit: Int? = nil,
         batchNormGroup: ProcessGroup? = nil, quantization: Quantization? = nil, inputObserver: ConvolutionInputObserver? = nil) throws {
        (self.graph, self.parameters, self.training, self.precision) = (graph, parameters, training, precision)
        (self.quantization, self.inputObserver) = training ? (nil, nil) : (quantization, inputObserver)
        int8Values = training ? [:] : Self.int8Values(graph, quantization)
        self.batchNormGroup = training ? batchNormGroup : nil
        self.inputGradient = training && inputGradient
        (self.passes, self.valuePrecisions, self.formats) = (passes, valuePrecisions, formats)
        placeholder = try Memory(MemoryDescriptor(dims: [16], format: .a))
        self.winogradScratchLimit = winogradScratchLimit ?? Self.winogradScratchLimit(graph, precision: precision, training: training)
    }

    /// The default Winograd scratchpad limit: 1.6x the largest activation's bytes, at least 96 MiB, or
    /// `UNET_WINOGRAD_SCRATCH_MB`. A bf16 network's activations count at 2 bytes in training; in inference at fp32's 4,
    /// so its fp32 levels get the fp32 network's budget (and it uses no more memory than that network).
    static func winogradScratchLimit(_ graph: Graph, precision: Precision, training: Bool) -> Int {
        if let override = ProcessInfo.processInfo.environment["UNET_WINOGRAD_SCRATCH_MB"].flatMap(Int.init) { return override << 20 }
        let largest = graph.shapes.map { $0.reduce(1, *) }.max()! * (precision == .bf16 && training ? 2 : 4)
        return max(96 << 20, largest * 8 / 5)
    }

    // MARK: - Values

    func dataType(_ value: Graph.Value) -> DataType {
        if let range = int8Values[value.id] { return range.signed ? .s8 : .u8 }
        return valuePrecisions[value.id] == .bf16 ? .bf16 : .f32
    }

    /// See `int8Values`. A partial sum (a split convolution's first part, and the part adding into it) stays float32.
    private static func int8Values(_ graph: Graph, _ quantization: Quantization?) -> [Int: Quantization.InputRange] {
        guard let quantization else { return [:] }
        func range(_ node: Graph.Node) -> Quantization.InputRange? {
            guard case .conv2d(let a) = node.op, !a.accumulates else { return nil }
            return quantization.inputs[node.name]
        }
        let consumers = graph.consumers
        var values: [Int: Quantization.InputRange] = [:]
        for node in graph.nodes where range(node) != nil && !graph.isOutput(node.output) {
            let readers = (consumers[node.output] ?? []).map { graph.nodes[$0] }
            guard let first = readers.first.flatMap(range),
                  readers.allSatisfy({ range($0) == first && $0.inputs[0] == node.output && !$0.inputs.dropFirst().contains(node.output) })
            else { continue }
            values[node.output.id] = first
        }
        return values
    }

    /// The range an int8 convolution quantizes its input to (nil: it runs in float32, as every convolution in training).
    func int8Range(of node: Graph.Node) -> Quantization.InputRange? { quantization?.inputs[node.name] }

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

    /// Sets the input's layout (a convolution reading it asked oneDNN for its preferred one).
    func setInputDescriptor(_ descriptor: MemoryDescriptor) { inputDescriptor = descriptor }

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

    /// The scratchpad `primitive` needs, as a buffer of its own (nil if it needs none).
    func scratchpad(_ primitive: Primitive, _ name: String) throws -> Buffer? {
        try primitive.scratchpadNeeded.map { try buffer(name + " scratchpad", .scratchpad, $0) }
    }

    /// A fused activation as oneDNN's eltwise post-op (none for nil).
    static func postOps(_ activation: Activation?) -> [PrimitiveAttributes.PostOp] {
        switch activation {
        case .relu: [.relu]
        case .leakyReLU(let slope): [.leakyReLU(slope: slope)]
        case nil: []
        }
    }

    /// Attributes with the user-managed scratchpad and the given post-ops.
    func attributes(_ postOps: [PrimitiveAttributes.PostOp] = [], outputScales: [Float]? = nil) throws -> PrimitiveAttributes {
        try PrimitiveAttributes(outputScales: outputScales.map { (mask: $0.count == 1 ? 0 : 2, values: $0) }, postOps: postOps)
    }

    /// Whether `winograd` (oneDNN offered it) has a scratchpad within the limit.
    func admits(winograd: PrimitiveDescriptor?) -> Bool {
        guard passes.contains(.winograd), let winograd else { return false }
        return winograd.memoryDescriptor(.scratchpad).byteCount <= winogradScratchLimit
    }

    /// `winograd` if oneDNN offered it and its scratchpad is within the limit, else `direct`.
    func preferWinograd(_ winograd: @autoclosure () -> PrimitiveDescriptor?, over direct: PrimitiveDescriptor) -> PrimitiveDescriptor {
        guard passes.contains(.winograd), let w = winograd(), admits(winograd: w) else { return direct }
        return w
    }
}


import DNNL
import Graph
import NN
import Tensors

/// The steps of a compiled network in the order they run — forward, then in training backward — made from the
/// graph and its kernels. Deciding which value lives in which buffer is done here, once:
///
/// - A value backward reads is either kept from forward or made again right before it is read, by the same
///   kernel's `recompute` steps, as an explicit entry of the schedule (the recompute pass): cheap values (a
///   normalization with its saved statistics, an activation, a copy) are made again where that takes at most
///   `cheapChain` such steps (a ResNet block's output, made from the block before's, would take the whole stage,
///   so it is kept), and in fp32 a convolution too where everything it needs is at hand (rebuilding it costs at
///   most 1.25x the convolution itself), else the value is kept. A value forward reads far from where it was made
///   (a U-Net's skip) is made again the same way. Made-again values are new buffers, so the memory plan sees their short lives.
/// - A value read by several nodes gets its gradient from each: the first writes it, the others add into it.
/// - A parameter's gradient is handed over (`GradientSink`, to `.grad` or to an optimizer step) right after the
///   backward of the last node that reads the parameter, when all its parts are computed.
final class Schedule {
    private(set) var steps: [Step] = []
    /// Steps `0..<forwardCount` are forward (with the copies in and out); the rest backward.
    private(set) var forwardCount = 0
    /// Every trainable parameter backward hands over, with the row alignment of its pieces.
    private(set) var deliveries: [(parameter: Parameter, alignment: Int)] = []
    /// Where the running backward puts parameter gradients.
    var sink = GradientSink()
    /// The tensors crossing the boundary during a run.
    var pendingInput: Tensor?
    var pendingOutput: Tensor?
    var pendingOutputGradient: Tensor?
    /// `graph.auxiliaryOutputs`' tensors (appended in order by forward) and gradients (read by backward), in its order.
    var pendingAuxiliaryOutputs: [Tensor] = []
    var pendingAuxiliaryGradients: [Tensor] = []
    /// The input's gradient after a backward that computes it.
    var pendingInputGradient: Tensor?
    /// The tensors the copy-out steps delivered last, by step name: a new tensor of a few megabytes would cost a page
    /// fault per 4 KB page on every run (2 MB of logits: about 0.7 ms).
    private var spareOutputs: [String: Tensor] = [:]

    private enum Phase { case forward, backward }

    private struct Instance {
        let buffer: Buffer
        let phase: Phase
        let group: Int
    }

    private let graph: Graph
    private let kernels: [NodeKernel]
    private let lowering: Lowering
    private var producers: [Graph.Value: Int] = [:]
    private var kept: [Graph.Value: Bool] = [:]
    private var forwardInstances: [Graph.Value: Buffer] = [:]
    private var instances: [Graph.Value: Instance] = [:]
    private var gradients: [Graph.Value: Buffer] = [:]
    /// How many values' gradients each gradient buffer currently is (a pass-through gradient serves several).
    private var holders: [Int: Int] = [:]

    /// - Parameter recomputesConvolutions: whether training may make convolution outputs again (see above).
    init(graph: Graph, kernels: [NodeKernel], lowering: Lowering, recomputesConvolutions: Bool) throws {
        (self.graph, self.kernels, self.lowering) = (graph, kernels, lowering)
        for (index, node) in graph.nodes.enumerated() { producers[node.output] = index }
        decideKept(recomputes: lowering.training && lowering.passes.contains(.recompute),
                   convolutions: recomputesConvolutions)
        try scheduleForward()
        forwardCount = steps.count
        if lowering.training { try scheduleBackward() }
    }

    // MARK: - Keep or make again

    /// A value made again stays at hand for readers within this many nodes of where it was made (forward or
    /// backward): a decoder reads its skip for its first convolution's recompute and again for that convolution's
    /// backward three nodes later.
    private static let recentNodes = 3

    /// For every value, whether readers far from where it was made read the forward copy (kept) or one made again.
    /// Cheap values are made again within `cheapChain` steps; a convolution's output is made again only where
    /// everything it needs is kept or cheap to make (rebuilding it costs at most 1.25x the convolution, as a U-Net
    /// block's first convolution or a decoder's, whose up-sampling is a small 1x1 convolution) and no reader in forward
    /// needs it far from where it was made (a skip's pre-normalization map is kept: a convolution is never run again in
    /// forward).
    private func decideKept(recomputes: Bool, convolutions: Bool) {
        // Whether a value, or a cheap value made from it, is read in forward far from where it was made.
        var farInForward: [Graph.Value: Bool] = [:]
        let consumers = graph.consumers
        for (index, node) in graph.nodes.enumerated().reversed() {
            let readers = consumers[node.output] ?? []
            farInForward[node.output] = readers.contains { $0 > index + Self.recentNodes }
                || readers.contains { reader in
                    if case .cheap = kernels[reader].cost { return farInForward[graph.nodes[reader].output] ?? false }
                    return false
                }
        }
        var rebuild: [Graph.Value: Double] = [graph.input: 0]
        var chain: [Graph.Value: Double] = [:]
        // How many cheap steps making a value again runs: its own and those of the values it needs that are not kept.
        var rebuildSteps: [Graph.Value: Int] = [graph.input: 0]
        kept[graph.input] = true
        for (index, node) in graph.nodes.enumerated() {
            let kernel = kernels[index]
            let inputsCost = node.inputs.reduce(0.0) { $0 + (kept[$1]! ? 0 : rebuild[$1]!) }
            let cheap = if case .cheap = kernel.cost { 1 } else { 0 }
            rebuildSteps[node.output] = cheap + node.inputs.reduce(0) { $0 + (kept[$1]! ? 0 : rebuildSteps[$1]!) }
            switch kernel.cost {
            case .never:
                kept[node.output] = true
            case .cheap:
                kept[node.output] = !recomputes || rebuildSteps[node.output]! > Self.cheapChain
                rebuild[node.output] = inputsCost
            case .convolution(let flops):
                let own = flops + (kernel.outputReusesInput.map { chain[node.inputs[$0]] ?? 0 } ?? 0)
                chain[node.output] = own
                rebuild[node.output] = flops + inputsCost
                kept[node.output] = !(recomputes && convolutions && flops + inputsCost <= 1.25 * own && !farInForward[node.output]!)
            }
            if kept[node.output]! { (rebuild[node.output], rebuildSteps[node.output]) = (0, 0) }
        }
    }

    /// The most cheap steps a cheap value is made again with; one that needs more (a ResNet's residual block output,
    /// made from the block before's, and so on down the stage) is kept, else each block's backward would make the whole
    /// chain again.
    private static let cheapChain = 4

    /// A buffer holding `value` for a step of `group`: the kept forward copy, a recent copy, or one made now.
    private func available(_ value: Graph.Value, group: Int, phase: Phase) throws -> Buffer {
        if kept[value]!, let buffer = forwardInstances[value] { return buffer }
        if let instance = instances[value], instance.phase == phase {
            let recent = instance.group >= group - Self.recentNodes
            switch kernels[producers[value]!].cost {
            case .cheap where recent: return instance.buffer
            case .convolution: return instance.buffer
            case .never: return instance.buffer
            default: break
            }
        }
        guard let index = producers[value] else { throw CompilationError("the network's input is no longer at hand") }
        let node = graph.nodes[index]
        let kernel = kernels[index]
        let inputs = try node.inputs.map { try available($0, group: group, phase: phase) }
        let output = try kernel.outputReusesInput.map { inputs[$0] } ?? (try lowering.buffer(node.name + " (again)", .activation, like: value))
        guard let recomputed = try kernel.recompute(inputs, output) else {
            throw CompilationError("\(node.name): its output was not kept, and it cannot be made again")
        }
        steps += recomputed
        if let reused = kernel.outputReusesInput { instances[node.inputs[reused]] = nil }
        instances[value] = Instance(buffer: output, phase: phase, group: group)
        return output
    }

    // MARK: - Forward

    private func scheduleForward() throws {
        let input = try lowering.buffer("input", .activation, like: graph.input)
        let plainInput = try MemoryDescriptor(dims: graph.shape(graph.input), format: .abcd)
        let toInput = try Reorder(from: plainInput, to: input.descriptor)
        steps.append(Step("copy the input in", reads: [], writes: [input]) { [unowned self] in
            try self.pendingInput!.withUnsafeBufferPointer { buffer in
                try Memory.borrowing(plainInput, UnsafeMutableRawPointer(mutating: buffer.baseAddress!)) { try toInput($0, input.memory) }
            }
        })
        forwardInstances[graph.input] = input
        instances[graph.input] = Instance(buffer: input, phase: .forward, group: -1)
        for (index, node) in graph.nodes.enumerated() {
            let kernel = kernels[index]
            let inputs = try node.inputs.map { try available($0, group: index, phase: .forward) }
            let output = try kernel.outputReusesInput.map { inputs[$0] } ?? (try lowering.buffer(node.name, .activation, like: node.output))
            steps += try kernel.forward(inputs, output)
            if let reused = kernel.outputReusesInput {
                instances[node.inputs[reused]] = nil
                forwardInstances[node.inputs[reused]] = nil
            }
            forwardInstances[node.output] = output
            instances[node.output] = Instance(buffer: output, phase: .forward, group: index)
        }
        try copyOut(try available(graph.output, group: graph.nodes.count, phase: .forward), shape: graph.shape(graph.output), "copy the output out") { [unowned self] in self.pendingOutput = $0 }
        for value in graph.auxiliaryOutputs {
            try copyOut(try available(value, group: graph.nodes.count, phase: .forward), shape: graph.shape(value), "copy output \(value) out") {
                [unowned self] in self.pendingAuxiliaryOutputs.append($0)
            }
        }
    }

    /// The step copying `buffer`, of a value of `shape`, out as a plain float32 tensor handed to `deliver`: into the
    /// tensor this step delivered last time where its reader has let go of it (`spareOutputs`).
    private func copyOut(_ buffer: Buffer, shape: [Int], _ name: String, _ deliver: @escaping (Tensor) -> Void) throws {
        let plain = try MemoryDescriptor(dims: shape, format: .abcd)
        let toPlain = try Reorder(from: buffer.descriptor, to: plain)
        steps.append(Step(name, reads: [buffer], writes: []) { [unowned self] in
            var result = spareOutputs.removeValue(forKey: name) ?? Tensor.empty(shape: shape)
            if !result.holdsStorageAlone() { result = Tensor.empty(shape: shape) }
            try result.withUnsafeMutableBufferPointer { pointer in
                try Memory.borrowing(plain, UnsafeMutableRawPointer(pointer.baseAddress!)) { try toPlain(buffer.memory, $0) }
            }
            spareOutputs[name] = result
            deliver(result)
        })
    }

    // MARK: - Backward

    private func scheduleBackward() throws {
        let n = graph.nodes.count
        var requiresGradient: [Graph.Value: Bool] = [graph.input: lowering.inputGradient]
        var lastUser: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() {
            let trainable = try node.op.parameterKeys.filter { try lowering.parameter($0).requiresGrad }
            requiresGradient[node.output] = !trainable.isEmpty || node.inputs.contains { requiresGradient[$0]! }
            for key in trainable where lastUser[key] == nil { lastUser[key] = index }
        }
        try copyIn(gradientOf: graph.output) { [unowned self] in self.pendingOutputGradient! }
        for (k, value) in graph.auxiliaryOutputs.enumerated() {
            try copyIn(gradientOf: value) { [unowned self] in self.pendingAuxiliaryGradients[k] }
        }
        var sources: [ObjectIdentifier: [GradientSource]] = [:]
        for index in stride(from: n - 1, through: 0, by: -1) {
            let node = graph.nodes[index]
            let kernel = kernels[index]
            let group = 2 * n - index
            guard let dy = gradients[node.output] else { continue }
            let reads = kernel.backwardReads
            let inputs = try node.inputs.enumerated().map { k, value in
                reads.inputs[k] ? try available(value, group: group, phase: .backward) : nil
            }
            let output = reads.output ? try available(node.output, group: group, phase: .backward) : nil
            let wanted = node.inputs.map { requiresGradient[$0]! }
            var nodeSources: [GradientSource] = []
            let (backward, inputGradients) = try kernel.backward(
                inputs: inputs, output: output, outputGradient: dy, wanted: wanted,
                gradient: { k in try self.lowering.buffer("gradient of \(node.inputs[k]) for \(node.name)", .gradient, like: node.inputs[k]) },
                sources: &nodeSources)
            steps += backward
            release(node.output)
            for (k, g) in inputGradients.enumerated() {
                if let g, wanted[k] { try accumulate(node.inputs[k], g) }
            }
            for source in nodeSources { sources[ObjectIdentifier(source.parameter), default: []].append(source) }
            for key in node.op.parameterKeys where lastUser[key] == index {
                let parameter = try lowering.parameter(key)
                guard let parts = sources[ObjectIdentifier(parameter)], !parts.isEmpty else { continue }
                try deliver(key, parameter, parts)
            }
        }
        if lowering.inputGradient, let dx = gradients[graph.input] {
            try copyOut(dx, shape: graph.shape(graph.input), "copy the input gradient out") { [unowned self] in self.pendingInputGradient = $0 }
        }
    }

    /// The step copying the gradient of output `value` in from the plain float32 tensor `source` gives.
    private func copyIn(gradientOf value: Graph.Value, _ source: @escaping () -> Tensor) throws {
        let buffer = try lowering.buffer(value == graph.output ? "output gradient" : "gradient of output \(value)", .gradient, like: value)
        let plain = try MemoryDescriptor(dims: graph.shape(value), format: .abcd)
        let fromPlain = try Reorder(from: plain, to: buffer.descriptor)
        steps.append(Step(value == graph.output ? "copy the output gradient in" : "copy the gradient of output \(value) in",
                          reads: [], writes: [buffer]) {
            try source().withUnsafeBufferPointer { pointer in
                try Memory.borrowing(plain, UnsafeMutableRawPointer(mutating: pointer.baseAddress!)) { try fromPlain($0, buffer.memory) }
            }
        })
        setGradient(value, buffer)
    }

    private func setGradient(_ value: Graph.Value, _ buffer: Buffer) {
        gradients[value] = buffer
        holders[buffer.id, default: 0] += 1
    }

    /// The value's gradient is spent: its backward has run.
    private func release(_ value: Graph.Value) {
        guard let buffer = gradients.removeValue(forKey: value) else { return }
        holders[buffer.id, default: 1] -= 1
    }

    /// Adds `contribution` to `value`'s gradient: the first becomes it; the next are added, in place where the
    /// gradient is no other value's.
    private func accumulate(_ value: Graph.Value, _ contribution: Buffer) throws {
        guard let existing = gradients[value] else { return setGradient(value, contribution) }
        let descriptor = existing.descriptor
        let add = try Primitive(.binaryAdd(source0: descriptor, source1: contribution.descriptor, destination: descriptor,
                                           attributes: try lowering.attributes()))
        let name = "gradient of \(value): add"
        if holders[existing.id] == 1 {
            steps.append(.primitive(name, add, reading: [.source: existing, .source1: contribution], writing: [.destination: existing],
                                    scratchpad: try lowering.scratchpad(add, name)))
        } else {
            let sum = try lowering.buffer("gradient of \(value)", .gradient, descriptor)
            steps.append(.primitive(name, add, reading: [.source: existing, .source1: contribution], writing: [.destination: sum],
                                    scratchpad: try lowering.scratchpad(add, name)))
            release(value)
            setGradient(value, sum)
        }
    }

    /// The step handing `parameter`'s gradient over, from all its parts.
    private func deliver(_ key: String, _ parameter: Parameter, _ parts: [GradientSource]) throws {
        let rows = parameter.value.shape.first ?? 1
        let alignment = min(parts.map(\.alignment).reduce(1) { a, b in a / greatestCommonDivisor(a, b) * b }, max(rows, 1))
        deliveries.append((parameter, alignment))
        steps.append(Step("hand over the gradient of \(key)", reads: parts.flatMap(\.reads), writes: []) { [unowned self] in
            try self.sink.deliver(parameter, alignment: alignment) { rows, base in
                for part in parts { try part.fill(rows, base) }
            }
        })
    }
}

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }

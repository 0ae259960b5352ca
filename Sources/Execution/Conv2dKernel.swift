import DNNL
import Graph
import NN
import Tensors

/// `conv2d` in a compiled network, with what passes add to it: a slice of the weight's input channels adding into
/// a partial sum (a convolution split over concatenated inputs), the whole convolution adding into a residual map
/// (inference), a folded eval-mode batch norm, a fused activation, a transposed convolution's weight read as a 1x1
/// one.
///
/// Weights: for inference they are copied in once (`Lowering.loaders`) into storage of their own in the layout
/// oneDNN chose; for training they are staged from the model's tensor into a short-lived buffer right before
/// each use, and the weight gradient is handed over right after backward has it, so a training network holds
/// no copy of the weights and the model's parameters are always the current ones.
///
/// int8 (a network compiled with a `Quantization` listing this convolution): a reorder quantizes the float32 input to
/// u8 (or s8 where it can be negative) with the listed range, the weights are quantized per output channel to the
/// largest magnitude of each (7 bits for u8 inputs on CPUs without VNNI, whose byte multiply-adds saturate in 16 bits;
/// oneDNN itself halves them for s8 inputs there), and oneDNN's int8 kernel writes float32 with the bias and
/// post-ops; its scales are fixed when the kernel is made. Where every reader of its output is an int8 convolution of
/// one range (`Lowering.int8Values`), it writes that output as u8 or s8 in that range, and the readers skip their
/// quantizing step; its activation then acts on values in that range's steps (`Lowering.postOps(_:step:)`). A part
/// adding into such an output reads the first part's partial sum, written in the output's steps
/// (`Lowering.int8PartialSums`), as a post-op's addend, instead of adding into it in place. A residual added into in
/// place may be 8 bits with the sum (a ResNet's stream): the sum post-op then scales it from its steps to the output's.
/// Grouped and depthwise convolutions run in int8 as the others do, their weights' steps per output channel.
///
/// fp32 convolutions of 3x3 with at least 32 channels in and out (16 out in inference) run oneDNN's Winograd
/// F(4x4, 3x3) kernels where oneDNN has them (AVX-512) within the scratchpad limit, in inference on small maps with
/// their weights transformed once (`pretransforms`); the rest run direct kernels, as do those of float32 inference on
/// maps under 512 pixels, which run channels-last (`LayoutChoice.isSmallMap`).
/// oneDNN 2.6's Winograd takes a ReLU post-op but not a leaky one: with a fused leaky ReLU (MONAI's PReLU, baked) the
/// activation then runs in place right after it. In an fp32 region of a bf16 network, a weight gradient whose
/// Winograd scratchpad would pass the limit runs in bf16 from bf16 copies of its inputs (fp32 direct is the slowest
/// choice there; `Sources/Execution/README.md` has the figures).
///
/// Inference (with the `plan-memory` pass) may run a convolution as one primitive over equal slices of its output
/// (`slices`): a Winograd convolution per image where one image's scratchpad is at most half the batch's (its input
/// and output transforms grow with the batch; the weights' transform does not), and, for one image, a direct one over
/// parts of its output channels where its scratchpad would pass the output's own size (oneDNN 2.6's bf16 1x1 kernel
/// keeps a float32 copy of the whole output per thread). Each slice reads the same weights (images) or its own rows of
/// them and of the bias (channels); the scratchpad is a slice's.
final class Conv2dKernel: NodeKernel {
    private let a: Conv2dAttributes
    private let name: String
    private let lowering: Lowering
    private let training: Bool
    /// Logical weight dimensions for oneDNN: `(O, I, kH, kW)`, or `(G, O/G, I/G, kH, kW)` with groups.
    private let weightDims: [Int]
    /// The model's weight tensor's shape.
    private let weightShape: [Int]
    private let outputElements: Int
    private let geometry: SpatialGeometry
    private let source: MemoryDescriptor
    private let destination: MemoryDescriptor
    private let forwardPrimitive: Primitive
    /// Inference: the forward primitive covers one of `count` equal slices of the output along `dimension` (0: images,
    /// 1: output channels), run one after another; nil: the whole output.
    private let slices: (dimension: Int, count: Int)?
    /// The fused activation where the forward primitive (Winograd) could not take it as a post-op: run in place after it.
    private let activationAfter: Primitive?
    private let weight: Parameter
    private let bias: Parameter?
    /// Whether this convolution adds a bias (its own, or a folded batch norm's shift): not the later parts of a split.
    private let addsBias: Bool
    /// A part adding in that reads the partial sum as a post-op's addend and writes a buffer of its own (int8):
    /// the addend's layout.
    private let partialAddend: MemoryDescriptor?
    private let activationBackward: Primitive?
    private let backwardDataPrimitive: Primitive?
    private let backwardWeightsPrimitive: Primitive?
    /// Copies the weight gradient reads in other layouts: bf16 copies of the source and the output gradient for a
    /// bf16 weight gradient in an fp32 region, or the source alone in channel blocks (one plain channel).
    private let gradientInputCopies: (source: MemoryDescriptor, diffDestination: MemoryDescriptor?)?
    /// Inference: the weights and bias, loaded once.
    private var loadedWeights: Buffer?
    private var loadedBias: Buffer?
    /// Inference, sliced along output channels: each slice's rows of `loadedWeights` and `loadedBias`.
    private var loadedSlices: [(weights: Memory, bias: Memory?)] = []
    /// int8: the input's range, the reorder quantizing the input to the primitive's source, each output channel's
    /// weight step and the largest quantized weight.
    private let int8: (range: Quantization.InputRange, quantize: Primitive?, weightScales: [Float], limit: Float)?
    /// Calibration: whether forward hands its input to `Lowering.inputObserver`.
    private let observesInput: Bool
    /// The value it convolves (int8: its quantized copy is shared, `Lowering.quantizedInput`).
    private let inputValue: Graph.Value

    /// Whether `node` has the shape oneDNN's Winograd kernels take and pay off on: a 3x3 stride-1 convolution of one
    /// group with at least 32 channels in and out (in inference, 16 out will do), making at least 256 output pixels
    /// over the batch (in fp32, where the `winograd` pass is on and the scratchpad fits). On fewer pixels its weight
    /// transform, run at every call and costing by the channels alone, outweighs what it saves: 512 channels on 8x8 at
    /// batch 2 take 1.4x direct's time (`scripts/bench_onednn.sh winograd`). From 16 channels in it loses to direct,
    /// and with 16 out it wins only from 32 in: so training, whose backward pass maps the output's channels to the
    /// input's, keeps 32 for both.
    static func suitsWinograd(_ node: Graph.Node, in graph: Graph, training: Bool) -> Bool {
        let output = graph.shape(node.output)
        return node.op.isConvolution3x3 && graph.shape(node.inputs[0])[1] >= 32 && output[1] >= (training ? 32 : 16)
            && output[0] * output[2] * output[3] >= 256
    }

    /// Whether float32 inference runs `node` in oneDNN's F(2x2, 3x3) Winograd kernel, its weights transformed once
    /// (16 values for each 9): a 3x3 stride-1 convolution of one group with at least 256 channels in and out, making 64
    /// to 128 output pixels over the batch, where oneDNN's inference variant takes that kernel. It stays in the channel
    /// blocks that kernel needs, on a map that `LayoutChoice.isSmallMap` would otherwise run channels-last; where oneDNN
    /// offers another kernel or the weights pass `Lowering.pretransformedWinogradLimit` it runs direct.
    static func suitsSmallWinograd(_ node: Graph.Node, in graph: Graph) -> Bool {
        let output = graph.shape(node.output)
        return node.op.isConvolution3x3 && graph.shape(node.inputs[0])[1] >= 256 && output[1] >= 256
            && (64...128).contains(output[0] * output[2] * output[3])
    }

    /// Whether an fp32 Winograd convolution in inference making `pixels` output pixels per call keeps its weights
    /// transformed (oneDNN's inference variant, 4x the weights' size, within `Lowering.pretransformedWinogradLimit`)
    /// instead of transforming them at every call: on at most 1024 pixels that transform is a large part of the call
    /// (256 channels on 16x16: 0.37 against 0.88 ms); on 4096 it saves under a tenth, and from 16384 nothing.
    static func pretransforms(pixels: Int) -> Bool { pixels <= 1024 }

    /// Whether an int8 convolution of `node` (reading 8 unsigned bits) runs oneDNN's int8 Winograd kernel (F(2x2, 3x3),
    /// VNNI): a 3x3 stride-1 convolution of one group with at least 256 channels in and out, where a network runs
    /// faster with it than with the direct int8 kernel; with 128 channels it is slower (the measurements are in
    /// `Sources/Execution/README.md`). Its input and weight transforms are rounded to 8 bits again, a few times direct
    /// int8's error against float32, which the deep levels of a U-Net carry.
    static func suitsInt8Winograd(_ node: Graph.Node, in graph: Graph) -> Bool {
        node.op.isConvolution3x3 && CPUISA.hasVNNI && graph.shape(node.inputs[0])[1] >= 256 && graph.shape(node.output)[1] >= 256
    }

    /// Whether inference runs a Winograd convolution per image (`image`, one image of `whole`): where one image's
    /// scratchpad is at most half the batch's, so that the input and output transforms, which grow with the batch,
    /// outweigh the weights' transform, which does not; there an image has tiles enough to keep the kernel's speed.
    static func runsPerImage(whole: PrimitiveDescriptor, image: PrimitiveDescriptor) -> Bool {
        2 * image.memoryDescriptor(.scratchpad).byteCount <= whole.memoryDescriptor(.scratchpad).byteCount
    }

    /// `descriptor` for one of `slice.count` equal parts along dimension `slice.dimension` (the whole for nil).
    static func part(_ descriptor: MemoryDescriptor, _ slice: (dimension: Int, count: Int)?) throws -> MemoryDescriptor {
        guard let slice else { return descriptor }
        guard let tag = descriptor.layoutTag else { throw CompilationError("a slice of a \(descriptor.layoutName) memory") }
        var dims = descriptor.dims
        dims[slice.dimension] /= slice.count
        return try MemoryDescriptor(dims: dims, dataType: descriptor.dataType, format: tag)
    }

    /// Whether an int8 network may run `node` in int8: a convolution (grouped and depthwise ones too) that neither
    /// reads the network's input (the image, a few channels) nor writes its output (the logits).
    static func isQuantizable(_ node: Graph.Node, in graph: Graph) -> Bool {
        guard case .conv2d = node.op else { return false }
        return node.inputs[0] != graph.input && !graph.isOutput(node.output)
    }

    init(_ node: Graph.Node, attributes a: Conv2dAttributes, lowering: Lowering) throws {
        (self.a, name, self.lowering, training) = (a, node.name, lowering, lowering.training)
        observesInput = lowering.inputObserver != nil && Self.isQuantizable(node, in: lowering.graph)
        inputValue = node.inputs[0]
        let inputShape = lowering.graph.shape(node.inputs[0])
        outputElements = lowering.graph.shape(node.output).reduce(1, *)
        let inputChannels = inputShape[1]
        weight = try lowering.parameter(a.weight)
        bias = try a.bias.map { try lowering.parameter($0) }
        weightShape = weight.value.shape
        let g = a.groups
        weightDims = g == 1
            ? [a.outputChannels, inputChannels] + a.kernel
            : [g, a.outputChannels / g, inputChannels / g] + a.kernel
        try Self.checkWeight(a, shape: weightShape, inputChannels: inputChannels, name: node.name)
        if let norm = a.foldedNorm, !training {
            let channels = a.outputChannels / Self.repeats(a)
            for key in [norm.weight, norm.bias, norm.runningMean, norm.runningVar] {
                let shape = try lowering.parameter(key).value.shape
                guard shape == [channels] else { throw CompilationError("\(node.name): \(key) is \(shape), the batch norm needs (\(channels))") }
            }
        }
        // A split's later parts (a slice of the weight's input channels) leave the bias to the first; a convolution
        // adding into a residual map adds its own.
        addsBias = (!a.accumulates || a.weightInputChannels == nil) && (bias != nil || (!training && a.foldedNorm != nil))
        geometry = SpatialGeometry(strides: a.stride, paddingLeft: [a.padding[0], a.padding[2]],
                                   paddingRight: [a.padding[1], a.padding[3]], dilation: a.dilation)
        let outputType = lowering.dataType(node.output)
        let int8Range = lowering.int8Range(of: node)
        // The arithmetic: the output's precision, but for a bf16 edge of an int8 network (`PrecisionRegions.bf16Edges`),
        // which reads bf16 and writes float32.
        let type = int8Range == nil && lowering.dataType(node.inputs[0]) == .bf16 ? DataType.bf16 : outputType
        let destination = try lowering.descriptor(node.output)
        self.destination = destination
        // The input's layout is the first convolution's choice where convolutions alone read it; the others read it so.
        let readsInput = node.inputs[0] == lowering.graph.input && lowering.formats[node.output.id] != .abcd
            && lowering.graph.onlyConvolutionsReadInput
        let isInput = readsInput && !lowering.inputLayoutChosen
        let quantized = lowering.int8Values[node.inputs[0].id] != nil
        let sourceWanted = if let int8Range {
            quantized ? try lowering.descriptor(node.inputs[0])
                : try MemoryDescriptor(dims: inputShape, dataType: int8Range.signed ? .s8 : .u8, format: .acdb)
        } else if isInput {
            try MemoryDescriptor(dims: inputShape, dataType: type, format: .any)
        } else {
            try lowering.descriptor(node.inputs[0])
        }
        let winograd = int8Range == nil && lowering.passes.contains(.winograd) && type == .f32
            && Self.suitsWinograd(node, in: lowering.graph, training: training)
        let smallWinograd = int8Range == nil && !training && lowering.passes.contains(.winograd) && type == .f32
            && sourceWanted.layoutTag != .acdb && Self.suitsSmallWinograd(node, in: lowering.graph)
        let int8Winograd = int8Range.map { !$0.signed } == true && lowering.passes.contains(.winograd)
            && Self.suitsInt8Winograd(node, in: lowering.graph)
        partialAddend = a.accumulates && lowering.int8PartialSums[node.inputs[1].id] != nil
            ? try lowering.descriptor(node.inputs[1]) : nil
        // An output written in 8 bits is in its range's steps when the post-ops run.
        let outputRange = int8Range == nil ? nil : lowering.int8Values[node.output.id] ?? lowering.int8PartialSums[node.output.id]
        // An 8-bit residual added into in place (`Lowering.int8Values`: then the sum is 8 bits too) is read in its own steps.
        let residualScale: Float = if a.accumulates, partialAddend == nil, let output = outputRange,
                                      let residual = lowering.int8Values[node.inputs[1].id] { residual.scale / output.scale } else { 1 }
        let sum: [PrimitiveAttributes.PostOp] = !a.accumulates ? [] : partialAddend.map { [.add($0)] } ?? [.sum(scale: residualScale)]
        let activationOp = Lowering.postOps(a.activation, step: outputRange?.scale ?? 1)
        let (training, geometry, weightDims, biasDims) = (training, geometry, weightDims, [a.outputChannels])
        let addsBias = addsBias
        var int8Scales: (weights: [Float], limit: Float)?
        if let int8Range {
            let limit: Float = int8Range.signed || CPUISA.hasVNNI ? 127 : 63
            let w = Self.plainWeight(a, weight.value, folded: Self.foldedScale(a, lowering: lowering))
            int8Scales = (Self.channelMaxima(w, channels: a.weightInputChannels).map { $0 > 0 ? $0 / limit : 1 }, limit)
        }
        // Each output channel's factor from int32 sums to the output (its 8-bit steps where it is 8 bits): ranges and
        // weights a file holds may each be finite and still make it overflow or vanish in float32.
        var outputScales: [Float]?
        if let int8Range, let int8Scales {
            let output = outputRange.map { 1 / $0.scale } ?? 1
            let scales = int8Scales.weights.map { $0 * int8Range.scale * output }
            guard scales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                let largest = int8Scales.weights.max()! * int8Scales.limit
                throw CompilationError("\(node.name): its int8 input range \(int8Range.limit) and weights of up to \(largest) give "
                                       + "scales outside float32's range; quantize the model again")
            }
            outputScales = scales
        }
        func forwardDescriptor(_ algorithm: ConvolutionAlgorithm, type: DataType, source: MemoryDescriptor? = nil,
                               activation: Bool = true, slice: (dimension: Int, count: Int)? = nil,
                               pretransformed: Bool = false) throws -> PrimitiveDescriptor
        {
            let rows = slice?.dimension == 1 ? slice!.count : 1
            let wholeSource = source ?? (int8Range == nil ? sourceWanted.with(dataType: type) : sourceWanted)
            // Inference Winograd keeps weights pre-transformed (4x their size); the training variant of the same kernel
            // transforms them on the fly from ordinary blocked weights, so float Winograd takes that one but where
            // `pretransformed` (`pretransforms`). int8 Winograd has only the inference variant, its weights transformed
            // once as they are loaded.
            return try .convolutionForward(
                .convolution, training: training || algorithm == .winograd && int8Range == nil && !pretransformed,
                source: slice?.dimension == 0 ? try Self.part(wholeSource, slice) : wholeSource,
                weights: MemoryDescriptor(dims: [weightDims[0] / rows] + weightDims.dropFirst(), dataType: int8Range == nil ? type : .s8,
                                          format: .any),
                bias: addsBias ? try MemoryDescriptor(dims: [biasDims[0] / rows], format: .a) : nil,
                // In inference the output's own type (a bf16 edge writes float32); training's bf16 gradient layouts
                // (below) ask for the destination in `type`.
                destination: try Self.part(destination.with(dataType: training ? type : outputType), slice), geometry: geometry,
                attributes: try lowering.attributes(sum + (activation ? activationOp : []), outputScales: outputScales),
                algorithm: algorithm)
        }
        // Winograd, with the activation fused where oneDNN takes it (a ReLU; a leaky one, a SiLU or a ReLU6 runs after it).
        func winogradDescriptor(slice: (dimension: Int, count: Int)? = nil, pretransformed: Bool = false)
            -> (descriptor: PrimitiveDescriptor, fused: Bool)?
        {
            if let d = try? forwardDescriptor(.winograd, type: type, slice: slice, pretransformed: pretransformed), d.isWinograd {
                return (d, true)
            }
            guard a.activation != nil, a.activation != .relu,
                  let d = try? forwardDescriptor(.winograd, type: type, activation: false, slice: slice, pretransformed: pretransformed),
                  d.isWinograd else { return nil }
            return (d, false)
        }
        let direct = try forwardDescriptor(.direct, type: type)
        var (forward, fused) = (direct, true)
        var slices: (dimension: Int, count: Int)?
        let slicing = !training && int8Range == nil && !readsInput && lowering.passes.contains(.planMemory)
        let batch = destination.dims[0]
        if winograd, let whole = winogradDescriptor() {
            if slicing, batch > 1, let image = winogradDescriptor(slice: (0, batch)), image.fused == whole.fused,
               Self.runsPerImage(whole: whole.descriptor, image: image.descriptor), lowering.admits(winograd: image.descriptor) {
                (forward, fused, slices) = (image.descriptor, image.fused, (0, batch))
            } else if lowering.admits(winograd: whole.descriptor) {
                (forward, fused) = whole
            }
        } else if int8Winograd, let d = try? forwardDescriptor(.winograd, type: type), d.isWinograd, lowering.admits(winograd: d) {
            forward = d
        }
        if winograd, !training, forward.isWinograd, Self.pretransforms(pixels: destination.dims[2] * destination.dims[3] * (slices == nil ? batch : 1)),
           let d = try? forwardDescriptor(.winograd, type: type, activation: fused, slice: slices, pretransformed: true),
           d.implementationName == forward.implementationName, lowering.admits(winograd: d),
           lowering.reservePretransformedWinograd(d.memoryDescriptor(.weights).byteCount) {
            forward = d
        }
        if smallWinograd, let small = winogradDescriptor(pretransformed: true), small.descriptor.implementationName.contains("wino_2x3"),
           lowering.admits(winograd: small.descriptor),
           lowering.reservePretransformedWinograd(small.descriptor.memoryDescriptor(.weights).byteCount) {
            (forward, fused) = small
        }
        if slicing, slices == nil, !forward.isWinograd, batch == 1, a.groups == 1, !a.accumulates, a.weightInputChannels == nil,
           forward.memoryDescriptor(.scratchpad).byteCount > destination.byteCount, destination.layoutTag != .acdb {
            let block = destination.blockSize(ofDimension: 1)
            let blocks = a.outputChannels % block == 0 ? a.outputChannels / block : 1
            for count in (1...blocks).dropFirst() where blocks % count == 0 {
                guard let part = try? forwardDescriptor(.direct, type: type, slice: (1, count)),
                      part.implementationName == forward.implementationName,
                      part.memoryDescriptor(.scratchpad).byteCount <= destination.byteCount else { continue }
                (forward, slices) = (part, (1, count))
                break
            }
        }
        self.slices = slices
        let after: EltwiseAlgorithm? = switch (fused, a.activation) {
        case (false, .leakyReLU(let slope)): .leakyReLUUsingOutput(slope: slope)
        case (false, .silu): .swish
        case (false, .relu6): .clipUsingOutput(lower: 0, upper: 6)
        default: nil
        }
        activationAfter = try after.map {
            try Primitive(.eltwiseForward($0, training: false, data: slices == nil ? forward.memoryDescriptor(.destination) : destination,
                                          attributes: try lowering.attributes()))
        }
        source = slices?.dimension == 0 ? sourceWanted.with(dataType: type) : forward.memoryDescriptor(.source)
        if isInput { lowering.setInputDescriptor(source) }
        forwardPrimitive = try Primitive(forward)
        if let int8Range, let int8Scales {
            let quantize = quantized ? nil : try Primitive(.reorder(
                source: lowering.descriptor(node.inputs[0]), destination: source,
                attributes: PrimitiveAttributes(outputScales: (mask: 0, values: [1 / int8Range.scale]))))
            int8 = (int8Range, quantize, int8Scales.weights, int8Scales.limit)
        } else {
            int8 = nil
        }

        guard training else {
            (activationBackward, backwardDataPrimitive, backwardWeightsPrimitive, gradientInputCopies) = (nil, nil, nil, nil)
            try prepareLoading(forward)
            return
        }
        switch a.activation {
        case nil:
            activationBackward = nil
        case let activation?:
            let algorithm: EltwiseAlgorithm = switch activation {
            case .relu: .reluUsingOutput
            case .leakyReLU(let slope): .leakyReLUUsingOutput(slope: slope)
            case .relu6: .clipUsingOutput(lower: 0, upper: 6)
            case .silu:
                throw CompilationError("\(node.name): a SiLU fused into a convolution has no backward (training does not fuse it)")
            }
            let hint = try PrimitiveDescriptor.eltwiseForward(algorithm, training: true, data: destination)
            activationBackward = try Primitive(.eltwiseBackward(
                algorithm, diffData: destination, data: destination, hint: hint, attributes: try lowering.attributes()))
        }
        // Each backward primitive picks its own algorithm (weights are staged per use, so layouts may differ); its
        // hint is a forward descriptor of the same algorithm.
        let winogradHint = winograd ? (forward.isWinograd ? forward : try? forwardDescriptor(.winograd, type: type)) : nil
        let wantsInputGradient = node.inputs[0] != lowering.graph.input || lowering.inputGradient
        if wantsInputGradient {
            func data(_ algorithm: ConvolutionAlgorithm, _ hint: PrimitiveDescriptor) throws -> PrimitiveDescriptor {
                try .convolutionBackwardData(
                    .convolution, diffSource: forward.memoryDescriptor(.source),
                    weights: MemoryDescriptor(dims: weightDims, dataType: type, format: .any),
                    diffDestination: forward.memoryDescriptor(.destination), geometry: geometry, hint: hint,
                    algorithm: algorithm, attributes: try lowering.attributes())
            }
            backwardDataPrimitive = try Primitive(lowering.preferWinograd(
                winogradHint.flatMap { try? data(.winograd, $0) }, over: try data(.direct, direct)))
        } else {
            backwardDataPrimitive = nil
        }
        func weights(_ algorithm: ConvolutionAlgorithm, _ layouts: PrimitiveDescriptor, _ hint: PrimitiveDescriptor) throws
            -> PrimitiveDescriptor
        {
            try .convolutionBackwardWeights(
                .convolution, source: layouts.memoryDescriptor(.source),
                diffWeights: MemoryDescriptor(dims: weightDims, format: .any),
                diffBias: addsBias ? try MemoryDescriptor(dims: biasDims, format: .a) : nil,
                diffDestination: layouts.memoryDescriptor(.destination), geometry: geometry, hint: hint,
                algorithm: algorithm, attributes: try lowering.attributes())
        }
        let winogradGradient = winogradHint.flatMap { try? weights(.winograd, forward, $0) }
        var chosen = lowering.preferWinograd(winogradGradient, over: try weights(.direct, forward, direct))
        if winograd && lowering.precision == .bf16 && !lowering.admits(winograd: winogradGradient) {
            let layouts = try forwardDescriptor(.direct, type: .bf16)
            chosen = try weights(.direct, layouts, layouts)
            gradientInputCopies = (chosen.memoryDescriptor(.source), chosen.memoryDescriptor(.diffDestination))
        } else if chosen.implementationName.hasPrefix("ref"), let block = CPUISA.channelBlock {
            // oneDNN 2.6 has only reference loops for the weight gradient of a convolution of one plain channel (a gray
            // image) on AVX2: a copy of the source in channel blocks (zero-padded) lets its vector kernel run.
            let blockedSource = try MemoryDescriptor(dims: source.dims, dataType: source.dataType, format: block == 16 ? .aBcd16b : .aBcd8b)
            let layouts = try forwardDescriptor(.direct, type: type, source: blockedSource)
            let blocked = try weights(.direct, layouts, layouts)
            if blocked.implementationName.hasPrefix("ref") {
                gradientInputCopies = nil
            } else {
                chosen = blocked
                gradientInputCopies = (blockedSource, nil)
            }
        } else {
            gradientInputCopies = nil
        }
        backwardWeightsPrimitive = try Primitive(chosen)
    }

    /// Checks the model's weight has the shape the attributes need.
    private static func checkWeight(_ a: Conv2dAttributes, shape: [Int], inputChannels: Int, name: String) throws {
        let fits: Bool
        let needed: String
        switch a.weightSource {
        case .conv2d, .upsampledAsPhase:
            // A phase of an up-sampled map's convolution (one group) reads that convolution's 3x3 weight.
            let kernel = a.weightSource == .conv2d ? a.kernel : [3, 3]
            let columns = a.weightInputChannels.map { $0.upperBound } ?? inputChannels / a.groups
            fits = shape.count == 4 && shape[0] == a.outputChannels && shape[1] >= columns && Array(shape[2...]) == kernel
                && (a.weightInputChannels != nil || shape[1] == columns)
            needed = "(\(a.outputChannels), \(columns), \(kernel[0]), \(kernel[1]))"
        case .transposedAsPointwise(let k, let outputChannels):
            fits = shape == [inputChannels, outputChannels, k, k]
            needed = "(\(inputChannels), \(outputChannels), \(k), \(k))"
        case .transposedAsSubpixel(let outputChannels), .transposedAsPhase(_, _, let outputChannels):
            let rows = a.weightInputChannels.map { $0.upperBound } ?? inputChannels
            fits = shape.count == 4 && shape[0] >= rows && Array(shape[1...]) == [outputChannels, 3, 3]
                && (a.weightInputChannels != nil || shape[0] == rows)
            needed = "(\(rows), \(outputChannels), 3, 3)"
        case .narrowAsPhases(let r, let outputChannels):
            let k = a.kernel[0] - r + 1
            fits = shape == [outputChannels, inputChannels, k, k]
            needed = "(\(outputChannels), \(inputChannels), \(k), \(k))"
        }
        guard fits else { throw CompilationError("\(name): the weight \(a.weight) is \(shape), the convolution needs \(needed)") }
    }

    /// Multiply-adds: each output element sums over its input channels' kernel windows.
    var cost: RecomputeCost {
        .convolution(flops: 2 * Double(outputElements) * Double(weightsPerOutputChannel))
    }

    /// The weights one output channel multiplies: `I/G · kH · kW` (`weightDims` after the output channels, and the
    /// group with groups).
    private var weightsPerOutputChannel: Int { weightDims.dropFirst(a.groups == 1 ? 1 : 2).reduce(1, *) }

    var outputReusesInput: Int? { a.accumulates && partialAddend == nil ? 1 : nil }

    var backwardReads: (inputs: [Bool], output: Bool) {
        // The weight gradient reads the source; a fused activation's gradient reads the output. A partial sum is not
        // read: its gradient is the output's.
        ([true] + (a.accumulates ? [false] : []), a.activation != nil)
    }

    // MARK: - Weights

    /// The plain weight this convolution multiplies, `(O, I, kH, kW)` over all the weight's input channels
    /// (`weightInputChannels` selects later): the model's, rearranged from a transposed convolution's, with a
    /// folded batch norm's scale.
    private func plainWeight() -> Tensor {
        Self.plainWeight(a, weight.value, folded: foldedScale())
    }

    /// `plainWeight()` of the model's weight `w`, with `folded`, a folded batch norm's scale.
    private static func plainWeight(_ a: Conv2dAttributes, _ w: Tensor, folded: [Float]?) -> Tensor {
        var w = w
        switch a.weightSource {
        case .conv2d: break
        case .transposedAsPointwise(let k, let cout):
            let cin = w.shape[0]
            let source = w
            w = Tensor(shape: [k * k * cout, cin, 1, 1])
            w.withUnsafeMutableBufferPointer { target in
                source.withUnsafeBufferPointer { s in
                    Self.forEachPointwiseIndex(k: k, inputChannels: cin, outputChannels: cout, 0..<cin) { t, j in target[j] = s[t] }
                }
            }
        case .transposedAsSubpixel(let cout):
            w = Self.subpixelWeight(w, outputChannels: cout, phases: [(0, 0), (0, 1), (1, 0), (1, 1)], kernel: (2, 2))
        case .transposedAsPhase(let row, let column, let cout):
            w = Self.subpixelWeight(w, outputChannels: cout, phases: [(row, column)], kernel: (1 + row, 1 + column))
        case .upsampledAsPhase(let row, let column):
            w = Self.upsampledPhaseWeight(w, row: row, column: column)
        case .narrowAsPhases(let r, _):
            w = Self.narrowPhasesWeight(w, block: r)
        }
        if let scale = folded {
            // Row `r` (an output channel) becomes channel `r % C` of the batch norm's `C` (`Graph.convolutions(behind:consumers:)`).
            let (rows, perRow) = (w.shape[0], w.count / w.shape[0])
            w.withUnsafeMutableBufferPointer { values in
                for r in 0..<rows {
                    let factor = scale[r % scale.count]
                    for i in r * perRow..<(r + 1) * perRow { values[i] *= factor }
                }
            }
        }
        return w
    }

    /// The bias this convolution adds (nil: none): its own, repeated per position for a transposed convolution's,
    /// with a folded batch norm's shift.
    private func plainBias() -> Tensor? {
        guard addsBias else { return nil }
        let repeats = Self.repeats(a)
        var b = bias?.value ?? Tensor(shape: [a.outputChannels / repeats])
        if repeats > 1 {
            let single = b
            b = Tensor(shape: [a.outputChannels]) { single[flat: $0 % single.count] }
        }
        if let norm = a.foldedNorm, let scale = foldedScale(), !training,
           let mean = try? lowering.parameter(norm.runningMean).value, let beta = try? lowering.parameter(norm.bias).value {
            let raw = b
            b = Tensor(shape: [a.outputChannels]) { o in
                let c = o % scale.count
                return (raw[flat: o] - mean[flat: c]) * scale[c] + beta[flat: c]
            }
        }
        return b
    }

    /// How many of the output channels each channel of the model's bias (and a folded batch norm) becomes: the
    /// positions of a transposed convolution's block.
    private static func repeats(_ a: Conv2dAttributes) -> Int {
        switch a.weightSource {
        case .conv2d, .transposedAsPhase, .upsampledAsPhase: 1
        case .transposedAsPointwise(let k, _): k * k
        case .transposedAsSubpixel: 4
        case .narrowAsPhases(let r, _): r * r
        }
    }

    /// `γ/√(σ²+ε)` of a folded batch norm, per channel of the batch norm (the output's after any depth to space).
    private func foldedScale() -> [Float]? { Self.foldedScale(a, lowering: lowering) }

    private static func foldedScale(_ a: Conv2dAttributes, lowering: Lowering) -> [Float]? {
        guard !lowering.training, let norm = a.foldedNorm, let gamma = try? lowering.parameter(norm.weight).value,
              let variance = try? lowering.parameter(norm.runningVar).value else { return nil }
        return (0..<gamma.count).map { o in gamma[flat: o] / (variance[flat: o] + norm.epsilon).squareRoot() }
    }

    /// The largest magnitude of each output channel (row) of the plain weight `w`, over input channels `channels`
    /// (nil: all).
    private static func channelMaxima(_ w: Tensor, channels: Range<Int>?) -> [Float] {
        let (rows, columns) = (w.shape[0], w.shape[1])
        let perColumn = w.count / max(rows * columns, 1)
        let used = channels ?? 0..<columns
        return w.withUnsafeBufferPointer { b in
            (0..<rows).map { o in
                let row = b[(o * columns + used.lowerBound) * perColumn..<(o * columns + used.upperBound) * perColumn]
                return row.reduce(0) { max($0, abs($1)) }
            }
        }
    }

    /// The view of a plain weight of `rows` output channels that this convolution reads: its input channels.
    private func view(rows: Int? = nil) throws -> PlainView {
        let shape = [rows ?? weightDims.prefix(a.groups == 1 ? 1 : 2).reduce(1, *)] + plainColumns
        if let channels = a.weightInputChannels { return try .inputChannels(channels, ofWeight: shape) }
        return try .whole(a.groups == 1 ? shape : weightDims)
    }

    /// The plain weight's dimensions after the first (all input channels).
    private var plainColumns: [Int] {
        switch a.weightSource {
        case .conv2d: Array(weightShape.dropFirst())
        case .transposedAsPointwise: [weightShape[0], 1, 1]
        case .transposedAsSubpixel: [weightShape[0], 2, 2]
        case .transposedAsPhase(let row, let column, _): [weightShape[0], 1 + row, 1 + column]
        case .upsampledAsPhase: [weightShape[1], 2, 2]
        case .narrowAsPhases: [weightShape[1]] + a.kernel
        }
    }

    /// The 2x2 weight `Wp[o, c, dy, dx]` of phase `(row, column)` of a 3x3 convolution `W[o, c, ty, tx]` reading a
    /// nearest 2x up-sampling (`Conv2dAttributes.WeightSource.upsampledAsPhase`): output row `2m + row` reads up-sampled
    /// rows `2m + row − 1 ... 2m + row + 1`, which are input rows `m − 1 + dy` (phase 0: taps {0} and {1, 2}) or
    /// `m + dy` (phase 1: taps {0, 1} and {2}); the taps on one input pixel add up.
    private static func upsampledPhaseWeight(_ w: Tensor, row: Int, column: Int) -> Tensor {
        let (cout, cin) = (w.shape[0], w.shape[1])
        func taps(_ phase: Int, _ d: Int) -> ClosedRange<Int> { phase == 0 ? (d == 0 ? 0...0 : 1...2) : (d == 0 ? 0...1 : 2...2) }
        var result = Tensor(shape: [cout, cin, 2, 2])
        result.withUnsafeMutableBufferPointer { target in
            w.withUnsafeBufferPointer { s in
                for oc in 0..<(cout * cin) { for dy in 0..<2 { for dx in 0..<2 {
                    var sum: Float = 0
                    for ty in taps(row, dy) { for tx in taps(column, dx) { sum += s[(oc * 3 + ty) * 3 + tx] } }
                    target[(oc * 2 + dy) * 2 + dx] = sum
                } } }
            }
        }
        return result
    }

    /// The `(k + r − 1)`-square weight `Wr[(r·a + b)·C_out + o, c, u, v] = W[o, c, u − a, v − b]` of a stride-1
    /// convolution's `W[o, c, ty, tx]` (`k×k`) computing its output's `r×r` blocks (`block` `r`,
    /// `Conv2dAttributes.WeightSource.narrowAsPhases`): position `(a, b)` of a block reads the window shifted by `(a, b)`.
    private static func narrowPhasesWeight(_ w: Tensor, block r: Int) -> Tensor {
        let (cout, cin, k) = (w.shape[0], w.shape[1], w.shape[2])
        let wide = k + r - 1
        var result = Tensor(shape: [r * r * cout, cin, wide, wide])
        result.withUnsafeMutableBufferPointer { target in
            w.withUnsafeBufferPointer { s in
                for a in 0..<r { for b in 0..<r { for o in 0..<cout { for c in 0..<cin { for ty in 0..<k { for tx in 0..<k {
                    let row = (a * r + b) * cout + o
                    target[((row * cin + c) * wide + ty + a) * wide + tx + b] = s[((o * cin + c) * k + ty) * k + tx]
                } } } } } }
            }
        }
        return result
    }

    /// The weight `W2[p·C_out + o, c, dy, dx]` of a kernel-3 stride-2 transposed convolution's `W[c, o, ty, tx]` for the
    /// output positions `phases[p] = (a, b)` of each 2x2 block, with a `kernel` of offsets (2x2 for all four,
    /// `transposedAsSubpixel`; `(1 + a)x(1 + b)` for one, `transposedAsPhase`): position `a` reads input offset `d`
    /// through tap `a + 1 − 2·d` where that lies in 0...2, and through nothing (0) elsewhere.
    private static func subpixelWeight(_ w: Tensor, outputChannels cout: Int, phases: [(Int, Int)], kernel: (Int, Int)) -> Tensor {
        let cin = w.shape[0]
        let (kh, kw) = kernel
        var result = Tensor(shape: [phases.count * cout, cin, kh, kw])
        result.withUnsafeMutableBufferPointer { target in
            w.withUnsafeBufferPointer { s in
                for (p, (a, b)) in phases.enumerated() { for dy in 0..<kh { for dx in 0..<kw {
                    let (ty, tx) = (a + 1 - 2 * dy, b + 1 - 2 * dx)
                    guard (0...2).contains(ty), (0...2).contains(tx) else { continue }
                    for o in 0..<cout {
                        for c in 0..<cin {
                            target[(((p * cout + o) * cin + c) * kh + dy) * kw + dx] = s[((c * cout + o) * 3 + ty) * 3 + tx]
                        }
                    }
                } } }
            }
        }
        return result
    }

    /// Calls `body(t, w)` for every weight element of input channels `channels`: `t` its index in a transposed
    /// convolution's `(C_in, C_out, k, k)` weight, `w` its index in the 1x1 weight `W1[(k·p + q)·C_out + o, c]`.
    private static func forEachPointwiseIndex(k: Int, inputChannels cin: Int, outputChannels cout: Int,
                                              _ channels: Range<Int>, _ body: (_ t: Int, _ w: Int) -> Void) {
        for pq in 0..<(k * k) {
            for o in 0..<cout {
                let row = (pq * cout + o) * cin
                for c in channels { body((c * cout + o) * k * k + pq, row + c) }
            }
        }
    }

    /// Inference: storage of its own for the weights and bias, filled by a loader.
    private func prepareLoading(_ forward: PrimitiveDescriptor) throws {
        let part = forward.memoryDescriptor(.weights)
        let parts = slices?.dimension == 1 ? slices!.count : 1
        let weights = try lowering.buffer(name + " weights", .weights,
                                          parts == 1 ? part : MemoryDescriptor(dims: [parts * part.byteCount], dataType: .u8, format: .a),
                                          dedicated: true)
        let biasBuffer = addsBias ? try lowering.buffer(name + " bias", .weights, MemoryDescriptor(dims: [a.outputChannels], format: .a),
                                                        dedicated: true) : nil
        (loadedWeights, loadedBias) = (weights, biasBuffer)
        if parts > 1 {
            let rows = a.outputChannels / parts
            loadedSlices = try (0..<parts).map { i in
                (try weights.view(part, offset: i * part.byteCount),
                 try biasBuffer.map { try $0.view(MemoryDescriptor(dims: [rows], format: .a), offset: i * rows * MemoryLayout<Float>.size) })
            }
        }
        lowering.loaders.append { [unowned self] in
            if let int8 = self.int8 { return try self.loadQuantized(int8, weights: weights, bias: biasBuffer) }
            if parts == 1 {
                try stageWeights(self.plainWeight(), self.view(), into: weights.memory, dims: self.weightDims)
            } else {
                // Each slice's rows of the plain weight, into its own part of the buffer.
                let w = self.plainWeight()
                let (rows, columns) = (self.a.outputChannels / parts, Array(w.shape.dropFirst()))
                let strides = rowMajorStrides(w.shape)
                for (i, slice) in self.loadedSlices.enumerated() {
                    let view = PlainView(descriptor: try MemoryDescriptor(dims: [rows] + columns, strides: strides), offset: i * rows * strides[0])
                    try stageWeights(w, view, into: slice.weights, dims: [rows] + self.weightDims.dropFirst())
                }
            }
            if let biasBuffer, let b = self.plainBias() { try b.copy(try .whole([self.a.outputChannels]), to: biasBuffer.memory) }
        }
    }

    /// int8: the weights rounded to their channels' steps (clipped to the largest quantized weight), and the bias in
    /// the accumulator's units (oneDNN adds it before scaling).
    /// A Winograd convolution's weights are transformed from the float32 ones and rounded to 8 bits by oneDNN's
    /// reorder, in the same channels' steps.
    private func loadQuantized(_ int8: (range: Quantization.InputRange, quantize: Primitive?, weightScales: [Float], limit: Float),
                               weights: Buffer, bias: Buffer?) throws {
        let dense = try Memory(MemoryDescriptor(dims: weightDims, strides: rowMajorStrides(weightDims)))
        try stageWeights(plainWeight(), view(), into: dense, dims: weightDims)
        if forwardPrimitive.descriptor.isWinograd {
            try Primitive(.reorder(source: dense.descriptor, destination: weights.descriptor,
                                   attributes: PrimitiveAttributes(outputScales: (mask: 1, values: int8.weightScales.map { 1 / $0 }))))
                .execute([.source: dense, .destination: weights.memory])
        } else {
            // Output channel `o` (of group `o / (O/G)` with groups) is the `o`-th run of `perRow` plain weights.
            let perRow = weightsPerOutputChannel
            let w = dense.dataPointer.assumingMemoryBound(to: Float.self)
            for (o, step) in int8.weightScales.enumerated() {
                for j in o * perRow..<(o + 1) * perRow { w[j] = min(max((w[j] / step).rounded(), -int8.limit), int8.limit) }
            }
            try copy(dense, to: weights.memory)
        }
        guard let bias, let b = plainBias() else { return }
        let units = Tensor(shape: b.shape) { o in b[flat: o] / (int8.range.scale * int8.weightScales[o]) }
        try units.copy(try .whole([a.outputChannels]), to: bias.memory)
    }

    /// Training: a step copying the current weights (and bias) into `staged` (and `stagedBias`).
    private func stageStep(_ staged: Buffer, bias stagedBias: Buffer?) -> Step {
        Step("\(name): stage weights", reads: [], writes: [staged] + (stagedBias.map { [$0] } ?? [])) { [unowned self] in
            try stageWeights(self.plainWeight(), self.view(), into: staged.memory, dims: self.weightDims)
            if let stagedBias, let b = self.plainBias() { try b.copy(try .whole([self.a.outputChannels]), to: stagedBias.memory) }
        }
    }

    // MARK: - Forward

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        try convolve(inputs, output, what: "forward")
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? {
        try convolve(inputs, output, what: "forward again")
    }

    private func convolve(_ inputs: [Buffer], _ output: Buffer, what: String) throws -> [Step] {
        var steps: [Step] = []
        var reads: [Argument: Buffer] = [.source: inputs[0]]
        if let observer = lowering.inputObserver, observesInput {
            let (input, name) = (inputs[0], name)
            steps.append(Step("\(name): observe input", reads: [input], writes: []) {
                let count = input.descriptor.byteCount / MemoryLayout<Float>.size
                observer(name, UnsafeBufferPointer(start: input.memory.dataPointer.assumingMemoryBound(to: Float.self), count: count))
            })
        }
        if let int8, let quantize = int8.quantize {
            let (quantized, made) = try lowering.quantizedInput(of: inputValue, range: int8.range, source, name: name)
            if made {
                steps.append(.primitive("\(name): quantize input", quantize, reading: [.source: inputs[0]],
                                        writing: [.destination: quantized], scratchpad: try lowering.scratchpad(quantize, name)))
            }
            reads[.source] = quantized
        }
        if training {
            let staged = try lowering.buffer(name + " staged weights", .weights, forwardPrimitive.descriptor.memoryDescriptor(.weights))
            let stagedBias = addsBias ? try lowering.buffer(name + " staged bias", .weights, MemoryDescriptor(dims: [a.outputChannels], format: .a)) : nil
            steps.append(stageStep(staged, bias: stagedBias))
            reads[.weights] = staged
            if let stagedBias { reads[.bias] = stagedBias }
        } else {
            reads[.weights] = loadedWeights!
            if let loadedBias { reads[.bias] = loadedBias }
        }
        // A part adding into a partial sum reads and writes the same buffer, or reads it as its post-op's addend.
        if partialAddend != nil {
            reads[.postOpSource(0)] = inputs[1]
        } else if a.accumulates {
            precondition(inputs[1] === output, "Conv2dKernel: the partial sum must be the output's buffer")
        }
        if let slices {
            steps.append(try slicedStep(slices, reading: reads, writing: output, what: what))
        } else {
            steps.append(.primitive("\(name): \(what)", forwardPrimitive, reading: reads, writing: [.destination: output],
                                    scratchpad: try lowering.scratchpad(forwardPrimitive, name)))
        }
        if let activationAfter {
            steps.append(.primitive("\(name): activation", activationAfter, reading: [.source: output], writing: [.destination: output],
                                    scratchpad: try lowering.scratchpad(activationAfter, name)))
        }
        return steps
    }

    /// The forward primitive run once per slice (`slices`): on each image's part of the input and output, or with
    /// each slice's rows of the weights and bias into its part of the output channels.
    private func slicedStep(_ slices: (dimension: Int, count: Int), reading reads: [Argument: Buffer], writing output: Buffer,
                            what: String) throws -> Step {
        let pd = forwardPrimitive.descriptor
        let (x, y) = (pd.memoryDescriptor(.source), pd.memoryDescriptor(.destination))
        let scratchpad = try lowering.scratchpad(forwardPrimitive, name)
        let runs: [[Argument: Memory]] = try (0..<slices.count).map { i in
            var arguments = reads.mapValues { $0.memory }
            if slices.dimension == 0 {
                arguments[.source] = try reads[.source]!.view(x, offset: i * x.byteCount)
            } else {
                arguments[.weights] = loadedSlices[i].weights
                arguments[.bias] = loadedSlices[i].bias
            }
            arguments[.destination] = try output.view(y, offset: i * y.byteCount)
            arguments[.scratchpad] = scratchpad?.memory
            return arguments
        }
        let primitive = forwardPrimitive
        return Step("\(name): \(what)", reads: Array(reads.values), writes: [output] + (scratchpad.map { [$0] } ?? [])) {
            for arguments in runs { try primitive.execute(arguments) }
        }
    }

    // MARK: - Backward

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        var steps: [Step] = []
        // The gradient before the fused activation, computed in place where the output gradient is not read again.
        var diff = outputGradient
        if let activationBackward, let output {
            let before = try lowering.buffer(name + " pre-activation gradient", .gradient, outputGradient.descriptor)
            steps.append(.primitive("\(name): activation backward", activationBackward,
                                    reading: [.destination: output, .diffDestination: outputGradient],
                                    writing: [.diffSource: before], scratchpad: try lowering.scratchpad(activationBackward, name),
                                    inPlace: [(before, outputGradient)]))
            diff = before
        }
        var inputGradients: [Buffer?] = Array(repeating: nil, count: wanted.count)
        if a.accumulates, wanted.count > 1, wanted[1] { inputGradients[1] = diff }
        if wanted[0], let backwardDataPrimitive {
            let staged = try lowering.buffer(name + " staged weights (backward)", .weights,
                                             backwardDataPrimitive.descriptor.memoryDescriptor(.weights))
            steps.append(stageStep(staged, bias: nil))
            let dx = try gradient(0)
            steps.append(.primitive("\(name): backward data", backwardDataPrimitive,
                                    reading: [.diffDestination: diff, .weights: staged], writing: [.diffSource: dx],
                                    scratchpad: try lowering.scratchpad(backwardDataPrimitive, name)))
            inputGradients[0] = dx
        }
        if let backwardWeightsPrimitive, let x = inputs[0] {
            steps += try weightGradient(backwardWeightsPrimitive, source: x, diff: diff, sources: &sources)
        }
        return (steps, inputGradients)
    }

    /// The weight (and bias) gradient steps, and the sources that hand them over.
    private func weightGradient(_ primitive: Primitive, source x: Buffer, diff: Buffer, sources: inout [GradientSource]) throws -> [Step] {
        var steps: [Step] = []
        let pd = primitive.descriptor
        let diffWeights = try lowering.buffer(name + " weight gradient", .weights, pd.memoryDescriptor(.diffWeights))
        let diffBias = addsBias ? try lowering.buffer(name + " bias gradient", .weights, MemoryDescriptor(dims: [a.outputChannels], format: .a)) : nil
        var (src, diffDst) = (x, diff)
        if let copies = gradientInputCopies {
            let sourceCopy = try lowering.buffer(name + " source copy", .activation, copies.source)
            let diffCopy = try copies.diffDestination.map { try lowering.buffer(name + " gradient copy", .gradient, $0) }
            let toSource = try Reorder(from: x.descriptor, to: copies.source)
            let toDiff = try copies.diffDestination.map { try Reorder(from: diff.descriptor, to: $0) }
            steps.append(Step("\(name): copies for the weight gradient", reads: [x, diff], writes: [sourceCopy] + (diffCopy.map { [$0] } ?? [])) {
                try toSource(x.memory, sourceCopy.memory)
                if let toDiff, let diffCopy { try toDiff(diff.memory, diffCopy.memory) }
            })
            (src, diffDst) = (sourceCopy, diffCopy ?? diff)
        }
        var writes: [Argument: Buffer] = [.diffWeights: diffWeights]
        if let diffBias { writes[.diffBias] = diffBias }
        steps.append(.primitive("\(name): backward weights", primitive, reading: [.source: src, .diffDestination: diffDst],
                                writing: writes, scratchpad: try lowering.scratchpad(primitive, name)))
        switch a.weightSource {
        case .conv2d:
            let whole = a.groups > 1
            let rows = weightShape[0]
            let alignment = a.groups > 1 ? rows : diffWeights.descriptor.blockSize(ofDimension: 0)
            sources.append(GradientSource(parameter: weight, reads: [diffWeights], alignment: alignment) { [unowned self] piece, base in
                if piece.count == rows || whole { return try store(diffWeights.memory, into: base, view: try self.view(rows: rows)) }
                let part = try diffWeights.descriptor.submemory(dims: [piece.count] + self.weightDims.dropFirst(),
                                                                offsets: [piece.lowerBound] + Array(repeating: 0, count: self.weightDims.count - 1))
                try store(try Memory(part, pointer: diffWeights.memory.dataPointer, owner: diffWeights.memory), into: base,
                          view: try self.view(rows: piece.count))
            })
            if let bias, let diffBias { sources.append(.vector(bias, diffBias)) }
        case .transposedAsPointwise(let k, let cout):
            // The 1x1 gradient G1[(k·p + q)·C_out + o, c] in plain order, then rows of PyTorch's G[c, o, p, q].
            let cin = weightShape[0]
            let plain = try lowering.buffer(name + " plain weight gradient", .weights,
                                            MemoryDescriptor(dims: [k * k * cout, cin, 1, 1], format: .abcd))
            steps.append(Step("\(name): weight gradient to plain", reads: [diffWeights], writes: [plain]) {
                try copy(diffWeights.memory, to: plain.memory)
            })
            sources.append(GradientSource(parameter: weight, reads: [plain], alignment: 1) { channels, g in
                let g1 = plain.memory.dataPointer.assumingMemoryBound(to: Float.self)
                let start = channels.lowerBound * cout * k * k
                Self.forEachPointwiseIndex(k: k, inputChannels: cin, outputChannels: cout, channels) { t, j in g[t - start] = g1[j] }
            })
            if let bias, let diffBias {
                sources.append(GradientSource(parameter: bias, reads: [diffBias], alignment: 1) { outputs, g in
                    let expanded = diffBias.memory.dataPointer.assumingMemoryBound(to: Float.self)
                    for o in outputs { g[o - outputs.lowerBound] = (0..<(k * k)).reduce(0) { $0 + expanded[$1 * cout + o] } }
                })
            }
        case .transposedAsSubpixel, .transposedAsPhase:
            throw CompilationError("\(name): a transposed convolution read as 2x2 or phase convolutions is for inference only")
        case .upsampledAsPhase:
            throw CompilationError("\(name): a convolution of an up-sampled map read as phase convolutions is for inference only")
        case .narrowAsPhases:
            throw CompilationError("\(name): a convolution read as its output's blocks is for inference only")
        }
        return steps
    }

    // MARK: - Reports

    /// oneDNN's implementation of the forward convolution (`jit_wino_4x3:avx512_core`, ...).
    var implementation: String { forwardPrimitive.descriptor.implementationName }

    /// Whether oneDNN's forward kernel reads 8-bit integers (an int8 convolution).
    var readsInt8: Bool { [.u8, .s8].contains(forwardPrimitive.descriptor.memoryDescriptor(.source).dataType) }

    /// The median seconds of the forward convolution alone, on buffers of its own (each of its slices).
    func timeForward(repetitions: Int) throws -> Double {
        let pd = forwardPrimitive.descriptor
        var layouts: [(Argument, MemoryDescriptor)] = [(.source, pd.memoryDescriptor(.source)), (.weights, pd.memoryDescriptor(.weights)),
                                                       (.destination, pd.memoryDescriptor(.destination))]
        if addsBias { layouts.append((.bias, pd.memoryDescriptor(.weights, index: 1))) }
        if let partialAddend { layouts.append((.postOpSource(0), partialAddend)) }
        var arguments: [Argument: Memory] = [:]
        for (argument, descriptor) in layouts {
            let memory = try Memory(descriptor)
            memory.dataPointer.initializeMemory(as: UInt8.self, repeating: 0, count: memory.descriptor.byteCount)
            arguments[argument] = memory
        }
        let primitive = try Primitive(pd)
        try primitive.execute(arguments)
        var times: [Double] = []
        for _ in 0..<max(repetitions, 1) {
            let start = ContinuousClock.now
            try primitive.execute(arguments)
            let elapsed = ContinuousClock.now - start
            times.append((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) * Double(slices?.count ?? 1))
        }
        return times.sorted()[times.count / 2]
    }
}

import Foundation
import Graph
import ONNXProto
import Tensors

/// One graph's nodes written as ONNX nodes, in order: each op as the ONNX op PyTorch's exporter would write for it
/// (`Conv`, `ConvTranspose`, `BatchNormalization`, `InstanceNormalization`, `Relu`, `LeakyRelu`, `PRelu`, `MaxPool`,
/// `AveragePool`, `Resize`, `Pad`, `Slice`, `Concat`, `Add`, `Sigmoid`, `Softmax`), reading the weights as
/// initializers named by their `state_dict` keys. The graph's input is `input` and its output `logits`.
///
/// Dynamic sizes: an up-sampling, padding or crop whose result is concatenated with (or added to) another map takes
/// that map's size at run time; an up-sampling that is not takes the input's size when it did so at the traced size,
/// else a whole multiple of its own input's.
struct ONNXGraphTranslation {
    let graph: Graph
    let parameters: [String: Tensor]
    let dynamic: Bool
    /// Put before every initializer's and node's name (one member of an ensemble: `model_1/`).
    let prefix: String
    /// The name of the graph's output.
    let output: String
    private(set) var writer: ONNXGraphWriter
    /// The ONNX name of every value written so far.
    private var names: [Graph.Value: String] = [:]
    /// `Shape(x)[a:b]` of values whose shape was asked for, by name and range.
    private var shapes: [String: String] = [:]

    /// Writes into `writer`, which must have `output` reserved; the graph reads `input`.
    init(graph: Graph, parameters: [String: Tensor], dynamic: Bool, writer: ONNXGraphWriter, prefix: String = "", output: String = "logits") {
        (self.graph, self.parameters, self.dynamic) = (graph, parameters, dynamic)
        (self.writer, self.prefix, self.output) = (writer, prefix, output)
        names[graph.input] = "input"
    }

    mutating func translate() throws(ONNXExportError) {
        let consumers = graph.consumers
        for (index, node) in graph.nodes.enumerated() {
            var node = node
            node.name = prefix + node.name
            names[node.output] = try write(node, index: index, consumers: consumers, output: node.output == graph.output ? output : nil)
        }
    }

    private func name(_ value: Graph.Value) -> String { names[value]! }

    private func tensor(_ key: String, of node: Graph.Node) throws(ONNXExportError) -> Tensor {
        guard let tensor = parameters[key] else { throw ONNXExportError("\(node.name): the model has no tensor '\(key)'") }
        return tensor
    }

    /// Writes `node`; returns the name of its result.
    private mutating func write(_ node: Graph.Node, index: Int, consumers: [Graph.Value: [Int]], output: String?)
        throws(ONNXExportError) -> String
    {
        typealias W = ONNXGraphWriter
        let x = name(node.inputs[0])
        let inputShape = graph.shape(node.inputs[0])
        switch node.op {
        case .conv2d(let a):
            guard a.weightInputChannels == nil, !a.accumulates, a.weightSource == .conv2d else {
                throw ONNXExportError("\(node.name): \(node.op.name) is made by an engine pass and has no ONNX form")
            }
            var (weight, bias) = try convolutionWeights(a, node)
            if let norm = a.foldedNorm { (weight, bias) = try folding(norm, into: weight, bias: bias, node) }
            let w = writer.float(prefix + (a.foldedNorm == nil ? a.weight : a.weight + "+bn"), shape: weight.shape, weight.scalars)
            let b = bias.map { writer.float(prefix + (a.bias ?? String(a.weight.dropLast("weight".count)) + "bias"), shape: [$0.count], $0) }
            let attributes = [
                W.attribute("kernel_shape", ints: a.kernel), W.attribute("strides", ints: a.stride),
                W.attribute("pads", ints: [a.padding[0], a.padding[2], a.padding[1], a.padding[3]]),
                W.attribute("dilations", ints: a.dilation), W.attribute("group", int: a.groups),
            ]
            let convolved = writer.node("Conv", [x, w] + (b.map { [$0] } ?? []), name: node.name,
                                        output: a.activation == nil ? output : nil, attributes: attributes)
            return a.activation.map { activate(convolved, $0, node.name + ".act", output: output) } ?? convolved
        case .convTranspose2d(let a):
            let weight = try tensor(a.weight, of: node)
            let w = writer.float(prefix + a.weight, shape: weight.shape, weight.scalars)
            let b = try a.bias.map { key throws(ONNXExportError) in
                writer.float(prefix + key, shape: [a.outputChannels], try tensor(key, of: node).scalars)
            }
            return writer.node("ConvTranspose", [x, w] + (b.map { [$0] } ?? []), name: node.name, output: output, attributes: [
                W.attribute("kernel_shape", ints: a.kernel), W.attribute("strides", ints: a.stride),
                W.attribute("pads", ints: a.padding + a.padding), W.attribute("output_padding", ints: a.outputPadding),
                W.attribute("dilations", ints: a.dilation), W.attribute("group", int: a.groups),
            ])
        case .batchNorm(let a):
            var inputs = [x]
            for key in [a.weight, a.bias, a.runningMean, a.runningVar] {
                let t = try tensor(key, of: node)
                inputs.append(writer.float(prefix + key, shape: [t.count], t.scalars))
            }
            let normalized = writer.node("BatchNormalization", inputs, name: node.name, output: a.activation == nil ? output : nil,
                                         attributes: [W.attribute("epsilon", float: a.epsilon)])
            return a.activation.map { activate(normalized, $0, node.name + ".act", output: output) } ?? normalized
        case .instanceNorm(let a):
            let channels = inputShape[1]
            let (scale, bias): (String, String)
            if let prefix = a.affinePrefix {
                scale = writer.float(self.prefix + prefix + "weight", shape: [channels], try tensor(prefix + "weight", of: node).scalars)
                bias = writer.float(self.prefix + prefix + "bias", shape: [channels], try tensor(prefix + "bias", of: node).scalars)
            } else {
                scale = writer.float(node.name + ".scale", shape: [channels], Array(repeating: 1, count: channels))
                bias = writer.float(node.name + ".bias", shape: [channels], Array(repeating: 0, count: channels))
            }
            return writer.node("InstanceNormalization", [x, scale, bias], name: node.name, output: output,
                               attributes: [W.attribute("epsilon", float: a.epsilon)])
        case .relu:
            return activate(x, .relu, node.name, output: output)
        case .leakyReLU(let slope):
            return activate(x, .leakyReLU(slope: slope), node.name, output: output)
        case .prelu(let key):
            let slope = try tensor(key, of: node)
            // Broadcast over (N, C, H, W): one slope per channel as (C, 1, 1), or one for all as (1).
            let s = writer.float(prefix + key, shape: slope.count == 1 ? [1] : [slope.count, 1, 1], slope.scalars)
            return writer.node("PRelu", [x, s], name: node.name, output: output)
        case .maxPool(let a), .avgPool(let a):
            let isMax = if case .maxPool = node.op { true } else { false }
            let pads = [a.padding[0], a.padding[1], a.padding[0], a.padding[1]]
            var attributes = [W.attribute("kernel_shape", ints: a.kernel), W.attribute("strides", ints: a.stride),
                              W.attribute("pads", ints: pads), W.attribute("ceil_mode", int: a.ceilMode ? 1 : 0)]
            if !isMax { attributes.append(W.attribute("count_include_pad", int: a.countIncludesPadding ? 1 : 0)) }
            return writer.node(isMax ? "MaxPool" : "AveragePool", [x], name: node.name, output: output, attributes: attributes)
        case .upsample(let a):
            var attributes: [Onnx_AttributeProto]
            switch a.mode {
            case .nearest:
                // PyTorch's legacy nearest: src = floor(dst · in / out).
                attributes = [W.attribute("mode", string: "nearest"), W.attribute("coordinate_transformation_mode", string: "asymmetric"),
                              W.attribute("nearest_mode", string: "floor")]
            case .bilinear(let alignCorners):
                attributes = [W.attribute("mode", string: "linear"),
                              W.attribute("coordinate_transformation_mode", string: alignCorners ? "align_corners" : "pytorch_half_pixel")]
            }
            let sizes: String
            if dynamic {
                let target: String
                if let partner = try partner(of: node, index: index, consumers: consumers) {
                    target = spatialShape(name(partner))
                } else if a.size == Array(graph.shape(graph.input)[2...]) {
                    target = spatialShape("input")
                } else if a.size[0] % inputShape[2] == 0, a.size[1] % inputShape[3] == 0 {
                    let factors = writer.int64([a.size[0] / inputShape[2], a.size[1] / inputShape[3]], name: node.name + ".factors")
                    target = writer.node("Mul", [spatialShape(x), factors], name: node.name + ".size")
                } else {
                    throw ONNXExportError("--dynamic: \(node.name) up-samples to a fixed size (\(a.size[0])x\(a.size[1]))")
                }
                sizes = writer.node("Concat", [leadingShape(x), target], name: node.name + ".sizes", attributes: [W.attribute("axis", int: 0)])
            } else {
                sizes = writer.int64(Array(inputShape[..<2]) + a.size, name: node.name + ".sizes")
            }
            return writer.node("Resize", [x, "", "", sizes], name: node.name, output: output, attributes: attributes)
        case .pad(let a):
            let mode = switch a.mode {
            case .zeros: "constant"
            case .replicate: "edge"
            case .reflect: "reflect"
            }
            let pads: String
            if dynamic, let partner = try partner(of: node, index: index, consumers: consumers) {
                // The difference to the partner's size, half before (rounded down) and the rest after: milesial's
                // F.pad(x, [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]), and MONAI's one trailing pixel.
                guard a.amounts[0] == (a.amounts[0] + a.amounts[1]) / 2, a.amounts[2] == (a.amounts[2] + a.amounts[3]) / 2 else {
                    throw ONNXExportError("--dynamic: \(node.name) pads \(a.amounts) (top, bottom, left, right), not half before and half after")
                }
                let difference = writer.node("Sub", [spatialShape(name(partner)), spatialShape(x)], name: node.name + ".difference")
                let two = writer.int64([2, 2], name: node.name + ".two")
                let before = writer.node("Div", [difference, two], name: node.name + ".before")
                let after = writer.node("Sub", [difference, before], name: node.name + ".after")
                let none = writer.int64([0, 0], name: node.name + ".none")
                pads = writer.node("Concat", [none, before, none, after], name: node.name + ".pads", attributes: [W.attribute("axis", int: 0)])
            } else {
                pads = writer.int64([0, 0, a.amounts[0], a.amounts[2], 0, 0, a.amounts[1], a.amounts[3]], name: node.name + ".pads")
            }
            return writer.node("Pad", [x, pads], name: node.name, output: output, attributes: [W.attribute("mode", string: mode)])
        case .centerCrop(let height, let width):
            let axes = writer.int64([2, 3], name: node.name + ".axes")
            let starts: String
            let ends: String
            if dynamic, let partner = try partner(of: node, index: index, consumers: consumers) {
                // torchvision's center_crop: offset round((size − crop) / 2), halves to even (ONNX Round does too).
                let target = spatialShape(name(partner))
                let difference = writer.node("Sub", [spatialShape(x), target], name: node.name + ".difference")
                let real = writer.node("Cast", [difference], name: node.name + ".real", attributes: [W.attribute("to", int: 1)])
                let two = writer.float(node.name + ".two", shape: [2], [2, 2])
                let half = writer.node("Div", [real, two], name: node.name + ".half")
                let rounded = writer.node("Round", [half], name: node.name + ".rounded")
                starts = writer.node("Cast", [rounded], name: node.name + ".starts", attributes: [W.attribute("to", int: 7)])
                ends = writer.node("Add", [starts, target], name: node.name + ".ends")
            } else {
                func offset(_ length: Int, _ crop: Int) -> Int { Int((Double(length - crop) / 2).rounded(.toNearestOrEven)) }
                let start = [offset(inputShape[2], height), offset(inputShape[3], width)]
                starts = writer.int64(start, name: node.name + ".starts")
                ends = writer.int64([start[0] + height, start[1] + width], name: node.name + ".ends")
            }
            return writer.node("Slice", [x, starts, ends, axes], name: node.name, output: output)
        case .concat:
            return writer.node("Concat", node.inputs.map(name), name: node.name, output: output, attributes: [W.attribute("axis", int: 1)])
        case .add:
            return writer.node("Add", node.inputs.map(name), name: node.name, output: output)
        case .multiply:
            return writer.node("Mul", node.inputs.map(name), name: node.name, output: output)
        case .dropout:
            // The exported network is the eval-mode one, where dropout is the identity.
            return output.map { writer.node("Identity", [x], name: node.name, output: $0) } ?? x
        case .globalAvgPool:
            return writer.node("GlobalAveragePool", [x], name: node.name, output: output)
        case .sigmoid:
            return writer.node("Sigmoid", [x], name: node.name, output: output)
        case .silu:
            return activate(x, .silu, node.name, output: output)
        case .relu6:
            return activate(x, .relu6, node.name, output: output)
        case .softmax:
            return writer.node("Softmax", [x], name: node.name, output: output, attributes: [W.attribute("axis", int: 1)])
        case .depthToSpace, .interleave, .convert, .gatedResidual:
            throw ONNXExportError("\(node.name): \(node.op.name) is made by an engine pass and has no ONNX form")
        }
    }

    private mutating func activate(_ x: String, _ activation: Activation, _ name: String, output: String?) -> String {
        switch activation {
        case .relu: writer.node("Relu", [x], name: name, output: output)
        case .leakyReLU(let slope):
            writer.node("LeakyRelu", [x], name: name, output: output, attributes: [ONNXGraphWriter.attribute("alpha", float: slope)])
        case .silu:
            writer.node("Mul", [x, writer.node("Sigmoid", [x], name: name + ".sigmoid")], name: name, output: output)
        case .relu6:
            writer.node("Clip", [x, writer.float(name + ".min", shape: [], [0]), writer.float(name + ".max", shape: [], [6])], name: name,
                        output: output)
        }
    }

    /// The other input of the concatenation or addition that reads `node`'s result, if one does.
    private func partner(of node: Graph.Node, index: Int, consumers: [Graph.Value: [Int]]) throws(ONNXExportError) -> Graph.Value? {
        for j in consumers[node.output] ?? [] where graph.nodes[j].op == .concat || graph.nodes[j].op == .add {
            guard let other = graph.nodes[j].inputs.first(where: { $0 != node.output }) else { continue }
            guard names[other] != nil else {
                throw ONNXExportError("--dynamic: \(node.name) is sized by \(graph.nodes[j].name)'s other input, which comes after it")
            }
            return other
        }
        return nil
    }

    /// `Shape(x)[2:4]`: `[H, W]` at run time.
    private mutating func spatialShape(_ x: String) -> String { shape(x, 2..<4) }

    /// `Shape(x)[0:2]`: `[N, C]` at run time.
    private mutating func leadingShape(_ x: String) -> String { shape(x, 0..<2) }

    /// `Shape(x)[axes]`, written once per value and range.
    private mutating func shape(_ x: String, _ axes: Range<Int>) -> String {
        let key = "\(x)[\(axes.lowerBound):\(axes.upperBound)]"
        if let cached = shapes[key] { return cached }
        let shape = writer.node("Shape", [x], name: prefix + key, attributes: [
            ONNXGraphWriter.attribute("start", int: axes.lowerBound), ONNXGraphWriter.attribute("end", int: axes.upperBound),
        ])
        shapes[key] = shape
        return shape
    }

    private func convolutionWeights(_ a: Conv2dAttributes, _ node: Graph.Node) throws(ONNXExportError) -> (Tensor, [Float]?) {
        let weight = try tensor(a.weight, of: node)
        let bias = try a.bias.map { key throws(ONNXExportError) in try tensor(key, of: node).scalars }
        return (weight, bias)
    }

    /// `w·γ/√(σ²+ε)` per output channel, and `(b − μ)·γ/√(σ²+ε) + β`.
    private func folding(_ norm: BatchNormAttributes, into weight: Tensor, bias: [Float]?, _ node: Graph.Node)
        throws(ONNXExportError) -> (Tensor, [Float])
    {
        let (gamma, beta) = (try tensor(norm.weight, of: node).scalars, try tensor(norm.bias, of: node).scalars)
        let (mean, variance) = (try tensor(norm.runningMean, of: node).scalars, try tensor(norm.runningVar, of: node).scalars)
        let outputs = weight.shape[0]
        let scale = (0..<outputs).map { gamma[$0] / (variance[$0] + norm.epsilon).squareRoot() }
        let perOutput = weight.count / outputs
        let folded = Tensor(shape: weight.shape) { weight[flat: $0] * scale[$0 / perOutput] }
        let b = (0..<outputs).map { (o: Int) -> Float in
            let shifted: Float = (bias?[o] ?? 0) - mean[o]
            return shifted * scale[o] + beta[o]
        }
        return (folded, b)
    }
}

import DNNL
import Graph

/// `mul` of a map `x` by a gate `g` broadcast over it (an attention's channel or pixel weights) in a compiled network.
/// Backward: `dx = dy · g` (the same broadcast multiply) and `dg = Σ dy · x` over the dimensions the gate broadcasts
/// along. A channel gate `(N, C, 1, 1)` multiplies with oneDNN's binary primitive; a pixel gate `(N, 1, H, W)`, and
/// every gate's gradient, run as `StridedMap`'s loops (float32 or bf16), where oneDNN 2.6 has only its reference
/// loops (oneDNN's binary and reduction primitives do the rest: a gate as large as the map, other layouts). `x` and
/// the output share a layout and a precision, but in an int8 network a channel gate's product that only int8
/// convolutions of one range read is written in that range's 8 bits (`Lowering.int8Values`); the gate keeps the layout
/// its producer chose (`LayoutChoice`).
final class MultiplyKernel: NodeKernel {
    /// How the gate broadcasts.
    private enum Gate {
        case channels, pixels, none
    }

    private let name: String
    private let lowering: Lowering
    private let gate: Gate
    /// The map's and the gate's layouts and element types, where the loops walk them.
    private let maps: (map: StridedMap, gate: StridedMap, elements: StridedMap.Elements)?
    private let gated: Primitive?
    private let product: Primitive?
    private let reduction: Primitive?

    init(_ node: Graph.Node, lowering: Lowering) throws {
        (name, self.lowering) = (node.name, lowering)
        let (x, g) = (lowering.graph.shape(node.inputs[0]), lowering.graph.shape(node.inputs[1]))
        gate = g == x ? .none : g[2...] == [1, 1] ? .channels : .pixels
        let (mapElements, gateElements) = (lowering.dataType(node.output), lowering.dataType(node.inputs[1]))
        if lowering.dataType(node.inputs[0]) == mapElements, [mapElements, gateElements].allSatisfy({ $0 == .f32 || $0 == .bf16 }),
           let map = StridedMap(shape: x, format: lowering.formats[node.inputs[0].id]),
           let gateMap = StridedMap(shape: g, format: lowering.formats[node.inputs[1].id]) {
            maps = (map, gateMap, StridedMap.Elements(map: mapElements, gate: gateElements))
        } else {
            maps = nil
        }
        let data = try lowering.descriptor(node.output)
        let gateData = try lowering.descriptor(node.inputs[1])
        // An int8 network's product read only by int8 convolutions of one range is written in its steps (`Lowering.int8Values`).
        let step = lowering.int8Values[node.output.id]?.scale
        gated = gate == .pixels && maps != nil
            ? nil : try Primitive(.binaryMultiply(source0: try lowering.descriptor(node.inputs[0]), source1: gateData, destination: data,
                                                  attributes: try lowering.attributes(firstSourceScale: step.map { 1 / $0 })))
        if lowering.training, gate == .none || maps == nil {
            product = try Primitive(.binaryMultiply(source0: data, source1: data, destination: gate == .none ? gateData : data,
                                                    attributes: try lowering.attributes()))
            reduction = gate == .none ? nil : try Primitive(.reductionSum(source: data, destination: gateData, attributes: try lowering.attributes()))
        } else {
            (product, reduction) = (nil, nil)
        }
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([true, true], false) }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [try multiply(inputs[0], by: inputs[1], into: output, "forward")]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard let x = inputs[0], let g = inputs[1] else { return ([], [nil, nil]) }
        var steps: [Step] = []
        var gradients: [Buffer?] = [nil, nil]
        // The gate's gradient first: it reads dy, which the input's gradient may then overwrite in place.
        if wanted[1] {
            let dg = try gradient(1)
            steps += try gateGradient(outputGradient, x, into: dg)
            gradients[1] = dg
        }
        if wanted[0] {
            let dx = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
            steps.append(try multiply(outputGradient, by: g, into: dx, "backward", inPlace: true))
            gradients[0] = dx
        }
        return (steps, gradients)
    }

    /// `y = x · g`, the gate broadcast.
    private func multiply(_ x: Buffer, by g: Buffer, into y: Buffer, _ label: String, inPlace: Bool = false) throws -> Step {
        let pairs = inPlace ? [(y, x)] : []
        if let gated {
            return .primitive("\(name): \(label)", gated, reading: [.source: x, .source1: g], writing: [.destination: y],
                              scratchpad: try lowering.scratchpad(gated, name), inPlace: pairs)
        }
        let (map, gateMap, elements) = maps!
        return Step("\(name): \(label)", reads: [x, g], writes: [y], inPlace: pairs) {
            map.multiply(x.memory.dataPointer, byPixels: g.memory.dataPointer, gateMap, into: y.memory.dataPointer, elements)
        }
    }

    /// `dg = Σ dy · x` over what the gate broadcasts along (`dy · x` itself for a gate as large as the map).
    private func gateGradient(_ dy: Buffer, _ x: Buffer, into dg: Buffer) throws -> [Step] {
        if let (map, gateMap, elements) = maps, gate != .none {
            let sums = gate == .pixels ? map.pixelSums : map.channelSums
            return [Step("\(name): gate gradient", reads: [dy, x], writes: [dg]) {
                sums(dy.memory.dataPointer, x.memory.dataPointer, dg.memory.dataPointer, gateMap, elements)
            }]
        }
        guard let product else { return [] }
        guard let reduction else {
            return [.primitive("\(name): gate gradient", product, reading: [.source: dy, .source1: x], writing: [.destination: dg],
                               scratchpad: try lowering.scratchpad(product, name))]
        }
        let products = try lowering.buffer(name + " dy·x", .scratchpad, dy.descriptor)
        return [.primitive("\(name): dy·x", product, reading: [.source: dy, .source1: x], writing: [.destination: products],
                           scratchpad: try lowering.scratchpad(product, name)),
                .primitive("\(name): gate gradient", reduction, reading: [.source: products], writing: [.destination: dg],
                           scratchpad: try lowering.scratchpad(reduction, name))]
    }
}

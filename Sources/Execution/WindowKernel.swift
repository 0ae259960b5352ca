import DNNL
import Graph

/// `pad` with zeros and `center_crop` in a compiled network: a copy between a map and a window of a larger one
/// (a reorder on a sub-memory view), the border zeroed where the larger one is written. Padding's backward
/// copies the window of the output gradient out; cropping's writes the output gradient into the window of a
/// zeroed input gradient.
final class WindowKernel: NodeKernel {
    private let name: String
    private let crops: Bool
    /// The small map's descriptor and its window in the large one.
    private let small: MemoryDescriptor
    private let window: MemoryDescriptor
    private let toWindow: Reorder
    private let fromWindow: Reorder

    /// - Parameter offset: `(top, left)` of the window in the larger map (the output when padding, the input when
    ///   cropping).
    init(_ node: Graph.Node, crops: Bool, offset: (Int, Int), lowering: Lowering) throws {
        (name, self.crops) = (node.name, crops)
        let (input, output) = (try lowering.descriptor(node.inputs[0]), try lowering.descriptor(node.output))
        let large = crops ? input : output
        small = crops ? output : input
        window = try large.submemory(dims: small.dims, offsets: [0, 0, offset.0, offset.1])
        toWindow = try Reorder(from: small, to: window)
        fromWindow = try Reorder(from: window, to: small)
    }

    /// The window offset of torchvision's `center_crop` of `shape` to `height`x`width`.
    static func centerCropOffset(_ shape: [Int], height: Int, width: Int) -> (Int, Int) {
        func offset(_ length: Int, _ crop: Int) -> Int { Int((Double(length - crop) / 2).rounded(.toNearestOrEven)) }
        return (offset(shape[2], height), offset(shape[3], width))
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([false], false) }

    /// `small` into the window of a zeroed `large`.
    private func insert(_ small: Buffer, into large: Buffer, _ step: String) throws -> Step {
        let target = try large.view(window)
        return Step("\(name): \(step)", reads: [small], writes: [large]) { [toWindow] in
            large.memory.dataPointer.initializeMemory(as: UInt8.self, repeating: 0, count: large.byteCount)
            try toWindow(small.memory, target)
        }
    }

    /// The window of `large` into `small`.
    private func extract(_ large: Buffer, into small: Buffer, _ step: String) throws -> Step {
        let source = try large.view(window)
        return Step("\(name): \(step)", reads: [large], writes: [small]) { [fromWindow] in try fromWindow(source, small.memory) }
    }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        [crops ? try extract(inputs[0], into: output, "forward") : try insert(inputs[0], into: output, "forward")]
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard wanted[0] else { return ([], [nil]) }
        let dx = try gradient(0)
        let step = crops ? try insert(outputGradient, into: dx, "backward") : try extract(outputGradient, into: dx, "backward")
        return ([step], [dx])
    }
}

import Foundation

extension Graph {
    /// Each value's resolution level: how many 2x down-samplings lie between the input and it, less the 2x
    /// up-samplings (0 at full resolution, 1 after one down-sampling, ...), counted along the graph from each op's
    /// strides and scale factors, so that neither valid convolutions' lost pixels nor rounded-up odd sizes change a
    /// level. A value of several inputs (a concatenation, a sum) is at its first input's level; a gate's global pool
    /// stays at its map's.
    public var levels: [Int] {
        func steps(_ factor: Int) -> Int { factor > 1 ? Int(log2(Double(factor)).rounded()) : 0 }
        var levels = Array(repeating: 0, count: shapes.count)
        for node in nodes {
            let level = levels[node.inputs[0].id]
            levels[node.output.id] = switch node.op {
            case .conv2d(let a): level + steps(a.stride[0])
            case .maxPool(let a), .avgPool(let a): level + steps(a.stride[0])
            case .convTranspose2d(let a): level - steps(a.stride[0])
            case .depthToSpace(let block), .interleave(let block): level - steps(block)
            case .upsample:
                level - steps(Int((Double(shape(node.output)[2]) / Double(shape(node.inputs[0])[2])).rounded()))
            default: level
            }
        }
        return levels
    }
}

extension Graph {
    /// The indices (into `nodes`) of the convolutions a per-channel op on the output of the node at `index` can be folded
    /// into, or nil: that node where it is a convolution; the convolution whose output, read by nothing else, that
    /// node rearranges by depth to space; or the convolutions whose outputs, each read by nothing else, it interleaves
    /// (a transposed convolution rewritten by `rewritingTransposedConvolutions(training:precision:int8:)`). Depth to
    /// space moves the convolution's channel `p·C + o` to channel `o` of its `C`, so an op on channel `o` is the same
    /// op on the convolution's channels `o`, `C + o`, `2·C + o`, …, and an elementwise one is the same op on every
    /// channel; an interleave keeps each map's channels. `consumers` is `self.consumers`.
    func convolutions(behind index: Int, consumers: [Value: [Int]]) -> [Int]? {
        switch nodes[index].op {
        case .conv2d:
            return [index]
        case .depthToSpace, .interleave:
            let found = nodes[index].inputs.map { made -> Int? in
                guard !isOutput(made), consumers[made] == [index], let convolution = producerIndex(of: made),
                      case .conv2d = nodes[convolution].op else { return nil }
                return convolution
            }
            return found.contains(nil) ? nil : found.compactMap { $0 }
        default:
            return nil
        }
    }
}

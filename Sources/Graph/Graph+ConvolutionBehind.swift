extension Graph {
    /// The index (into `nodes`) of the convolution a per-channel op on the output of the node at `index` can be folded
    /// into, or nil: that node where it is a convolution, or the convolution whose output, read by nothing else, that
    /// node rearranges by depth to space (a transposed convolution rewritten by
    /// `rewritingTransposedConvolutions(training:precision:int8:)`). Depth to space moves the convolution's channel
    /// `p·C + o` to channel `o` of its `C`, so an op on channel `o` is the same op on the convolution's channels
    /// `o`, `C + o`, `2·C + o`, …, and an elementwise one is the same op on every channel. `consumers` is `self.consumers`.
    func convolution(behind index: Int, consumers: [Value: [Int]]) -> Int? {
        switch nodes[index].op {
        case .conv2d:
            return index
        case .depthToSpace:
            let expanded = nodes[index].inputs[0]
            guard !isOutput(expanded), consumers[expanded] == [index],
                  let convolution = producerIndex(of: expanded),
                  case .conv2d = nodes[convolution].op else { return nil }
            return convolution
        default:
            return nil
        }
    }
}

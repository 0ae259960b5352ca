extension Graph {
    /// The index (into `nodes`) of the convolution a per-channel op on `value` can be folded into, or nil: the
    /// convolution whose output `value` is, or the one whose output, read by nothing else, a depth-to-space
    /// rearrangement makes into `value` (a transposed convolution rewritten by
    /// `rewritingTransposedConvolutions(training:precision:int8:)`). Depth to space moves the convolution's channel
    /// `p·C + o` to channel `o` of `value`'s `C`, so an op on channel `o` is the same op on the convolution's channels
    /// `o`, `C + o`, `2·C + o`, …, and an elementwise one is the same op on every channel. `consumers` is `self.consumers`.
    func convolutionMaking(_ value: Value, consumers: [Value: [Int]]) -> Int? {
        guard let index = nodes.firstIndex(where: { $0.output == value }) else { return nil }
        switch nodes[index].op {
        case .conv2d:
            return index
        case .depthToSpace:
            let expanded = nodes[index].inputs[0]
            guard !isOutput(expanded), consumers[expanded] == [index],
                  let convolution = nodes.firstIndex(where: { $0.output == expanded }),
                  case .conv2d = nodes[convolution].op else { return nil }
            return convolution
        default:
            return nil
        }
    }
}

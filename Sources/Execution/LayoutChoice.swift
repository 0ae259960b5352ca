import DNNL
import Graph

/// The layout pass: the layout activations keep from op to op. Channels in blocks of the CPU's vector width
/// (`nChw16c` on AVX-512, `nChw8c` on AVX2: what oneDNN's kernels run fastest on) where every value inside the
/// network has a multiple of that many channels; else channels-last (NHWC), because oneDNN 2.6 has no optimized
/// convolution for a padded block (8 channels in a block of 16) or a block the CPU's vectors do not match, and
/// would run its reference loops, two orders of magnitude slower. The input takes the layout its first convolution prefers where only
/// convolutions read it; a convolution writing the output may leave its last block part empty; the output is
/// reordered to NCHW at the boundary. Switched off: NCHW everywhere.
enum LayoutChoice {
    static func activationFormat(for graph: Graph, enabled: Bool) -> FormatTag {
        guard enabled else { return .abcd }
        guard let block = CPUISA.channelBlock else { return .acdb }
        // The input keeps a layout of its own only where convolutions alone read it (they take any layout).
        let inputAlone = graph.nodes.allSatisfy { node in
            guard node.inputs.contains(graph.input) else { return true }
            if case .conv2d = node.op { return true }
            return false
        }
        // The output may leave channels of its last block unused where a convolution writes it (a head of 2 classes).
        let outputByConvolution = graph.nodes.contains { node in
            if case .conv2d = node.op { return node.output == graph.output }
            return false
        }
        let interior = graph.nodes.map(\.output).filter { $0 != graph.output || !outputByConvolution }
            + (inputAlone ? [] : [graph.input])
        guard interior.allSatisfy({ graph.shape($0)[1] % block == 0 }) else { return .acdb }
        return block == 16 ? .aBcd16b : .aBcd8b
    }
}

extension Graph {
    /// Appends the four phase convolutions of a map doubled in size, `phase(a, b)` computing the output pixels
    /// `(2m + a, 2n + b)` from `inputs(a, b)` at the size of `x` (`(N, C, H, W)`), each named `phaseName(name, a, b)`,
    /// and the interleave that puts them in place as `output` (`(N, C_out, 2H, 2W)`, C_out the phases' output channels):
    /// a transposed convolution's phases (`rewritingTransposedConvolutions`), an up-sampled map's and the parts adding
    /// into those (`rewritingUpsampledConvolutions`).
    mutating func appendPhases(of name: String, inputs: (_ row: Int, _ column: Int) -> [Value], size x: [Int], output: Value,
                               _ phase: (_ row: Int, _ column: Int) -> Conv2dAttributes) {
        var phases: [Value] = []
        for a in 0..<2 {
            for b in 0..<2 {
                let attributes = phase(a, b)
                let value = newValue(shape: [x[0], attributes.outputChannels, x[2], x[3]])
                nodes.append(Node(op: .conv2d(attributes), inputs: inputs(a, b), output: value, name: Self.phaseName(name, row: a, column: b)))
                phases.append(value)
            }
        }
        nodes.append(Node(op: .interleave(block: 2), inputs: phases, output: output, name: name + ".interleave"))
    }

    /// The name of phase `(row, column)` of the convolution (or transposed convolution) `name` (`appendPhases`).
    public static func phaseName(_ name: String, row: Int, column: Int) -> String { name + ".phase\(row)\(column)" }
}

/// How one node of the graph runs in a compiled network: the steps of its forward and, next to them, the steps
/// of its backward (as llm.c writes a layer's forward and backward as a pair). One class per op, made by
/// `Lowering.kernel(for:)` once the values' layouts and precisions are known; it creates its oneDNN primitives
/// then, so that running a step only executes them.
protocol NodeKernel: AnyObject {
    /// Steps computing `output` from `inputs`. In training they also keep what backward needs (statistics,
    /// workspaces) and update running statistics.
    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]

    /// Steps making `output` again from `inputs` as forward had them, changing no state: training makes a value
    /// again this way instead of keeping it. nil when the op cannot (its output must be kept).
    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]?

    /// The forward values backward reads: which inputs, and whether the output.
    var backwardReads: (inputs: [Bool], output: Bool) { get }

    /// What making the output again costs, for the decision to keep it or make it again.
    var cost: RecomputeCost { get }

    /// The input whose buffer the output takes (a convolution adding into a partial sum), if any.
    var outputReusesInput: Int? { get }

    /// Steps of backward. `inputs` and `output` hold the forward values backward reads (as `backwardReads` says;
    /// the rest are nil). The kernel writes the gradient of every input `i` with `wanted[i]` into a buffer from
    /// `gradient(i)`, or returns a buffer that already holds it (an input whose gradient is the output's);
    /// parameter gradients go to `sources`.
    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?])
}

extension NodeKernel {
    var outputReusesInput: Int? { nil }
}

/// What it costs to make a value again.
enum RecomputeCost {
    /// Memory-bound (a normalization with the saved statistics, an activation, a copy): always made again rather
    /// than kept, where it can be.
    case cheap
    /// A convolution of this many multiply-adds: made again where the recompute pass allows it.
    case convolution(flops: Double)
    /// Cannot or should not be made again (its forward keeps a workspace, or it is the input).
    case never
}

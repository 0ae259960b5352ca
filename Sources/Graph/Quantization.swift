/// Post-training int8 quantization of a network's convolutions (`unet quantize`): the range of each quantized
/// convolution's input, found by running calibration images through the float32 network.
///
/// An int8 network quantizes each listed convolution's input to 8 bits with its range (`scale` = `limit` / 255
/// for inputs that are never negative, `limit` / 127 otherwise), its weight per output channel to the largest
/// magnitude of that channel, runs oneDNN's int8 kernel and writes float32, so every other op and every
/// unlisted convolution (the first, which reads the image, and the last, which writes the logits) stays in floating
/// point: float32, or bf16 where the CPU has native bf16 kernels (the compiled network's precision pass).
/// Convolutions are named as in the compiled graph after the passes (`Graph.Node.name`), before `upsampled-as-phases`:
/// its phase convolutions read their convolution's entry (`readingUpsampledPhases(of:)`).
public struct Quantization: Codable, Equatable, Sendable {
    /// The range of one convolution's input.
    public struct InputRange: Codable, Equatable, Sendable {
        /// The largest magnitude kept; larger values are clipped to it.
        public var limit: Float
        /// Whether the input has negative values (then 8 bits cover `-limit...limit`, else `0...limit`).
        public var signed: Bool

        public init(limit: Float, signed: Bool) { (self.limit, self.signed) = (limit, signed) }

        /// The value of one step of the quantized input.
        public var scale: Float { limit / (signed ? 127 : 255) }

        /// The one range in which inputs of all of `ranges` can be read (one map that int8 convolutions of different
        /// ranges read): the widest limit, signed if any is, where that costs each at most one bit (at least half its
        /// own steps, rounded down, over its own limit: 127 of 255, 63 of 127); nil otherwise, or for none.
        public static func shared(by ranges: [InputRange]) -> InputRange? {
            guard let largest = ranges.map(\.limit).max() else { return nil }
            let shared = InputRange(limit: largest, signed: ranges.contains(where: \.signed))
            return ranges.allSatisfy({ ($0.limit / shared.scale).rounded() >= Float(($0.signed ? 127 : 255) / 2) }) ? shared : nil
        }
    }

    /// How each limit was chosen from the calibration inputs, for reports (`"max"`, `"percentile 99.99"`).
    public var rule: String
    /// How many calibration images the ranges come from.
    public var images: Int
    /// Each int8 convolution's input range, by the convolution's node name.
    public var inputs: [String: InputRange]

    public init(rule: String, images: Int, inputs: [String: InputRange]) {
        (self.rule, self.images, self.inputs) = (rule, images, inputs)
    }

    /// The first problem of a table read from a file, or nil: every limit within 1e-6...1e30 (calibration never
    /// writes less than 1e-6), names short, a bounded count.
    public var problem: String? {
        guard inputs.count <= 100_000 else { return "int8 table lists \(inputs.count) convolutions" }
        guard rule.count <= 64, images >= 0 else { return "int8 table's rule or image count is malformed" }
        for (name, range) in inputs {
            guard name.utf8.count <= 512 else { return "int8 table has a convolution name of \(name.utf8.count) bytes" }
            guard range.limit >= 1e-6, range.limit < 1e30 else {
                return "int8 range of \(name) is \(range.limit), not within 1e-6...1e30"
            }
        }
        return nil
    }

    /// The table for `graph`, whose 3x3 convolutions of up-sampled maps run as phase convolutions
    /// (`Graph.rewritingUpsampledConvolutions()`): each phase reads the range the table holds for its convolution, under
    /// the phase's name, but for phases of the network's input (the image, which convolutions read in floating point).
    /// Tables keep the convolutions' own names, which calibration observes.
    public func readingUpsampledPhases(of graph: Graph) -> Quantization {
        let phases = Dictionary(graph.nodes.map { ($0.name, $0.inputs[0]) }, uniquingKeysWith: { first, _ in first })
        var table = self
        for (name, range) in inputs {
            guard let input = phases[Graph.phaseName(name, row: 0, column: 0)] else { continue }
            table.inputs[name] = nil
            guard input != graph.input else { continue }
            for (row, column) in [(0, 0), (0, 1), (1, 0), (1, 1)] { table.inputs[Graph.phaseName(name, row: row, column: column)] = range }
        }
        return table
    }
}

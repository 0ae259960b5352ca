import NN

/// Part of a parameter's gradient that a backward step left in buffers: `fill(rows, base)` writes gradient rows
/// `rows` (the parameter's first dimension; all of each row this source covers) row-major at `base`. A parameter
/// used by several nodes (a convolution split over its inputs) has one source per node, each filling its own
/// columns; the gradient is handed over once all of them are computed.
struct GradientSource {
    let parameter: Parameter
    /// The buffers `fill` reads.
    let reads: [Buffer]
    /// Pieces must start at a multiple of this many rows (the blocking of the layout the rows are read from).
    let alignment: Int
    let fill: (_ rows: Range<Int>, _ base: UnsafeMutablePointer<Float>) throws -> Void

    /// A vector gradient (bias, normalization scale or shift) held as float32 in `buffer`.
    static func vector(_ parameter: Parameter, _ buffer: Buffer) -> GradientSource {
        GradientSource(parameter: parameter, reads: [buffer], alignment: 1) { rows, target in
            let values = buffer.memory.dataPointer.assumingMemoryBound(to: Float.self)
            target.update(from: values + rows.lowerBound, count: rows.count)
        }
    }
}

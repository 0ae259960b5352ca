import DNNL
import NN

/// Where a training plan's backward puts each parameter's gradient (plain float32, PyTorch's layout): into the
/// parameter's `.grad`, or — for an optimizer step fused into backward — into one small reused buffer, a few
/// rows at a time, each piece handed to a consumer as soon as it is written, so no gradient outlives its
/// update and no buffer as large as the largest parameter is needed.
final class GradientSink {
    /// Receives elements `range` (row-major) of `parameter`'s gradient.
    typealias Consumer = (_ parameter: Parameter, _ range: Range<Int>, _ gradient: UnsafeBufferPointer<Float>) throws -> Void

    private let consumer: Consumer?
    /// The reused buffer (consumer mode only).
    private let scratch: Memory?
    /// The most elements one piece may have, where the rows allow it.
    private let pieceLimit: Int

    /// Gradients go into each parameter's `.grad` (allocated on first write, then overwritten in place).
    init() {
        (consumer, scratch, pieceLimit) = (nil, nil, 0)
    }

    /// Gradients go to `consumer` in pieces of at most `pieceLimit` elements (more where one aligned group of
    /// rows is larger), through `scratch`, valid only during each call.
    /// - Precondition: `scratch` holds `GradientSink.scratchElements(for:pieceLimit:)` floats.
    init(consumer: @escaping Consumer, scratch: Memory, pieceLimit: Int) {
        (self.consumer, self.scratch, self.pieceLimit) = (consumer, scratch, pieceLimit)
    }

    /// Rows per piece for a parameter of `rows` rows of `rowSize` elements, pieces starting at multiples of
    /// `alignment` rows.
    static func rowsPerPiece(rows: Int, rowSize: Int, alignment: Int, pieceLimit: Int) -> Int {
        let fitting = max(pieceLimit / max(rowSize, 1), 1)
        return min(rows, max(fitting / alignment, 1) * alignment)
    }

    /// Floats the scratch needs for `parameters` (rows: the first dimension) with any alignment up to 64 rows:
    /// a piece has at most `max(pieceLimit / rowSize, 64)` rows.
    static func scratchElements(for parameters: [Parameter], pieceLimit: Int) -> Int {
        parameters.map { p in
            let rows = p.value.shape.first ?? 1
            let rowSize = p.value.count / max(rows, 1)
            return rowSize * min(rows, max(pieceLimit / max(rowSize, 1), 64))
        }.max() ?? 1
    }

    /// Delivers `parameter`'s gradient by rows (its first dimension): `fill(rows, base)` writes gradient rows
    /// `rows` row-major at `base`, every element of them. Pieces start at multiples of `alignment` rows
    /// (a divisor of 64: the blocking of the layout the rows are read from).
    func deliver(_ parameter: Parameter, alignment: Int = 1,
                 _ fill: (_ rows: Range<Int>, _ base: UnsafeMutablePointer<Float>) throws -> Void) throws {
        let rows = parameter.value.shape.first ?? 1
        guard let consumer, let scratch else {
            try parameter.grad.withUnsafeMutableBufferPointer { try fill(0..<rows, $0.baseAddress!) }
            return
        }
        let rowSize = parameter.value.count / max(rows, 1)
        let step = Self.rowsPerPiece(rows: rows, rowSize: rowSize, alignment: alignment, pieceLimit: pieceLimit)
        precondition(step * rowSize * 4 <= scratch.descriptor.byteCount, "GradientSink: scratch smaller than a piece")
        let base = scratch.dataPointer.assumingMemoryBound(to: Float.self)
        for start in stride(from: 0, to: rows, by: step) {
            let piece = start..<min(start + step, rows)
            try fill(piece, base)
            try consumer(parameter, (piece.lowerBound * rowSize)..<(piece.upperBound * rowSize),
                         UnsafeBufferPointer(start: base, count: piece.count * rowSize))
        }
    }

    /// Delivers a float32 vector held by a oneDNN memory (bias, batch-norm scale and shift gradients).
    func deliver(_ parameter: Parameter, copying source: Memory) throws {
        let values = source.dataPointer.assumingMemoryBound(to: Float.self)
        try deliver(parameter) { rows, target in target.update(from: values + rows.lowerBound, count: rows.count) }
    }
}

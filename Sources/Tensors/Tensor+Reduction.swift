// Sum and mean reductions, and their adjoint (expanding a reduced tensor back along the reduced axes).
// Accumulation is in Double, so results do not depend on the order of a long float32 sum.

extension Tensor {
    /// The sum of all elements (PyTorch `x.sum()`), accumulated in Double.
    public func sum() -> Float {
        var total: Double = 0
        let base = storage.baseAddress
        for i in 0..<count { total += Double(base[i]) }
        return Float(total)
    }

    /// The mean of all elements (PyTorch `x.mean()`); 0 for an empty tensor.
    public func mean() -> Float {
        count == 0 ? 0 : Float(Double(sum()) / Double(count))
    }

    /// Sums over `axes`, removing them from the shape (PyTorch `x.sum(dim=axes)`, `keepdim=False`).
    /// - Throws: `TensorError` when an axis is out of range or repeated.
    public func sum(alongAxes axes: [Int]) throws(TensorError) -> Tensor {
        let reduced = try normalizedAxes(axes, "sum")
        let outShape = shape.indices.filter { !reduced.contains($0) }.map { shape[$0] }
        let map = reductionIndexMap(reduced)
        var accumulators = [Double](repeating: 0, count: outShape.reduce(1, *))
        let base = storage.baseAddress
        for i in 0..<count { accumulators[map(i)] += Double(base[i]) }
        return Tensor(shape: outShape, generator: { Float(accumulators[$0]) })
    }

    /// Means over `axes`, removing them from the shape (PyTorch `x.mean(dim=axes)`).
    public func mean(alongAxes axes: [Int]) throws(TensorError) -> Tensor {
        let reduced = try normalizedAxes(axes, "mean")
        let n = reduced.reduce(1) { $0 * shape[$1] }
        let total = try sum(alongAxes: axes)
        return n == 0 ? total : (1 / Float(n)) * total
    }

    /// The adjoint of `sum(alongAxes:)`: `self` has the shape of `shape` without `axes`; the result has
    /// `shape`, with each element of `self` repeated along the reduced axes (PyTorch `expand` after
    /// `unsqueeze`).
    public func expanded(to shape: [Int], alongAxes axes: [Int]) throws(TensorError) -> Tensor {
        let template = Tensor.empty(shape: shape)
        let reduced = try template.normalizedAxes(axes, "expand")
        let kept = shape.indices.filter { !reduced.contains($0) }.map { shape[$0] }
        guard kept == self.shape else {
            throw TensorError.shapeMismatch("expand", self.shape, kept, "reduced shape and source shape")
        }
        let map = template.reductionIndexMap(reduced)
        let base = storage.baseAddress
        return Tensor(shape: shape, generator: { base[map($0)] })
    }

    /// Checks that `axes` are distinct dimensions of this tensor; negative axes count from the end.
    private func normalizedAxes(_ axes: [Int], _ operation: String) throws(TensorError) -> Set<Int> {
        var result = Set<Int>()
        for axis in axes {
            let a = axis < 0 ? axis + rank : axis
            guard a >= 0 && a < rank, result.insert(a).inserted else {
                throw TensorError(operation, "invalid or repeated axis \(axis) for shape \(shape)")
            }
        }
        return result
    }

    /// A function from a flat index of this tensor to the flat index of the reduced tensor.
    private func reductionIndexMap(_ reduced: Set<Int>) -> (Int) -> Int {
        // Strides of the output, with 0 for reduced axes.
        var outStrides = [Int](repeating: 0, count: rank)
        var stride = 1
        for axis in (0..<rank).reversed() where !reduced.contains(axis) {
            outStrides[axis] = stride
            stride *= shape[axis]
        }
        let sizes = shape
        return { flat in
            var rest = flat
            var out = 0
            for axis in (0..<sizes.count).reversed() {
                out += (rest % sizes[axis]) * outStrides[axis]
                rest /= sizes[axis]
            }
            return out
        }
    }
}

extension Tensor {
    /// Whether every element is finite (no NaN or infinity). `x - x` is 0 for a finite `x` and NaN otherwise,
    /// so one vectorised sum answers it; cheap enough to check every parameter after every training step.
    public var isFinite: Bool {
        let base = storage.baseAddress
        var accumulator = SIMD16<Float>()
        var i = 0
        while i + 16 <= count {
            let chunk = UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self)
            accumulator += chunk - chunk
            i += 16
        }
        var tail: Float = 0
        while i < count {
            tail += base[i] - base[i]
            i += 1
        }
        return accumulator.sum() + tail == 0
    }
}

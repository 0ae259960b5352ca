// Elementwise arithmetic on tensors of equal shape. No broadcasting: a shape mismatch throws.

extension Tensor {
    /// `lhs + rhs`, elementwise. Mirrors `torch.add` for equal shapes.
    public static func + (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipped(with: rhs, "add") { $0 + $1 }
    }

    /// `lhs - rhs`, elementwise.
    public static func - (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipped(with: rhs, "sub") { $0 - $1 }
    }

    /// `lhs * rhs`, elementwise (Hadamard product).
    public static func * (lhs: Tensor, rhs: Tensor) throws(TensorError) -> Tensor {
        try lhs.zipped(with: rhs, "mul") { $0 * $1 }
    }

    /// Every element multiplied by `scale`.
    public static func * (scale: Float, tensor: Tensor) -> Tensor {
        tensor.map { scale * $0 }
    }

    /// Adds `other` elementwise in place: `self += other`.
    public static func += (lhs: inout Tensor, rhs: Tensor) throws(TensorError) {
        try lhs.add(rhs)
    }

    /// `self += alpha * other`, in place (BLAS axpy). Used to accumulate gradients.
    public mutating func add(_ other: Tensor, scaledBy alpha: Float = 1) throws(TensorError) {
        guard shape == other.shape else { throw TensorError.shapeMismatch("add", shape, other.shape) }
        let source = other.storage.baseAddress
        withUnsafeMutableBufferPointer { target in
            for i in 0..<target.count { target[i] += alpha * source[i] }
        }
    }

    /// A tensor of the same shape whose elements are `transform(self[i])`.
    public func map(_ transform: (Float) -> Float) -> Tensor {
        var result = Tensor.empty(shape: shape)
        let source = storage.baseAddress
        result.withUnsafeMutableBufferPointer { target in
            for i in 0..<target.count { target[i] = transform(source[i]) }
        }
        return result
    }

    /// A tensor of the same shape whose elements are `combine(self[i], other[i])`.
    /// - Throws: `TensorError` naming `operation` when the shapes differ.
    public func zipped(with other: Tensor, _ operation: String, _ combine: (Float, Float) -> Float)
        throws(TensorError) -> Tensor
    {
        guard shape == other.shape else { throw TensorError.shapeMismatch(operation, shape, other.shape) }
        var result = Tensor.empty(shape: shape)
        let a = storage.baseAddress
        let b = other.storage.baseAddress
        result.withUnsafeMutableBufferPointer { target in
            for i in 0..<target.count { target[i] = combine(a[i], b[i]) }
        }
        return result
    }
}

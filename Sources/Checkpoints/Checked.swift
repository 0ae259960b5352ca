import Tensors

/// Overflow-checked arithmetic on numbers read from files: nil instead of a trap when a crafted size,
/// stride or offset would overflow.
enum Checked {
    /// The product of `factors` (1 for none), or nil on overflow or a negative factor.
    static func product(_ factors: [Int]) -> Int? { Tensor.elementCount(factors) }

    /// The sum of `terms`, or nil on overflow or a negative term.
    static func sum(_ terms: [Int]) -> Int? {
        var result = 0
        for term in terms {
            guard term >= 0 else { return nil }
            let (value, overflow) = result.addingReportingOverflow(term)
            if overflow { return nil }
            result = value
        }
        return result
    }
}

import ArgumentParser

/// Range checks for numeric flags, run in `validate()` so that a bad value fails at once with one line
/// naming the flag, before anything is read or written. Every comparison is false for NaN, so NaN (and
/// infinity, for a finite range) is refused with the rest.
enum FlagRange {
    /// Refuses `value` outside `range`; nil (the flag not given) passes.
    static func check<T: Comparable>(_ value: T?, _ flag: String, in range: ClosedRange<T>) throws {
        guard let value, !range.contains(value) else { return }
        throw ValidationError("\(flag) must be in \(range.lowerBound)...\(range.upperBound), got \(value)")
    }

    /// Refuses `value` unless `0 < value <= upper`.
    static func positive<T: FloatingPoint>(_ value: T?, _ flag: String, atMost upper: T) throws {
        guard let value, !(value > 0 && value <= upper) else { return }
        throw ValidationError("\(flag) must be positive and at most \(upper), got \(value)")
    }

    /// Refuses `value` unless `0 <= value < upper`.
    static func below<T: FloatingPoint>(_ value: T?, _ flag: String, _ upper: T) throws {
        guard let value, !(value >= 0 && value < upper) else { return }
        throw ValidationError("\(flag) must be at least 0 and below \(upper), got \(value)")
    }

    /// Checks every value of a comma-separated list flag with `check`.
    static func each(_ values: [Float]?, _ flag: String, _ check: (Float) -> Bool, _ rule: String) throws {
        guard let values, let bad = values.first(where: { !check($0) }) else { return }
        throw ValidationError("\(flag): every value must be \(rule), got \(bad)")
    }
}

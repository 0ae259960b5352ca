import ArgumentParser

/// Comma-separated numbers given to a flag (`--mean 0.485,0.456,0.406`).
enum NumberList {
    /// The numbers of `text`, nil when the flag was not given.
    /// - Throws: `ValidationError` naming `flag` for anything but numbers.
    static func parse(_ text: String?, _ flag: String) throws -> [Float]? { try parse(text, flag, as: Float.self) }

    /// The numbers of `text` as `Number`s (`Int` for widths), nil when the flag was not given.
    /// - Throws: `ValidationError` naming `flag` for anything but numbers of that type.
    static func parse<Number: LosslessStringConvertible>(_ text: String?, _ flag: String, as: Number.Type) throws -> [Number]? {
        guard let text else { return nil }
        let values = text.split(separator: ",").map { Number($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
            throw ValidationError("\(flag): '\(text)' is not a comma-separated list of numbers")
        }
        return values.map { $0! }
    }
}

import ArgumentParser

/// A length of time given to a flag as `90s`, `30m`, `1h`, `1h30m` or `1.5h` (`--time`).
struct DurationFlag: ExpressibleByArgument, Equatable {
    let seconds: Double

    /// The longest accepted: 30 days.
    static let maximum = 30 * 86_400.0

    init(seconds: Double) { self.seconds = seconds }

    init?(argument: String) {
        var total = 0.0
        var number = ""
        var sawUnit = false
        for character in argument.lowercased() {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86_400
            default: return nil
            }
            guard let value = Double(number), value.isFinite, value >= 0 else { return nil }
            total += value * unit
            (number, sawUnit) = ("", true)
        }
        guard number.isEmpty, sawUnit, total > 0, total <= Self.maximum else { return nil }
        seconds = total
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

import Tensors

/// What `load(_:strict:)` found wrong, all at once, as PyTorch's `load_state_dict(strict=True)` reports it.
public struct StateDictError: Error, CustomStringConvertible, Sendable {
    /// Keys the module has but the state dict lacks.
    public var missingKeys: [String] = []
    /// Keys the state dict has but the module lacks.
    public var unexpectedKeys: [String] = []
    /// `(key, expected shape, found shape)` for every tensor whose shape differs.
    public var shapeMismatches: [(key: String, expected: [Int], found: [Int])] = []

    var isEmpty: Bool { missingKeys.isEmpty && unexpectedKeys.isEmpty && shapeMismatches.isEmpty }

    /// Entries of each list a description shows; the rest are counted.
    public static let shownEntries = 5

    /// One line: the first few entries of each kind, and how many more there are. Keys come from files, so control
    /// characters in them are written as escapes (`\n`, `\u{1B}`) and long keys are cut.
    public var description: String {
        func printable(_ key: String) -> String {
            let text = key.unicodeScalars.prefix(120).map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }
            return text.joined() + (key.unicodeScalars.count > 120 ? "…" : "")
        }
        func shown(_ items: [String]) -> String {
            let head = items.prefix(Self.shownEntries).map(printable).joined(separator: ", ")
            return items.count > Self.shownEntries ? head + " and \(items.count - Self.shownEntries) more" : head
        }
        var parts: [String] = []
        if !missingKeys.isEmpty { parts.append("missing keys: \(shown(missingKeys))") }
        if !unexpectedKeys.isEmpty { parts.append("unexpected keys: \(shown(unexpectedKeys))") }
        if !shapeMismatches.isEmpty {
            parts.append("size mismatches: " + shown(shapeMismatches.map { "\($0.key) (expected \($0.expected), found \($0.found))" }))
        }
        return "error loading state dict: " + parts.joined(separator: "; ")
    }
}

extension Module {
    /// Every tensor's current value under its PyTorch key. Mirrors `torch.nn.Module.state_dict()`.
    public func stateDict() -> StateDict {
        StateDict(namedParameters().map { ($0.0, $0.1.value) })
    }

    /// Copies tensors from `stateDict` into this module's parameters and buffers.
    /// Mirrors `torch.nn.Module.load_state_dict`: with `strict`, missing and unexpected keys are errors;
    /// a shape mismatch always is. Nothing is changed unless every check passes.
    /// - Throws: `StateDictError` listing every problem found.
    public func load(_ stateDict: StateDict, strict: Bool = true) throws {
        let own = namedParameters()
        var error = StateDictError()
        let ownKeys = Set(own.map(\.0))
        for (key, parameter) in own {
            guard let tensor = stateDict[key] else {
                if strict { error.missingKeys.append(key) }
                continue
            }
            if tensor.shape != parameter.value.shape {
                error.shapeMismatches.append((key, parameter.value.shape, tensor.shape))
            }
        }
        if strict { error.unexpectedKeys = stateDict.keys.filter { !ownKeys.contains($0) } }
        guard error.isEmpty else { throw error }
        for (key, parameter) in own {
            if let tensor = stateDict[key] { parameter.value = tensor }
        }
    }
}

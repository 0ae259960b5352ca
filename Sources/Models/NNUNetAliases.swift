/// The keys nnU-Net's networks (dynamic-network-architectures) list twice or more in their state dicts for one
/// tensor: each `ConvDropoutNormReLU`'s convolution and norm again under `all_modules.0` / `all_modules.1`, and the
/// whole encoder again under `decoder.encoder` (the decoder keeps a reference to it).
public enum NNUNetAliases {
    /// `(alias, key)` for every alias of `keys` (the model's own keys, without aliases).
    public static func aliases(of keys: [String]) -> [(alias: String, key: String)] {
        func blockAliases(_ key: String) -> [String] {
            guard key.hasPrefix("encoder.") || key.hasPrefix("decoder.stages.") else { return [] }
            for (part, index) in [(".conv.", "0"), (".norm.", "1")] where key.contains(part) {
                return [key.replacingOccurrences(of: part, with: ".all_modules.\(index).")]
            }
            return []
        }
        var result: [(alias: String, key: String)] = []
        for key in keys { result += blockAliases(key).map { ($0, key) } }
        for key in keys where key.hasPrefix("encoder.") { result += ([key] + blockAliases(key)).map { ("decoder." + $0, key) } }
        return result
    }

    /// Whether `key` is an alias (`all_modules.*`, `decoder.encoder.*`).
    public static func isAlias(_ key: String) -> Bool { key.contains(".all_modules.") || key.hasPrefix("decoder.encoder.") }
}

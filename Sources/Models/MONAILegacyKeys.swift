/// MONAI's `Convolution` block named its norm and activation `norm` and `act` before it nested them in an `ADN`
/// module as `adn.N` and `adn.A` (old checkpoints: `…unit0.act.weight`; current ones: `…unit0.adn.A.weight`).
public enum MONAILegacyKeys {
    /// Whether `keys` are a MONAI `UNet`'s or `BasicUNet`'s under the old names.
    public static func areLegacy(_ keys: [String]) -> Bool {
        keys.contains { ($0.hasPrefix("model.0.") || $0.hasPrefix("conv_0.conv_0.")) && modern($0) != $0 }
    }

    /// `….act.weight` → `….adn.A.weight`, `….norm.<tensor>` → `….adn.N.<tensor>`; other keys unchanged.
    public static func modern(_ key: String) -> String {
        var parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, !parts.contains("adn") else { return key }
        let last = parts.count - 1
        if parts[last - 1] == "act", parts[last] == "weight" {
            parts[last - 1 ... last - 1] = ["adn", "A"]
        } else if parts[last - 1] == "norm", ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].contains(parts[last]) {
            parts[last - 1 ... last - 1] = ["adn", "N"]
        } else {
            return key
        }
        return parts.joined(separator: ".")
    }
}

/// The normalization of a MONAI network's `ADN` blocks (its `norm` option), which the keys show: instance norm
/// without affine parameters has no `adn.N` keys, with them `adn.N.{weight,bias}`, batch norm adds running
/// statistics.
public enum MONAINorm: String, Hashable, Sendable, Codable, CaseIterable {
    /// `norm="instance"`: `InstanceNorm2d(affine=False)`, MONAI `UNet`'s default.
    case instance
    /// `norm=("instance", {"affine": True})`, `BasicUNet`'s default.
    case instanceAffine = "instance-affine"
    /// `norm="batch"`: `BatchNorm2d`, the tutorials' and bundles' choice.
    case batch

    /// Reads the norm from the keys under a block's `adn.N.` prefix: nil when there are none (no norm, or instance
    /// norm without affine parameters: the caller knows which).
    public static func detect(keys: [String], prefix: String) -> MONAINorm? {
        if keys.contains(prefix + "running_mean") { return .batch }
        if keys.contains(prefix + "weight") { return .instanceAffine }
        return nil
    }
}

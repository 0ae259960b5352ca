/// The normalization of a MONAI network's `ADN` blocks (its `norm` option), which the keys show where it has
/// parameters: instance norm with affine parameters has `adn.N.{weight,bias}`, batch norm adds running statistics.
/// Instance norm without affine parameters and no norm at all leave no `adn.N` keys.
public enum MONAINorm: String, Hashable, Sendable, Codable, CaseIterable {
    /// `norm="instance"`: `InstanceNorm2d(affine=False)`, MONAI `UNet`'s default.
    case instance
    /// `norm=("instance", {"affine": True})`, `BasicUNet`'s default.
    case instanceAffine = "instance-affine"
    /// `norm="batch"`: `BatchNorm2d`, the tutorials' and bundles' choice.
    case batch
    /// `norm=None`: no normalization.
    case none

    /// Reads the norm from the keys under a block's `adn.N.` prefix: nil when there are none (instance norm without
    /// affine parameters, or no norm).
    public static func detect(keys: [String], prefix: String) -> MONAINorm? {
        if keys.contains(prefix + "running_mean") { return .batch }
        if keys.contains(prefix + "weight") { return .instanceAffine }
        return nil
    }

    /// The norm of a network whose first block's `adn.N.` keys are under `prefix`, and the one given (`--norm`),
    /// which must agree with keys that show one: where there are none, the given one (`instance` or `none`), else
    /// `instance`, MONAI's default.
    /// - Throws: `UNetError.incompatibleCheckpoint` for a given norm the keys contradict, naming the flag.
    public static func detect(keys: [String], prefix: String, given: MONAINorm?) throws(UNetError) -> MONAINorm {
        let found = detect(keys: keys, prefix: prefix)
        switch (found, given) {
        case (let found?, let given?) where found != given:
            throw .incompatibleCheckpoint("--norm \(given.rawValue): the file's \(prefix)* keys show \(found.phrase)")
        case (nil, let given?) where given.hasParameters:
            throw .incompatibleCheckpoint("--norm \(given.rawValue): the file has no \(prefix)* keys (no norm parameters): "
                + "its norm is instance (without affine parameters) or none")
        default: return found ?? given ?? .instance
        }
    }

    /// Whether the norm has `weight` and `bias` `(C)` (and batch norm its running statistics).
    public var hasParameters: Bool { self == .instanceAffine || self == .batch }

    /// As a description says it: `batch norm`, `no norm`.
    public var phrase: String { self == .none ? "no norm" : "\(rawValue) norm" }

    /// Whether the norm is instance norm, with or without affine parameters.
    public var isInstanceNorm: Bool { self == .instance || self == .instanceAffine }
}
